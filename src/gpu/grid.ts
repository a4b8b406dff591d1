/**
 * Workgroup grids for kernels that index a flat range. A dimension holds at
 * most maxComputeWorkgroupsPerDimension (65535 on most GPUs) groups, so big
 * ranges fold into a 2-D grid; kernels recover the flat group index as
 * wid.y·num_workgroups.x + wid.x and skip the spare groups at the end.
 */
import type { Gpu, Workgroups } from './gpu';

export function foldGrid(groups: number, limit: number): Workgroups {
  if (groups <= limit) return [groups];
  const y = Math.ceil(groups / limit);
  if (y > limit) throw new RangeError(`${groups} workgroups exceed a ${limit}×${limit} grid`);
  return [Math.ceil(groups / y), y];
}

/** One thread per element, `wg` threads per group. */
export function elementGrid(gpu: Gpu, n: number, wg: number): Workgroups {
  return foldGrid(Math.ceil(n / wg), gpu.limits.maxComputeWorkgroupsPerDimension);
}
