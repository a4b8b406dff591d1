/**
 * Client-made checkpoints, as an attacker would try them: a true upload is
 * accepted once its round's checksum is agreed; one flipped bit, a stale
 * step, a wrong signature, a non-member, a probation member, a duplicate and
 * bytes that are not the model are each refused or rejected, and logged.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { exportCheckpoint, importCheckpoint } from '../src/model/checkpoint';
import { commitment, generateKeyPair, signCheckpoint, signCommitment } from '../src/protocol/commitment';
import { f32Bits } from '../src/run/learning-rate';
import { createRunState } from '../src/run/state-machine';
import type { ClientRecord, RunState } from '../src/run/types';
import { HttpError } from './api';
import { CheckpointUploads } from './checkpoint-uploads';
import { initialCheckpoint, replayRounds } from './checkpointer';
import { memoryLogger } from './log';
import { runModel } from './run-model';
import { Store } from './store';
import { encodedTestUpdate, serverTestConfig } from './test-helpers';

const config = serverTestConfig({ verification: { probationRounds: 1 } });
const rm = runModel(config);
const keys = [1, 2, 3, 4].map((n) => generateKeyPair(new Uint8Array(32).fill(n)));
const ids = keys.map((k) => bytesToHex(k.publicKey));

function member(id: string, verifiedRounds: number, status: ClientRecord['status'] = 'member'): ClientRecord {
  return { id, status, joinSeq: 0, missedRounds: 0, points: 0, agreedUpdates: 0, verifiedRounds, strikes: 0, contradictions: 0, unvested: [], forfeited: 0, pace: null };
}

/** Epoch 0 ends at step 2; the true checkpoint of step 2 is epoch 0 with rounds 0 and 1 applied. */
function setup() {
  const store = Store.open(':memory:');
  const base = initialCheckpoint(config, rm);
  const state: RunState = createRunState(config, 0);
  state.clients = { [ids[0]]: member(ids[0], 3), [ids[1]]: member(ids[1], 3), [ids[2]]: member(ids[2], 0), [ids[3]]: member(ids[3], 3, 'gone') };
  store.createRun(config, state, { epoch: 0, step: 0, ...base }, 0);
  const rounds = [0, 1].map((step) => ({ step, lrBits: f32Bits(0.01), payloads: [encodedTestUpdate(config, step, step + 1)] }));
  for (const r of rounds) {
    const hashes = r.payloads.map((p) => bytesToHex(commitment(p)));
    store.applyStep(state, [{ type: 'agreed', step: r.step, epoch: 0, slots: [0], clients: [ids[0]], hashes, lrBits: r.lrBits, excluded: [], checksum: null, base: r.step }], { now: 0 });
  }
  store.applyStep(state, [{ type: 'epochEnd', epoch: 0, step: 2 }], { now: 0 });
  const truth = replayRounds(config, base.bytes, rounds, rm);
  const log = memoryLogger();
  const uploads = new CheckpointUploads(config, rm, store, () => state, log, () => 5);
  const offer = (who: number, bytes: Uint8Array, step = 2, signer = who) =>
    uploads.offer({ step, clientId: ids[who], bytes, signature: signCheckpoint(bytes, keys[signer].secretKey, { runId: rm.runId, step }) });
  /** Round 2 ends with `checksum` agreed. */
  const agree = (checksum: string) => {
    store.applyStep(state, [{ type: 'agreed', step: 2, epoch: 1, slots: [], clients: [], hashes: [], lrBits: 0, excluded: [], checksum, base: 2 }], { now: 0 });
    uploads.onAgreed(2, checksum);
  };
  return { store, base, truth, log, uploads, offer, agree };
}

/** The checkpoint with one bit of one parameter flipped, still well-formed. */
function flipped(bytes: Uint8Array): Uint8Array {
  const { config: model, params } = importCheckpoint(bytes);
  const [name, values] = [...params][0];
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  bits[3] ^= 1;
  params.set(name, values);
  return exportCheckpoint(model, params).safetensors;
}

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(HttpError);
  const h = e as HttpError;
  return { status: h.status, code: h.code, message: h.message };
}

describe('client-made checkpoints', () => {
  it('holds uploads until the round’s checksum is agreed, then accepts the first true one and rejects a flipped bit', async () => {
    const { store, truth, log, offer, agree } = setup();
    expect(await offer(1, flipped(truth.bytes))).toEqual({ status: 'held' });
    expect(await offer(0, truth.bytes)).toEqual({ status: 'held' });
    expect(store.latestCheckpoint()!.step).toBe(0);
    agree(truth.checksum);
    const ck = store.latestCheckpoint()!;
    expect(ck).toMatchObject({ epoch: 1, step: 2, checksum: truth.checksum });
    expect(ck.bytes).toEqual(truth.bytes);
    expect(store.pendingCheckpoints()).toEqual([]);
    expect(log.records.find((r) => r.event === 'checkpoint-rejected')).toMatchObject({ step: 2, from: ids[1], reason: expect.stringMatching(/is not the agreed/) });
    expect(log.records.find((r) => r.event === 'checkpoint-accepted')).toMatchObject({ step: 2, from: ids[0], checksum: truth.checksum });
    // Settled: a later upload of that step is stale.
    expect(await refusal(offer(1, truth.bytes))).toMatchObject({ status: 409, code: 'stale-checkpoint' });
  });

  it('accepts at once when the checksum is already agreed; no upload matching leaves it pending', async () => {
    const a = setup();
    a.agree(a.truth.checksum);
    expect(await a.offer(0, a.truth.bytes)).toEqual({ status: 'accepted', checksum: a.truth.checksum });
    const b = setup();
    expect(await b.offer(0, flipped(b.truth.bytes))).toEqual({ status: 'held' });
    b.agree(b.truth.checksum);
    expect(b.store.pendingCheckpoints()).toEqual([{ epoch: 1, step: 2 }]);
    expect(b.store.latestCheckpoint()!.step).toBe(0);
  });

  it('refuses stale steps, bad signatures, non-members, probation members, duplicates and bytes that are not the model', async () => {
    const { truth, base, offer } = setup();
    expect(await refusal(offer(0, base.bytes, 0))).toMatchObject({ status: 409, code: 'stale-checkpoint', message: 'no checkpoint is wanted for step 0 (wanted: 2)' });
    expect(await refusal(offer(0, truth.bytes, 2, 1))).toMatchObject({ status: 403, code: 'bad-signature' });
    expect(await refusal(offer(3, truth.bytes))).toMatchObject({ status: 403, code: 'not-a-member' });
    expect(await refusal(offer(2, truth.bytes))).toMatchObject({ status: 403, code: 'on-probation' });
    expect(await refusal(offer(0, new Uint8Array([1, 2, 3])))).toMatchObject({ status: 400, code: 'bad-checkpoint' });
    await offer(0, truth.bytes);
    expect(await refusal(offer(0, truth.bytes))).toMatchObject({ status: 409, code: 'duplicate-checkpoint' });
    // An update signature over the checkpoint's hash is not a checkpoint signature.
    const forged = signCommitment(commitment(truth.bytes), keys[1].secretKey, { runId: rm.runId, step: 2 });
    expect(await refusal(setup().uploads.offer({ step: 2, clientId: ids[1], bytes: truth.bytes, signature: forged }))).toMatchObject({ code: 'bad-signature' });
  });
});
