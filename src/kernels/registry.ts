/** Every GPU kernel check, in the order the Kernel Lab lists them. */
import type { KernelCheck } from './check';
import { matmulChecks } from './matmul/matmul.check';

export const kernelChecks: KernelCheck[] = [...matmulChecks];

export function findCheck(name: string): KernelCheck {
  const check = kernelChecks.find((c) => c.name === name);
  if (!check) throw new Error(`No kernel check named "${name}". Known: ${kernelChecks.map((c) => c.name).join(', ')}`);
  return check;
}
