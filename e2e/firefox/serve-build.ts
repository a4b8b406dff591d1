/**
 * The production build of the app, built into a fresh folder and served on
 * 127.0.0.1 at a port the system picks: several people run tests side by side
 * on one machine, so the fixed dev and preview ports may be taken.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadPathError, findFile, sendFile } from '../../server/static-files';

export interface ServedBuild {
  url: string;
  close(): Promise<void>;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('exit', (code, signal) =>
      code === 0 ? done() : fail(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}`)),
    );
  });
}

function serve(root: string): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    findFile(root, path)
      .then((file) => {
        if (!file) {
          res.writeHead(404).end();
          return;
        }
        return sendFile(req, res, file, true);
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(err instanceof BadPathError ? 400 : 500);
        res.end();
      });
  });
}

export async function serveProductionBuild(): Promise<ServedBuild> {
  const outDir = await mkdtemp(join(tmpdir(), 'tessera-build-'));
  try {
    await run('npx', ['vite', 'build', '--logLevel', 'warn', '--outDir', outDir, '--emptyOutDir']);
    const server = serve(outDir);
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', done);
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/`,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
        await rm(outDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(outDir, { recursive: true, force: true });
    throw err;
  }
}
