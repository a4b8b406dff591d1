/**
 * Token shards written as the tokens come: ShardStream encodes and hashes
 * each write on its way to a sink, and BlockRouter sends every token to the
 * shard its block belongs to (isValBlock), which splitTrainVal does over the
 * whole token stream at once. Neither holds more than the write in hand.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ShardInfo, TokenDtype } from './manifest';
import { checkSplitOptions, encodeShard, isValBlock, type SplitOptions } from './shards';

/** Where shard bytes go: a file (prep-data), memory (tests, buildDataset). Each write is awaited, so memory stays bounded. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export class ShardStream {
  private tokens = 0;
  private bytes = 0;
  private readonly hash = sha256.create();

  constructor(
    readonly file: string,
    private readonly sink: ByteSink,
    private readonly dtype: TokenDtype,
    private readonly vocabSize: number,
  ) {}

  async write(ids: ArrayLike<number>): Promise<void> {
    if (ids.length === 0) return;
    const bytes = encodeShard(ids, this.dtype, this.vocabSize);
    this.hash.update(bytes);
    this.tokens += ids.length;
    this.bytes += bytes.byteLength;
    await this.sink.write(bytes);
  }

  /** Closes the sink; what the manifest says of this shard. */
  async finish(): Promise<ShardInfo> {
    await this.sink.close();
    return { file: this.file, tokens: this.tokens, bytes: this.bytes, sha256: bytesToHex(this.hash.digest()) };
  }
}

export class BlockRouter {
  private readonly blockTokens: number;
  /** Tokens routed so far: block ⌊seen / blockTokens⌋ is the one being filled. */
  private seen = 0;

  constructor(
    private readonly opts: SplitOptions,
    private readonly train: ShardStream,
    private readonly val: ShardStream,
  ) {
    checkSplitOptions(opts);
    this.blockTokens = opts.blockSequences * (opts.seqLen + 1);
  }

  get totalTokens(): number {
    return this.seen;
  }

  async push(ids: readonly number[] | Uint32Array): Promise<void> {
    let at = 0;
    while (at < ids.length) {
      const block = Math.floor(this.seen / this.blockTokens);
      const take = Math.min(ids.length - at, (block + 1) * this.blockTokens - this.seen);
      await (isValBlock(block, this.opts.valFraction) ? this.val : this.train).write(ids.slice(at, at + take));
      at += take;
      this.seen += take;
    }
  }
}
