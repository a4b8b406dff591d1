/**
 * The ONNX model (mla-onnx.ts) in an onnxruntime session, with its cache:
 * `prefill` runs a prompt from an empty cache, `decode` one more token on
 * the cache so far. The onnxruntime module is passed in, so the page and its
 * worker use onnxruntime-web's bundle (WebGPU or wasm) and Node tests its
 * Node build, with the same code.
 */
import type * as OrtModule from 'onnxruntime-web';
import { modelDims, type ModelConfig } from '../model/config';
import { cacheNames } from './mla-onnx';

export type Ort = typeof OrtModule;
export type Backend = 'webgpu' | 'wasm';

export class MlaSession {
  private cache: Record<string, OrtModule.Tensor> = {};
  /** Tokens the cache holds. */
  length = 0;

  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtModule.InferenceSession,
    readonly config: ModelConfig,
    readonly backend: Backend,
  ) {
    this.reset();
  }

  static async create(ort: Ort, model: Uint8Array, config: ModelConfig, backend: Backend): Promise<MlaSession> {
    const session = await ort.InferenceSession.create(model, { executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    return new MlaSession(ort, session, config, backend);
  }

  /** Empties the cache. */
  reset(): void {
    const d = modelDims(this.config);
    for (let l = 0; l < d.L; l++) {
      const n = cacheNames(l);
      this.cache[n.pastCkv] = new this.ort.Tensor('float32', new Float32Array(0), [0, d.rkv]);
      this.cache[n.pastKpe] = new this.ort.Tensor('float32', new Float32Array(0), [0, d.dr]);
    }
    this.length = 0;
  }

  /** Logits [ids.length, V] of a prompt, from an empty cache. */
  async prefill(ids: readonly number[]): Promise<Float32Array> {
    this.reset();
    return this.run(ids);
  }

  /** Logits [V] of one more token after those in the cache. */
  async decode(id: number): Promise<Float32Array> {
    return this.run([id]);
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private async run(ids: readonly number[]): Promise<Float32Array> {
    const { vocab_size: V, max_position_embeddings: maxPos } = this.config;
    if (ids.length === 0) throw new RangeError('MlaSession: no tokens to run');
    if (this.length + ids.length > maxPos) throw new RangeError(`MlaSession: ${this.length + ids.length} tokens exceed the model's ${maxPos} positions`);
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`MlaSession: token ${id} is not in the vocabulary of ${V}`);
    const feeds: Record<string, OrtModule.Tensor> = { ...this.cache, input_ids: new this.ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length]) };
    const out = await this.session.run(feeds);
    const d = modelDims(this.config);
    for (let l = 0; l < d.L; l++) {
      const n = cacheNames(l);
      this.cache[n.pastCkv] = out[n.presentCkv];
      this.cache[n.pastKpe] = out[n.presentKpe];
    }
    this.length += ids.length;
    return out.logits.data as Float32Array;
  }
}
