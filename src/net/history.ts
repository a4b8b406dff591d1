/**
 * The run's history as the coordinator serves it to the Network page
 * (server/history.ts, server/events.ts): one row per ended round, the
 * epochs and their checkpoints, the points leaderboard and the run's live
 * status. The server builds these shapes and the page validates everything
 * it receives against the same schemas.
 *
 *   GET /api/history?fromStep=N&limit=M   HistoryResponse: rounds N… (at most M, default and max MAX_HISTORY_ROUNDS)
 *   GET /api/events                       text/event-stream; `event: <name>` with `data: <JSON>` per LIVE_EVENTS
 */
import { z } from 'zod';

/** Most rounds one /api/history answer holds (also its default). */
export const MAX_HISTORY_ROUNDS = 1000;
/** Most clients and most wallets in a leaderboard. */
export const LEADERBOARD_SIZE = 100;
/** Most epochs (newest first) an answer or event lists. */
export const MAX_EPOCHS = 200;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const time = z.number().finite().min(0);
const ms = z.number().finite().min(0);
const clientId = z.string().regex(/^[0-9a-f]{64}$/, 'client id must be 64 lowercase hex characters');
/** A Solana address: base58 of 32 bytes. */
const wallet = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'wallet must be a base58 Solana address');
const phase = z.enum(['WaitingForMembers', 'Warmup', 'RoundTrain', 'RoundWitness', 'Cooldown', 'Paused', 'Finished']);

/**
 * One ended round. Coordinator facts: its times, members (slots), agreed and excluded updates, tokens
 * (batch sequences × seqLen), the agreed payloads' bytes. Reported by the clients whose updates were agreed
 * (untrusted, display only): the median loss, GPU train time and apply time; null when nobody reported.
 */
export const roundHistorySchema = z.strictObject({
  step: count,
  epoch: count,
  /** When the round started (RoundTrain began), ms since the epoch. */
  startedAt: time,
  /** When it ended (its agreed set was decided). */
  endedAt: time,
  /** RoundTrain's duration: commits and uploads. */
  trainMs: ms,
  /** RoundWitness's duration: witness reports and verification. */
  witnessMs: ms,
  members: count,
  agreed: count,
  excluded: count,
  tokens: count,
  /** The run's tokens after this round. */
  tokensSeen: count,
  /** Sum of the agreed payloads' sizes. */
  bytes: count,
  /** Agreed clients whose commit carried stats: the medians' sample size. */
  reporters: count,
  loss: z.number().finite().nullable(),
  /** Median GPU time of the reporters' training of this round. */
  clientTrainMs: ms.nullable(),
  /** Median time the reporters took to apply the previous round's agreed set (done at the start of this round). */
  clientApplyMs: ms.nullable(),
});
export type RoundHistory = z.output<typeof roundHistorySchema>;

/** An epoch and its checkpoint: the parameters before `step`; checksum null until members uploaded it. */
export const epochHistorySchema = z.strictObject({
  epoch: count,
  step: count,
  checksum: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
  /** When the epoch began (its placeholder was stored) or, once built, when its checkpoint was. */
  at: time,
});
export type EpochHistory = z.output<typeof epochHistorySchema>;

export const leaderboardSchema = z.strictObject({
  /** Most vested points first, at most LEADERBOARD_SIZE. */
  clients: z
    .array(
      z.strictObject({
        id: clientId,
        status: z.enum(['joining', 'member', 'gone', 'ejected']),
        points: count,
        /** Earned, not vested yet. */
        held: count,
        agreedUpdates: count,
        wallet: wallet.nullable(),
      }),
    )
    .max(LEADERBOARD_SIZE),
  /** Bound wallets by the points of all their clients, most first, at most LEADERBOARD_SIZE. */
  wallets: z.array(z.strictObject({ wallet, clients: count, points: count, held: count })).max(LEADERBOARD_SIZE),
});
export type Leaderboard = z.output<typeof leaderboardSchema>;

export const liveStatusSchema = z.strictObject({
  phase,
  epoch: count,
  step: count,
  /** Clients training in the rounds (status member), as /api/status lists them. */
  members: count,
  joining: count,
  tokensSeen: count,
});
export type LiveStatus = z.output<typeof liveStatusSchema>;

export const historyResponseSchema = z.strictObject({
  fromStep: count,
  /** Where the next page starts. */
  nextStep: count,
  /** More stored rounds follow this page. */
  more: z.boolean(),
  rounds: z.array(roundHistorySchema).max(MAX_HISTORY_ROUNDS),
  /** Newest first. */
  epochs: z.array(epochHistorySchema).max(MAX_EPOCHS),
  leaderboard: leaderboardSchema,
  status: liveStatusSchema,
});
export type HistoryResponse = z.output<typeof historyResponseSchema>;

/** The event stream's events: `event:` name → the schema of its JSON `data:`. */
export const LIVE_EVENTS = {
  /** A round ended and its history row was stored. */
  round: roundHistorySchema,
  /** Phase, step, epoch, members or tokens changed. */
  status: liveStatusSchema,
  leaderboard: leaderboardSchema,
  epochs: z.array(epochHistorySchema).max(MAX_EPOCHS),
} as const;
export type LiveEventName = keyof typeof LIVE_EVENTS;
export type LiveEvent = { [K in LiveEventName]: { event: K; data: z.output<(typeof LIVE_EVENTS)[K]> } }[LiveEventName];

/** Parses one event's data (JSON text) against its schema; throws with the reason. */
export function parseLiveEvent<K extends LiveEventName>(event: K, text: string): z.output<(typeof LIVE_EVENTS)[K]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${event} event is not JSON: ${(e as Error).message}`);
  }
  const result = LIVE_EVENTS[event].safeParse(json);
  if (!result.success) throw new Error(`invalid ${event} event: ${z.prettifyError(result.error)}`);
  return result.data as z.output<(typeof LIVE_EVENTS)[K]>;
}

/** The median of `values` (the mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
