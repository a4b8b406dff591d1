/**
 * Runs every kernel check (or those named) in Node through Dawn and prints a
 * table. Exits non-zero when any check fails its tolerance.
 *   npx vite-node scripts/check-kernels.ts [-- name ...]
 */
import { createNodeGpu } from '../src/gpu/node-gpu';
import { kernelChecks } from '../src/kernels/registry';

const names = process.argv.slice(2).filter((a) => a !== '--');
const gpu = await createNodeGpu();
console.log(`adapter: ${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}`);
let failed = 0;
for (const check of kernelChecks.filter((c) => names.length === 0 || names.some((n) => c.name.startsWith(n)))) {
  const r = await check.run(gpu);
  if (!r.pass) failed++;
  console.log(
    `${r.pass ? 'PASS' : 'FAIL'} ${r.name.padEnd(28)} ${r.shape.padEnd(28)} absErr=${r.maxAbsErr.toExponential(2)} ` +
      `relErr=${r.maxRelErr.toExponential(2)} max|ref|=${r.maxAbsRef.toExponential(2)} ${r.ms.toFixed(3)}ms` +
      (r.gflops ? ` ${r.gflops.toFixed(2)} GFLOP/s` : ''),
  );
}
gpu.device.destroy();
process.exit(failed ? 1 : 0);
