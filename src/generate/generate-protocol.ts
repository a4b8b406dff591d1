/**
 * Messages between the page and the generation worker (generate-worker.ts).
 * The page sends a checkpoint once (`load`), then prompts (`generate`); the
 * worker answers a load with `loaded` and streams each generation as `text`
 * pieces ending in `done`. Both sides validate what they receive.
 */
import { z } from 'zod';
import { samplingSchema } from './sampling';

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');
const id = z.number().int().min(0);
const rate = z.number().min(0);

export const backendChoiceSchema = z.enum(['auto', 'webgpu', 'wasm']);
export type BackendChoice = z.infer<typeof backendChoiceSchema>;

export const ToGenerateWorkerSchema = z.discriminatedUnion('type', [
  /** A safetensors checkpoint (our config in its metadata); `auto` takes WebGPU where it works, else wasm. */
  z.strictObject({ type: z.literal('load'), id, checkpoint: bytes, backend: backendChoiceSchema }),
  z.strictObject({
    type: z.literal('generate'),
    id,
    prompt: z.string().min(1).max(100_000),
    sampling: samplingSchema,
    maxTokens: z.number().int().min(1).max(4096),
    seed: z.number().int().min(0).max(0xffff_ffff),
  }),
  /** Stops generation `id` after its current token. */
  z.strictObject({ type: z.literal('stop'), id }),
]);
export type ToGenerateWorker = z.infer<typeof ToGenerateWorkerSchema>;

export const FromGenerateWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('loaded'),
    id,
    backend: z.enum(['webgpu', 'wasm']),
    /** Why WebGPU was not used, when `auto` fell back to wasm. */
    fallback: z.string().nullable(),
    tokenizer: z.enum(['byte', 'gpt2']),
    parameters: z.number().int().min(0),
    maxPositions: z.number().int().min(1),
    ms: rate,
  }),
  /** New text of generation `id` (it may be empty while a character's bytes are incomplete), after `count` tokens. */
  z.strictObject({ type: z.literal('text'), id, text: z.string(), count: z.number().int().min(1), prefillTokensPerSec: rate, decodeTokensPerSec: rate }),
  z.strictObject({ type: z.literal('done'), id, count: z.number().int().min(0), reason: z.enum(['max', 'eot', 'stopped']), promptTokens: z.number().int().min(0) }),
  z.strictObject({ type: z.literal('error'), id: id.nullable(), message: z.string() }),
]);
export type FromGenerateWorker = z.infer<typeof FromGenerateWorkerSchema>;
