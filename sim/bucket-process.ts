/**
 * Starts sim/bucket-main.ts (s3rver on loopback) as a child process and
 * tells the coordinator how to reach it: the flags of server/start.ts and
 * s3rver's one account as the AWS SDK's credentials (s3rver accepts no
 * other, and checks no signature beyond a URL's expiry).
 */
import { spawn } from 'node:child_process';
import { viteNodeCli, type CoordinatorStore } from './coordinator-process';

export interface BucketProcess {
  pid: number;
  endpoint: string;
  /** What startCoordinator needs to keep its payloads in this bucket. */
  store: CoordinatorStore;
  stop(): Promise<void>;
}

export async function startBucket(): Promise<BucketProcess> {
  const child = spawn(process.execPath, [viteNodeCli(), 'sim/bucket-main.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const ready = await new Promise<{ endpoint: string; bucket: string }>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"endpoint"'));
      if (line) ok(JSON.parse(line) as { endpoint: string; bucket: string });
    });
    void exited.then(() => fail(new Error(`the bucket process exited before listening: ${stderr}`)));
  });
  return {
    pid: child.pid!,
    endpoint: ready.endpoint,
    store: {
      args: ['--bucket', ready.bucket, '--bucket-endpoint', ready.endpoint],
      env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
