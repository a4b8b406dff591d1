import { describe, expect, it } from 'vitest';
import { createRunState } from '../run/state-machine';
import { parseRunConfig } from '../run/run-config';
import type { ClientRecord } from '../run/types';
import { checkpointUploaders } from './checkpoint-duty';

const config = parseRunConfig({ verification: { probationRounds: 3 } });
const client = (n: number, over: Partial<ClientRecord> = {}): ClientRecord => ({
  id: String(n).repeat(64).slice(0, 64),
  status: 'member',
  joinSeq: n,
  missedRounds: 0,
  points: 0,
  agreedUpdates: 0,
  verifiedRounds: 3,
  strikes: 0,
  contradictions: 0,
  unvested: [],
  forfeited: 0,
  pace: null,
  ...over,
});

describe('checkpointUploaders', () => {
  it('names the first two members past probation without a strike, in join order', () => {
    const s = createRunState(config, 0);
    for (const c of [client(5), client(1, { verifiedRounds: 0 }), client(2, { strikes: 1 }), client(3, { status: 'gone' }), client(4), client(6)]) s.clients[c.id] = c;
    expect(checkpointUploaders(config, s)).toEqual([client(4).id, client(5).id]);
  });

  it('names the first members while nobody is past probation, and nobody in an empty run', () => {
    const s = createRunState(config, 0);
    expect(checkpointUploaders(config, s)).toEqual([]);
    for (const n of [3, 1, 2]) s.clients[client(n).id] = client(n, { verifiedRounds: 0 });
    expect(checkpointUploaders(config, s)).toEqual([client(1).id, client(2).id]);
  });
});
