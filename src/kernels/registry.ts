/** Every GPU kernel check, in the order the Kernel Lab lists them. */
import { adamwChecks } from './adamw/adamw.check';
import { attentionChecks } from './attention/attention.check';
import type { KernelCheck } from './check';
import { checksumChecks } from './checksum/checksum.check';
import { copyChecks } from './copy/copy.check';
import { crossentropyChecks } from './crossentropy/crossentropy.check';
import { demoApplyChecks } from './demo/demo-apply.check';
import { demoCompressChecks } from './demo/demo-compress.check';
import { embeddingChecks } from './embedding/embedding.check';
import { gradnormChecks } from './gradnorm/gradnorm.check';
import { matmulChecks } from './matmul/matmul.check';
import { rmsnormChecks } from './rmsnorm/rmsnorm.check';
import { ropeChecks } from './rope/rope.check';
import { gradSketchChecks } from './sketch/grad-sketch.check';
import { swigluChecks } from './swiglu/swiglu.check';
import { modelChecks } from '../model/model.check';

export const kernelChecks: KernelCheck[] = [
  ...matmulChecks,
  ...copyChecks,
  ...embeddingChecks,
  ...rmsnormChecks,
  ...ropeChecks,
  ...attentionChecks,
  ...swigluChecks,
  ...crossentropyChecks,
  ...gradnormChecks,
  ...gradSketchChecks,
  ...adamwChecks,
  ...demoApplyChecks,
  ...demoCompressChecks,
  ...checksumChecks,
  // The whole model against the float64 reference model, last: it uses all of the above.
  ...modelChecks,
];

export function findCheck(name: string): KernelCheck {
  const check = kernelChecks.find((c) => c.name === name);
  if (!check) throw new Error(`No kernel check named "${name}". Known: ${kernelChecks.map((c) => c.name).join(', ')}`);
  return check;
}
