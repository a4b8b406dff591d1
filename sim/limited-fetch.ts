/**
 * fetch with at most `max` requests in flight, the rest queued in order: a
 * browser opens about six HTTP/1.1 connections to one host, so a simulated
 * tab reads the bucket no faster than that, and a few hundred sims in one
 * process do not open tens of thousands of sockets at once.
 */
export function limitedFetch(max: number, inner: typeof fetch = (input, init) => globalThis.fetch(input, init)): typeof fetch {
  let active = 0;
  const waiting: (() => void)[] = [];
  // A finished request hands its slot straight to the next in line, so none can slip in between.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async (input, init) => {
    if (active >= max) await new Promise<void>((go) => waiting.push(go));
    else active++;
    try {
      const res = await inner(input, init);
      // The slot is held until the body is read: the connection is busy until then.
      const body = new Uint8Array(await res.arrayBuffer());
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } finally {
      release();
    }
  };
}
