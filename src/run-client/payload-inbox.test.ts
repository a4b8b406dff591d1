import { afterEach, describe, expect, it, vi } from 'vitest';
import { PayloadInbox } from './payload-inbox';
import { hashOf, payload } from './test-fakes';

function inbox(timeoutMs?: number) {
  const asked: string[] = [];
  return { asked, inbox: new PayloadInbox((h) => asked.push(h), timeoutMs) };
}

describe('PayloadInbox', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('answers a held payload without asking the relay', async () => {
    const { asked, inbox: box } = inbox();
    const bytes = payload(1);
    box.keep(hashOf(bytes), 3, bytes);
    await expect(box.want(hashOf(bytes))).resolves.toBe(bytes);
    expect(asked).toEqual([]);
  });

  it('asks the relay once for a missing payload and answers every waiter when it arrives', async () => {
    const { asked, inbox: box } = inbox();
    const bytes = payload(2);
    const h = hashOf(bytes);
    const first = box.want(h);
    const second = box.want(h);
    expect(asked).toEqual([h]);
    box.receive(h, bytes, 'relay', 4);
    await expect(first).resolves.toBe(bytes);
    await expect(second).resolves.toBe(bytes);
    expect(box.get(h)).toBe(bytes);
  });

  it('drops relay bytes that do not match their hash, and the waiter times out with a clear error', async () => {
    vi.useFakeTimers();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { inbox: box } = inbox(5000);
    const h = hashOf(payload(3));
    const waiting = box.want(h);
    const outcome = waiting.then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    box.receive(h, payload(4), 'relay', 1);
    expect(box.has(h)).toBe(false);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await outcome).toBe(`payload ${h.slice(0, 12)} did not arrive within 5000 ms`);
  });

  it('asks the relay again when a payload is wanted after an earlier wait timed out', async () => {
    vi.useFakeTimers();
    const { asked, inbox: box } = inbox(1000);
    const h = hashOf(payload(6));
    const first = box.want(h).catch(() => 'timed out');
    await vi.advanceTimersByTimeAsync(1000);
    expect(await first).toBe('timed out');
    const again = box.want(h);
    expect(asked).toEqual([h, h]);
    box.receive(h, payload(6), 'relay', 1);
    await expect(again).resolves.toEqual(payload(6));
  });

  it('with a grace for the mesh, asks the relay only for what the mesh did not bring by then, and never later than half the timeout', async () => {
    vi.useFakeTimers();
    const asked: string[] = [];
    const box = new PayloadInbox((h) => asked.push(h), 3000, () => 2000);
    const [early, late] = [payload(20), payload(21)];
    const fromMesh = box.want(hashOf(early));
    const fromRelay = box.want(hashOf(late));
    await vi.advanceTimersByTimeAsync(1000);
    box.receive(hashOf(early), early, 'peer', 1);
    await expect(fromMesh).resolves.toEqual(early);
    expect(asked).toEqual([]);
    // Half the 3 s timeout, before the 2 s grace: the relay still has time to answer.
    await vi.advanceTimersByTimeAsync(500);
    expect(asked).toEqual([hashOf(late)]);
    box.receive(hashOf(late), late, 'relay', 1);
    await expect(fromRelay).resolves.toEqual(late);
  });

  it('times out after the default of 10 s when no payload comes', async () => {
    vi.useFakeTimers();
    const { inbox: box } = inbox();
    const waiting = box.want('ab'.repeat(32)).catch((e: Error) => e.message);
    await vi.advanceTimersByTimeAsync(9999);
    box.receive('cd'.repeat(32), payload(5), 'peer', 0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await waiting).toMatch(/^payload abababababab did not arrive within 10000 ms$/);
  });

  it('does not check peer payloads again (the mesh did) and keeps the first copy of a hash', () => {
    const { inbox: box } = inbox();
    const h = 'ef'.repeat(32);
    box.receive(h, payload(6), 'peer', 2);
    box.receive(h, payload(7), 'peer', 2);
    expect(box.get(h)).toEqual(payload(6));
    // This tab's own update replaces whatever was there.
    box.keep(h, 2, payload(8));
    expect(box.get(h)).toEqual(payload(8));
  });

  it('prunes payloads older than the two rounds before (pipelined, round r − 2 is applied while round r trains)', () => {
    const { inbox: box } = inbox();
    const [a, b, c] = [payload(10), payload(11), payload(12)];
    box.keep(hashOf(a), 3, a);
    box.receive(hashOf(b), b, 'relay', 4);
    box.receive(hashOf(c), c, 'peer', 5);
    box.prune(6);
    expect([a, b, c].map((p) => box.has(hashOf(p)))).toEqual([false, true, true]);
    box.prune(8);
    expect([a, b, c].map((p) => box.has(hashOf(p)))).toEqual([false, false, false]);
  });
});
