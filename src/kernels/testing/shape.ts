/** Shape checks shared by the references: a wrong length is a caller bug, so fail loudly. */
export function expectLength(op: string, name: string, arr: ArrayLike<number>, n: number): void {
  if (arr.length !== n) throw new RangeError(`${op}: ${name} has length ${arr.length}, expected ${n}`);
}

export function expectDim(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${value}`);
}
