import { describe, expect, it } from 'vitest';
import { WorkChain } from './work-chain';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkChain', () => {
  it('starts each piece only after the one before it has settled', async () => {
    const log: string[] = [];
    const chain = new WorkChain(() => {});
    const first = deferred();
    chain.enqueue(async () => {
      log.push('apply 4 start');
      await first.promise;
      log.push('apply 4 end');
    });
    const done = deferred();
    chain.enqueue(async () => {
      log.push('train 5');
      done.resolve();
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['apply 4 start']);
    first.resolve();
    await done.promise;
    expect(log).toEqual(['apply 4 start', 'apply 4 end', 'train 5']);
  });

  it('reports a failure and goes on with the next piece', async () => {
    const errors: unknown[] = [];
    const chain = new WorkChain((e) => errors.push(e));
    chain.enqueue(() => Promise.reject(new Error('device lost')));
    const ran = deferred();
    chain.enqueue(async () => ran.resolve());
    await ran.promise;
    expect(errors.map((e) => (e as Error).message)).toEqual(['device lost']);
  });
});
