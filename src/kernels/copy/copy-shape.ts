/**
 * What a strided block copy moves and where (shaders/copy.wgsl): element
 * (r, i, j) of each side sits at offset + r·repStride + i·rowStride + j.
 * Shared by the GPU wrapper and its float64 reference so both read a copy's
 * description the same way.
 */
export interface Strided {
  offset: number;
  rowStride: number;
  /** 0 broadcasts the source across repetitions. */
  repStride?: number;
}

export interface CopyShape {
  rows: number;
  cols: number;
  reps?: number;
  accumulate?: boolean;
}
