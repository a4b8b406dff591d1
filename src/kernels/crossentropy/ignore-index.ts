/**
 * Target id of a row that takes no part in the loss (PyTorch's value, so
 * targets built for torch carry over). shaders/crossentropy.wgsl hard-codes
 * the same -100 as IGNORE; keep them in step.
 */
export const IGNORE_INDEX = -100;
