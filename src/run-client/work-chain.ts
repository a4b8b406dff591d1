/**
 * The tab's one queue of GPU work: each piece starts when the one before it
 * has settled, so an apply always lands before the next round's train,
 * whatever order the network delivers things in. A failure is reported and
 * the chain goes on.
 */
export class WorkChain {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly onError: (err: unknown) => void) {}

  enqueue(work: () => Promise<void>): void {
    this.tail = this.tail.then(work).catch((err: unknown) => this.onError(err));
  }
}
