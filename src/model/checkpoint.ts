/**
 * Model checkpoints: one safetensors file with Hugging Face tensor names,
 * plus the config.json that transformers wants beside it. The same config
 * JSON is also stored in the file's __metadata__, so the .safetensors alone
 * is enough to resume a run.
 */
import { configFromHfJson, hfConfigJson, numel, parameterSpecs, parseModelConfig, type ModelConfig, type ModelConfigInput } from './config';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** __metadata__ key holding the config.json text. */
export const CONFIG_METADATA_KEY = 'tessera_config';

export function exportCheckpoint(
  config: ModelConfig,
  params: Map<string, Float32Array>,
): { safetensors: Uint8Array; configJson: string } {
  const specs = parameterSpecs(config);
  const problems = describeMismatch(
    config,
    new Map([...params].map(([name, data]) => [name, { length: data.length, shape: null }])),
  );
  if (problems) throw new CheckpointError(`exportCheckpoint: params do not match the config: ${problems}`);
  const tensors = new Map<string, Tensor>();
  for (const spec of specs) tensors.set(spec.name, { shape: spec.shape, data: params.get(spec.name)! });
  const configJson = JSON.stringify(hfConfigJson(config), null, 2) + '\n';
  // transformers refuses safetensors files whose metadata lacks format "pt".
  const safetensors = encodeSafetensors(tensors, { format: 'pt', [CONFIG_METADATA_KEY]: configJson });
  return { safetensors, configJson };
}

/**
 * Decodes a checkpoint and checks it holds exactly the config's tensors. The
 * config is `config` when given (it wins over the file's), else the one
 * stored in the file's metadata. F16/BF16 tensors are widened to f32.
 */
export function importCheckpoint(
  bytes: Uint8Array,
  config?: ModelConfigInput,
): { config: ModelConfig; params: Map<string, Float32Array> } {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const resolved = config !== undefined ? parseModelConfig(config, 'importCheckpoint config') : configFromMetadata(metadata);
  const problems = describeMismatch(
    resolved,
    new Map([...tensors].map(([name, t]) => [name, { length: t.data.length, shape: t.shape }])),
  );
  if (problems) throw new CheckpointError(`importCheckpoint: tensors do not match the config: ${problems}`);
  const params = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(resolved)) {
    const data = tensors.get(spec.name)!.data;
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new CheckpointError(`importCheckpoint: ${spec.name}[${bad}] is ${data[bad]}; weights must be finite`);
    params.set(spec.name, data);
  }
  return { config: resolved, params };
}

function configFromMetadata(metadata: Record<string, string> | null): ModelConfig {
  const text = metadata?.[CONFIG_METADATA_KEY];
  if (text === undefined) {
    throw new CheckpointError(`importCheckpoint: no config given and the file has no "${CONFIG_METADATA_KEY}" metadata; pass the config`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`importCheckpoint: "${CONFIG_METADATA_KEY}" metadata is not valid JSON (${(e as Error).message})`);
  }
  return configFromHfJson(json, `"${CONFIG_METADATA_KEY}" metadata`);
}

/**
 * Every way `found` differs from the config's tensors, in one message (null
 * if none). A null shape means only the element count is known.
 */
function describeMismatch(config: ModelConfig, found: Map<string, { length: number; shape: number[] | null }>): string | null {
  const specs = parameterSpecs(config);
  const expected = new Set(specs.map((s) => s.name));
  const missing = specs.filter((s) => !found.has(s.name)).map((s) => s.name);
  const unexpected = [...found.keys()].filter((name) => !expected.has(name));
  const misShaped: string[] = [];
  for (const spec of specs) {
    const t = found.get(spec.name);
    if (!t) continue;
    const shapeOk = t.shape === null || (t.shape.length === spec.shape.length && t.shape.every((d, i) => d === spec.shape[i]));
    if (!shapeOk || t.length !== numel(spec.shape)) {
      const got = t.shape === null ? `${t.length} elements` : `[${t.shape.join(', ')}]`;
      misShaped.push(`${spec.name} is ${got}, expected [${spec.shape.join(', ')}]`);
    }
  }
  const parts = [
    missing.length > 0 ? `missing ${list(missing)}` : '',
    unexpected.length > 0 ? `unexpected ${list(unexpected)}` : '',
    misShaped.length > 0 ? `mis-shaped ${list(misShaped)}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : null;
}

/** Long lists are cut so a wrong-model file (hundreds of names) still gives a readable error. */
function list(items: string[], max = 12): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${items.length} tensors: ${shown}, … (${items.length - max} more)` : `${items.length} tensor(s): ${shown}`;
}
