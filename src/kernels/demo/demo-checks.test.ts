/**
 * The DeMo kernel checks (the Kernel Lab's) on Node's WebGPU: SwiftShader
 * here, skipped where no adapter exists. Each check states its own pass
 * criterion; this runs them and reports what failed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../gpu/gpu';
import { tryNodeGpu } from '../../gpu/test-node-gpu';
import { demoApplyChecks } from './demo-apply.check';
import { demoCompressChecks } from './demo-compress.check';

const gpu = await tryNodeGpu();

describe.skipIf(gpu === null)('DeMo kernel checks on the GPU', () => {
  afterAll(() => gpu?.device.destroy());

  for (const check of [...demoApplyChecks, ...demoCompressChecks]) {
    it(check.name, { timeout: 300_000 }, async () => {
      const result = await check.run(gpu as Gpu, { reps: 1 });
      expect(result.pass, `${result.name} ${result.shape} maxAbsErr=${result.maxAbsErr}`).toBe(true);
    });
  }
});
