// Strided block copy: dst[r, i, j] (+)= src[r, i, j] for r < reps, i < rows,
// j < cols, where each side addresses element (r, i, j) as
// offset + r·repStride + i·rowStride + j. The model uses it to split fused
// projections into their parts (c_kv | k_pe, k_nope | v), to broadcast the
// shared k_pe to every head, and to add gradient contributions (accumulate).
// A repStride of 0 on the source broadcasts it; accumulating with a
// destination repStride of 0 would race, so the wrapper forbids it.

const WG: u32 = 256u;

struct Params {
  rows: u32,
  cols: u32,
  reps: u32,
  accumulate: u32,
  srcOffset: u32,
  srcRowStride: u32,
  srcRepStride: u32,
  dstOffset: u32,
  dstRowStride: u32,
  dstRepStride: u32,
  // Threads per grid row: the grid is 2-D so huge copies stay under 65535 groups per dimension.
  gridWidth: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.y * p.gridWidth + gid.x;
  if (idx >= p.reps * p.rows * p.cols) { return; }
  let j = idx % p.cols;
  let i = (idx / p.cols) % p.rows;
  let r = idx / (p.cols * p.rows);
  let s = src[p.srcOffset + r * p.srcRepStride + i * p.srcRowStride + j];
  let d = p.dstOffset + r * p.dstRepStride + i * p.dstRowStride + j;
  if (p.accumulate != 0u) { dst[d] = dst[d] + s; } else { dst[d] = s; }
}
