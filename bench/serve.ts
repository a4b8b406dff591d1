/**
 * Builds one HTML page alone (bench.html, or a test page) into a folder and
 * serves it on a free port, for scripts/bench.ts and the browser tests that
 * need a page the app's build does not hold. The bench does not need the app,
 * and a half-edited app must not stop a benchmark.
 */
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { build, preview, type Plugin, type PreviewServer } from 'vite';

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** Inline config would merge with the config file's inputs rather than replace them, so a plugin narrows them. */
export async function buildPage(outDir: string, html = 'bench.html'): Promise<void> {
  const onlyThisPage: Plugin = {
    name: 'tessera-one-page',
    config(c) {
      c.build ??= {};
      c.build.rollupOptions = { ...c.build.rollupOptions, input: { page: resolve(html) } };
    },
  };
  await build({ logLevel: 'warn', plugins: [onlyThisPage], build: { outDir, emptyOutDir: true } });
}

/** Serves a built folder; the URL ends with a slash. */
export async function servePage(outDir: string): Promise<{ server: PreviewServer; url: string }> {
  const port = await freePort();
  const server = await preview({ logLevel: 'warn', build: { outDir }, preview: { port, strictPort: true, open: false } });
  return { server, url: `http://127.0.0.1:${port}/` };
}
