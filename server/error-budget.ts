/**
 * How many bad frames one socket may send: a token bucket, so an honest
 * client that hits a few races over hours (a commit a moment too late) is
 * never cut off, while a flood of garbage is.
 */
export class ErrorBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Spends one error; false once the socket has used up its budget. */
  spend(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, t - this.last) / this.refillMs);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0;
  }
}
