/**
 * The chain configuration: which ledger pays claims, the mint's decimals,
 * and the points → tokens rate. Amounts are base units as decimal strings
 * in JSON and bigint after parsing, so `tokens = points × tokensPerPoint` is
 * exact.
 */
import { z } from 'zod';
import { U64_MAX } from './claim-transaction';

export const DEFAULT_LITESVM_DB = '.tessera/chain.sqlite';

const baseUnits = (what: string) =>
  z
    .string({ message: `${what} must be a string of base units (digits only)` })
    .regex(/^[0-9]+$/, `${what} must be a whole number of base units written as digits, e.g. "1000000"`)
    .transform((digits) => BigInt(digits))
    .refine((value) => value > 0n && value <= U64_MAX, `${what} must be > 0 and fit in u64`);

const common = {
  /** Decimals of the treasury mint (set-up creates it with these; opening checks them). */
  decimals: z.number().int().min(0).max(18).default(6),
  /** Base units paid per point; defaults to one whole token (10^decimals). */
  tokensPerPoint: baseUnits('tokensPerPoint').optional(),
  /** Base units minted into the treasury at set-up; defaults to 10^9 whole tokens. */
  supply: baseUnits('supply').optional(),
};

const litesvmSchema = z.object({
  kind: z.literal('litesvm'),
  db: z.string().min(1).default(DEFAULT_LITESVM_DB),
  ...common,
});

const rpcSchema = z.object({
  kind: z.literal('rpc'),
  url: z
    .string()
    .url('url must be an http(s) URL of a Solana JSON-RPC endpoint')
    .refine((url) => /^https?:$/.test(new URL(url).protocol), 'url must use http or https'),
  keypairPath: z.string().min(1, 'keypairPath must name a Solana CLI keypair file (JSON array of 64 bytes)'),
  /** Name used in explorer links and sign-in messages; inferred from the URL when omitted. */
  cluster: z.string().min(1).optional(),
  ...common,
});

const chainConfigSchema = z
  .discriminatedUnion('kind', [litesvmSchema, rpcSchema], { message: "kind must be 'litesvm' or 'rpc'" })
  .transform((config) => {
    const oneToken = 10n ** BigInt(config.decimals);
    return {
      ...config,
      tokensPerPoint: config.tokensPerPoint ?? oneToken,
      supply: config.supply ?? 1_000_000_000n * oneToken,
    };
  })
  .refine((config) => config.supply <= U64_MAX, { message: 'supply (default 10^9 tokens) does not fit in u64 at these decimals', path: ['supply'] });

export type ChainConfig = z.output<typeof chainConfigSchema>;
export type ChainConfigInput = z.input<typeof chainConfigSchema>;

export class ChainConfigError extends Error {
  override readonly name = 'ChainConfigError';
}

/** Parses and checks a chain config; throws ChainConfigError naming each bad field. */
export function parseChainConfig(input: unknown = { kind: 'litesvm' }): ChainConfig {
  const parsed = chainConfigSchema.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`).join('; ');
    throw new ChainConfigError(`invalid chain config: ${detail}`);
  }
  return parsed.data;
}

/** Exact conversion of points to base units; throws if points is not a non-negative integer or the result overflows u64. */
export function tokensForPoints(points: bigint | number, tokensPerPoint: bigint): bigint {
  if (typeof points === 'number' && !Number.isSafeInteger(points)) throw new RangeError(`points must be a safe integer, got ${points}`);
  const p = BigInt(points);
  if (p < 0n) throw new RangeError(`points must be >= 0, got ${p}`);
  const tokens = p * tokensPerPoint;
  if (tokens > U64_MAX) throw new RangeError(`${p} points × ${tokensPerPoint} base units exceeds u64`);
  return tokens;
}
