import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../run/run-config';
import type { RunState } from '../run/types';
import {
  MAX_SIGNAL_BYTES,
  MAX_TEXT_FRAME_BYTES,
  MessageError,
  commitMessageSchema,
  commitStats,
  encodeBinaryFrame,
  parseClientBinary,
  parseClientMessage,
  parseServerBinary,
  parseServerMessage,
  runStateSchema,
  type MessageErrorCode,
} from './messages';

const key = 'ab'.repeat(32);
const sig = 'cd'.repeat(64);
const hash = 'ef'.repeat(32);

function codeOf(f: () => unknown): MessageErrorCode | 'no error' {
  try {
    f();
  } catch (e) {
    if (e instanceof MessageError) return e.code;
    throw e;
  }
  return 'no error';
}

function sampleState(): RunState {
  return {
    version: 2,
    phase: 'RoundTrain',
    phaseStartedAt: 1000,
    pausedFrom: null,
    epoch: 0,
    epochStartedAt: 0,
    epochStartStep: 0,
    step: 3,
    dataCursor: 24,
    tokensSeen: 1536,
    nextJoinSeq: 1,
    clients: { [key]: { id: key, status: 'member', joinSeq: 0, missedRounds: 0, points: 30, agreedUpdates: 3, verifiedRounds: 3, strikes: 0, contradictions: 0, unvested: [{ step: 2, amount: 10 }], forfeited: 0, pace: null } },
    round: {
      step: 3,
      seed: hash,
      slots: [key],
      assignments: [{ start: 24, count: 8 }],
      lrBits: 0x3c23d70a,
      commitments: [null],
      trained: [null],
      witnesses: [null],
      copies: [null],
      overlaps: [null],
      checks: null,
      startedAt: 1000,
      base: 3,
      closedAt: null,
    },
    witnessing: null,
  };
}

describe('parseClientMessage', () => {
  it('accepts every client message type', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'auth', publicKey: key, signature: sig }))).toEqual({ type: 'auth', publicKey: key, signature: sig });
    expect(parseClientMessage('{"type":"join"}')).toEqual({ type: 'join' });
    expect(parseClientMessage('{"type":"leave"}')).toEqual({ type: 'leave' });
    expect(parseClientMessage(JSON.stringify({ type: 'commit', step: 7, hash, signature: sig })).type).toBe('commit');
    const w = { type: 'witness', step: 7, held: '03', checksum: '0123456789abcdef', scores: [{ slot: 1, score: -250 }], signature: sig };
    expect(parseClientMessage(JSON.stringify(w))).toEqual(w);
    const s = { type: 'signal', to: key, data: { type: 'offer', sdp: 'v=0\r\n' } };
    expect(parseClientMessage(JSON.stringify(s))).toEqual(s);
    expect(parseClientMessage(JSON.stringify({ type: 'relayGet', hash }))).toEqual({ type: 'relayGet', hash });
    expect(parseClientMessage('{"type":"stateGet"}')).toEqual({ type: 'stateGet' });
  });

  it('rejects garbage with a code and a message naming the problem', () => {
    expect(codeOf(() => parseClientMessage('not json'))).toBe('bad-json');
    expect(codeOf(() => parseClientMessage('[1,2]'))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage('{"type":"dance"}'))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage('{"type":"join","extra":1}'))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ type: 'commit', step: -1, hash, signature: sig })))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ type: 'commit', step: 1.5, hash, signature: sig })))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ type: 'commit', step: 1, hash: hash.toUpperCase(), signature: sig })))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ type: 'commit', step: 1, hash: hash.slice(2), signature: sig })))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ type: 'witness', step: 1, held: '0', checksum: '0123456789abcdef', scores: [], signature: sig })))).toBe('bad-message');
    expect(codeOf(() => parseClientMessage(' '.repeat(MAX_TEXT_FRAME_BYTES + 1)))).toBe('too-large');
    const bigSignal = { type: 'signal', to: key, data: 'x'.repeat(MAX_SIGNAL_BYTES) };
    expect(codeOf(() => parseClientMessage(JSON.stringify(bigSignal)))).toBe('bad-message');
    const badKey = () => parseClientMessage(JSON.stringify({ type: 'auth', publicKey: key.slice(1), signature: sig }));
    expect(badKey).toThrow(/publicKey/);
    expect(badKey).toThrow(/"auth"/);
  });
});

describe('commit stats', () => {
  const commit = (stats: unknown) => ({ type: 'commit', step: 7, hash, signature: sig, stats });

  it('a commit may carry stats (apply time optional) or none, as older clients send', () => {
    const full = commit({ loss: 5.25, trainMs: 1234.5, applyMs: 17 });
    expect(parseClientMessage(JSON.stringify(full))).toEqual(full);
    expect(parseClientMessage(JSON.stringify(commit({ loss: 0, trainMs: 0 })))).toEqual(commit({ loss: 0, trainMs: 0 }));
    expect(parseClientMessage(JSON.stringify(commit({ loss: 100, trainMs: 3_600_000, applyMs: 3_600_000 }))).type).toBe('commit');
    expect(parseClientMessage(JSON.stringify({ type: 'commit', step: 7, hash, signature: sig }))).toEqual({ type: 'commit', step: 7, hash, signature: sig });
  });

  it('rejects NaN, infinities, negatives, huge values, missing and extra fields', () => {
    for (const bad of [
      { loss: NaN, trainMs: 1 },
      { loss: Infinity, trainMs: 1 },
      { loss: 1, trainMs: -Infinity },
      { loss: -0.5, trainMs: 1 },
      { loss: 1, trainMs: -1 },
      { loss: 1, trainMs: 1, applyMs: -3 },
      { loss: 100.01, trainMs: 1 },
      { loss: 1, trainMs: 3_600_001 },
      { loss: 1, trainMs: 1, applyMs: 1e12 },
      { loss: 1 },
      { trainMs: 1 },
      { loss: '1', trainMs: 1 },
      { loss: 1, trainMs: 1, gradNorm: 2 },
      null,
    ]) {
      expect(commitMessageSchema.safeParse(commit(bad)).success, JSON.stringify(bad)).toBe(false);
      expect(codeOf(() => parseClientMessage(JSON.stringify(commit(bad))))).toBe('bad-message');
    }
  });

  it('commitStats clamps times into range and leaves stats out when the loss is not acceptable', () => {
    expect(commitStats(2.5, 100, 3)).toEqual({ loss: 2.5, trainMs: 100, applyMs: 3 });
    expect(commitStats(2.5, 100)).toEqual({ loss: 2.5, trainMs: 100 });
    expect(commitStats(2.5, -0.001, 5e9)).toEqual({ loss: 2.5, trainMs: 0, applyMs: 3_600_000 });
    expect(commitStats(NaN, 100, 3)).toBeUndefined();
    expect(commitStats(101, 100, 3)).toBeUndefined();
    expect(commitStats(2.5, NaN)).toBeUndefined();
  });
});

describe('server messages', () => {
  it('round-trips welcome (with the default config) and the round messages', () => {
    const config = parseRunConfig({});
    const welcome = { type: 'welcome', clientId: key, config };
    expect(parseServerMessage(JSON.stringify(welcome))).toEqual(welcome);
    const agreed = { type: 'agreed', step: 3, epoch: 0, slots: [0], clients: [key], hashes: [hash], lrBits: 5, excluded: [{ slot: 1, clientId: key, reason: 'failed verification' }], checksum: '0123456789abcdef', base: 3 };
    expect(parseServerMessage(JSON.stringify(agreed))).toEqual(agreed);
    const noChecksum = { ...agreed, checksum: null };
    expect(parseServerMessage(JSON.stringify(noChecksum))).toEqual(noChecksum);
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...agreed, checksum: undefined })))).toBe('bad-message');
    expect(parseServerMessage(JSON.stringify(agreed))).toEqual(agreed);
    expect(parseServerMessage(JSON.stringify({ type: 'ack', of: 'commit', step: 3, hash })).type).toBe('ack');
  });

  it('rejects a state that drifts from the RunState shape', () => {
    expect(runStateSchema.safeParse(sampleState()).success).toBe(true);
    expect(runStateSchema.safeParse({ ...sampleState(), phase: 'Dancing' }).success).toBe(false);
    expect(runStateSchema.safeParse({ ...sampleState(), secret: 1 }).success).toBe(false);
  });

  it('loads a client stored before shares by pace as not measured yet, and refuses a negative pace', () => {
    const s = sampleState();
    const { pace: _, ...old } = s.clients[key];
    expect(runStateSchema.parse({ ...s, clients: { [key]: old } }).clients[key].pace).toBeNull();
    expect(runStateSchema.safeParse({ ...s, clients: { [key]: { ...old, pace: -5 } } }).success).toBe(false);
  });

  it('loads a state stored before the copy rule: its round gets no overlaps and keeps the copies decided at commit', () => {
    const s = sampleState();
    const { overlaps: _, ...old } = { ...s.round!, copies: ['a copy of update eeeeeeeeeeee: 900‰'] };
    const parsed = runStateSchema.parse({ ...s, round: old });
    expect(parsed.round).toMatchObject({ copies: ['a copy of update eeeeeeeeeeee: 900‰'], overlaps: [null] });
    expect(runStateSchema.safeParse({ ...s, round: { ...s.round, overlaps: [{ permille: 1001, with: hash }] } }).success).toBe(false);
  });

  it('checks every value of a state diff against the state schema where it lands', () => {
    const delta = (changes: unknown) => JSON.stringify({ type: 'stateDelta', serverEpoch: '01'.repeat(8), version: 5, prev: 4, changes });
    const record = sampleState().clients[key];
    const good = { set: { phase: 'RoundWitness' }, patch: { clients: { set: { [key]: record } }, round: { at: { commitments: [[0, hash]] }, set: { checks: [] } } } };
    expect(parseServerMessage(delta(good))).toMatchObject({ type: 'stateDelta', changes: good });
    const bad: [string, unknown][] = [
      ['a phase that does not exist', { set: { phase: 'Dancing' } }],
      ['a field the state lacks', { set: { secret: 1 } }],
      ['a client record with a field missing', { patch: { clients: { set: { [key]: { ...record, points: undefined } } } } }],
      ['a client id that is not a key', { patch: { clients: { set: { nope: record } } } }],
      ['a commitment that is not a hash', { patch: { round: { at: { commitments: [[0, 'xyz']] } } } }],
      ['a negative index', { patch: { round: { at: { commitments: [[-1, hash]] } } } }],
      ['an index patch of a field that is not an array', { patch: { round: { at: { step: [[0, 1]] } } } }],
      ['removing a required key', { patch: { round: { del: ['seed'] } } }],
      ['patching a scalar key by key', { patch: { phase: { set: {} } } }],
      ['patching two levels down', { patch: { clients: { patch: {} } } }],
    ];
    for (const [what, changes] of bad) expect(codeOf(() => parseServerMessage(delta(changes))), what).toBe('bad-message');
  });

  it('carries a whole state with its place in the stream, and bounds the parts of a message', () => {
    const state = { type: 'state', serverEpoch: '01'.repeat(8), version: 7, state: sampleState() };
    expect(parseServerMessage(JSON.stringify(state))).toEqual(state);
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...state, state: { ...sampleState(), phase: 'Dancing' } })))).toBe('bad-message');
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...state, serverEpoch: 'xyz' })))).toBe('bad-message');
    const part = { type: 'part', part: 0, parts: 2, text: '{' };
    expect(parseServerMessage(JSON.stringify(part))).toEqual(part);
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...part, part: 5000 })))).toBe('bad-message');
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...part, parts: 1 })))).toBe('bad-message');
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...part, text: '' })))).toBe('bad-message');
    expect(codeOf(() => parseServerMessage(JSON.stringify({ ...part, text: 'x'.repeat(MAX_TEXT_FRAME_BYTES) })))).toBe('too-large');
  });
});

describe('binary frames', () => {
  const payload = Uint8Array.from([1, 2, 3, 250]);

  it('round-trips a relayPut and a relayData frame', () => {
    const put = parseClientBinary(encodeBinaryFrame({ type: 'relayPut', step: 9, hash }, payload), 1000);
    expect(put.header).toEqual({ type: 'relayPut', step: 9, hash });
    expect([...put.payload]).toEqual([...payload]);
    const data = parseServerBinary(encodeBinaryFrame({ type: 'relayData', hash }, payload), 1000);
    expect(data.header.hash).toBe(hash);
    expect([...data.payload]).toEqual([...payload]);
  });

  it('rejects short, oversized, mis-sized and wrong-typed frames', () => {
    const good = encodeBinaryFrame({ type: 'relayPut', step: 9, hash }, payload);
    expect(codeOf(() => parseClientBinary(Uint8Array.from([1, 0]), 1000))).toBe('bad-frame');
    expect(codeOf(() => parseClientBinary(good, good.length - 1))).toBe('too-large');
    const lying = good.slice();
    new DataView(lying.buffer).setUint32(0, good.length, true);
    expect(codeOf(() => parseClientBinary(lying, 1000))).toBe('bad-frame');
    const notUtf8 = Uint8Array.from([2, 0, 0, 0, 0xff, 0xfe]);
    expect(codeOf(() => parseClientBinary(notUtf8, 1000))).toBe('bad-frame');
    const wrongType = encodeBinaryFrame({ type: 'relayData', hash }, payload);
    expect(codeOf(() => parseClientBinary(wrongType, 1000))).toBe('bad-message');
  });
});
