/**
 * What the run's config fixes about its model and its updates: the tensors
 * in checkpoint order, the flat layout the parameter checksum covers, and
 * what every client's update must look like on the wire.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { parameterSpecs, type ModelConfig, type ParamSpec } from '../src/model/config';
import { planLayout, type ParamLayout } from '../src/model/param-layout';
import { encodedUpdateBytes, type ExpectedUpdate, type UpdateMode } from '../src/protocol/update-codec';
import type { RunConfig } from '../src/run/run-config';

export interface RunModel {
  model: ModelConfig;
  specs: ParamSpec[];
  /** The GPU's flat parameter buffer layout (gaps included): what a client's checksum hashes. */
  layout: ParamLayout;
  runId: Uint8Array;
  expected: ExpectedUpdate & UpdateMode;
  /** The largest update of this run: one client trains at most the largest global batch, and each sequence adds its proof. */
  updateBytes: number;
}

export function runModel(config: RunConfig): RunModel {
  const model = config.model;
  const specs = parameterSpecs(model);
  const { chunk, topk, quantize1bit } = config.optimizer;
  const shapes = specs.map((s) => s.shape);
  return {
    model,
    specs,
    layout: planLayout(specs),
    runId: hexToBytes(config.runId),
    expected: { shapes, chunk, topk, quantize1bit },
    updateBytes: encodedUpdateBytes(shapes, { chunk, topk, quantize1bit }, Math.max(config.globalBatch.start, config.globalBatch.end)),
  };
}

/** η from the u32 bits the round carries. */
export function lrFromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits, true);
  return view.getFloat32(0, true);
}
