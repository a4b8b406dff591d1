import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { tryNodeGpu } from '../gpu/test-node-gpu';
import { CHECK_CONFIGS, checkConfig } from './onnx-checks';

ort.env.wasm.numThreads = 1;
const gpu = await tryNodeGpu();
afterAll(() => gpu?.device.destroy());

// The same checks the browser runs on WebGPU (onnx-checks.ts), here on wasm; the WGSL ones where Dawn finds an adapter.
describe.each(CHECK_CONFIGS)('the ONNX model (%s) on onnxruntime-web wasm', async (label, config) => {
  const checks = await checkConfig(ort, 'wasm', gpu, label, config);
  it('runs every check it should', () => {
    const wanted = (label.startsWith('awkward') ? 3 : 2) + (gpu ? (label.startsWith('awkward') ? 2 : 1) : 0);
    expect(checks).toHaveLength(wanted);
  });
  it.each(checks.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(c.pass, c.detail).toBe(true);
  });
});
