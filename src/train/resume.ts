/**
 * A DeMo replica to and from its resume record (resume-store.ts): the flat
 * parameters and the momentum, nothing else, since every other buffer of a
 * replica is scratch or derived from the config. A restored replica computes
 * the same update bytes as the one it was saved from would have.
 */
import type { Gpu } from '../gpu/gpu';
import type { ModelConfig } from '../model/config';
import { GpuModel } from '../model/gpu-model';
import { DemoReplica, type DemoSettings } from './demo-trainer';
import type { ResumeRecord } from './resume-store';

/** Where a replica's line of state stands: what a record names besides the buffers. */
export interface Line {
  step: number;
  checksum: string;
  prevChecksum: string;
  lastHashes: string[];
  momentumStep: number;
}

export async function readRecord(replica: DemoReplica, runId: string, modelKey: string, line: Line): Promise<ResumeRecord> {
  const [params, momentum] = await Promise.all([replica.model.readFlatParams(), replica.readMomentum()]);
  return { runId, modelKey, ...line, lastHashes: [...line.lastHashes], params, momentum };
}

/**
 * A replica holding the record's parameters and momentum. Throws, with
 * nothing left allocated, when the parameters on the GPU do not hash to the
 * record's checksum (a record damaged in storage).
 */
export async function restoreReplica(gpu: Gpu, config: ModelConfig, settings: DemoSettings, record: ResumeRecord): Promise<DemoReplica> {
  const model = GpuModel.fromFlat(gpu, config, record.params);
  let replica: DemoReplica | null = null;
  try {
    replica = new DemoReplica(model, settings);
    replica.writeMomentum(record.momentum);
    const checksum = await model.checksum();
    if (checksum !== record.checksum) throw new Error(`the stored parameters of step ${record.step} hash to ${checksum}, their record says ${record.checksum}`);
    return replica;
  } catch (err) {
    replica?.dispose();
    model.dispose();
    throw err;
  }
}
