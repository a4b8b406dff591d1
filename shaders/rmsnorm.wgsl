// RMSNorm over rows of length D:  y = g ∘ x · rstd,  rstd = 1/sqrt(mean(x²) + eps).
// x and dx rows may be strided (row r starts at element r·stride, stride ≥ D)
// so that c_kv can be normalized inside ckp [rows, rkv+dr] without a copy;
// y, dy are dense [rows, D].
//
//   forward     one workgroup per row: reduces Σx² over the row, writes y and rstd.
//   backwardDx  one workgroup per row. With ĝ = g∘dy and s = rstd,
//               ∂s/∂x = −s³·x/D gives dx = s·ĝ − x · s³·mean(ĝ∘x).
//   dgPartial   scratch[c, d] = Σ over rows r of chunk c, in row order, of dy[r,d]·x[r,d]·s[r].
//   dgReduce    dg[d] = (accumulate ? dg[d] : 0) + Σ over chunks c, in order, of scratch[c, d].
// Every sum has a fixed order (per-thread strides, then a fixed combination),
// so the results are the same bits on every run; there are no atomics.
//
// Row kernels index rows on a 2-D grid (row = wid.y·nwg.x + wid.x) so rows may
// exceed 65535. That index is uniform across the workgroup, so the early
// return keeps the barriers in uniform control flow.
//
// This file is the shared part of a module; it is not a module by itself.
// rmsnorm.ts puts one of two parts in front of it, each defining the invocation
// struct `Lane` (entry-point builtins) and `rowSum`, the sum over a workgroup:
//   rmsnorm_tree.wgsl       a workgroup tree in shared memory (any device);
//   rmsnorm_subgroups.wgsl  subgroupAdd, then one barrier (needs the
//                           `subgroups` feature; starts with `enable subgroups;`).
// dgPartial and dgReduce do not reduce within a workgroup; rmsnorm.ts always
// takes them from the tree module.

const WG: u32 = 256u; // power of two: the tree reduction halves it

struct Params {
  rows: u32,
  D: u32,
  stride: u32,
  eps: f32,
  accumulate: u32,
  rowsPerChunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Bindings per entry point, in the order of the wrapper's Dispatch.buffers:
//   forward    (x, g, y, rstdOut)
//   backwardDx (x, g, dy, rstd, dx)
//   dgPartial  (x, scratch, dy, rstd)
//   dgReduce   (dg, scratch)
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> dg: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstdOut: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// Scratch of rowSum in both variants.
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  lane: Lane,
) {
  let li = lane.li;
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.rows) { return; }
  let xb = row * p.stride;
  let yb = row * p.D;
  var ss = 0.0;
  for (var d = li; d < p.D; d += WG) {
    let v = x[xb + d];
    ss = fma(v, v, ss);
  }
  let s = inverseSqrt(rowSum(lane, ss) / f32(p.D) + p.eps);
  for (var d = li; d < p.D; d += WG) {
    y[yb + d] = g[d] * x[xb + d] * s;
  }
  if (li == 0u) { rstdOut[row] = s; }
}

@compute @workgroup_size(WG)
fn backwardDx(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  lane: Lane,
) {
  let li = lane.li;
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.rows) { return; }
  let xb = row * p.stride;
  let yb = row * p.D;
  var dot = 0.0;
  for (var d = li; d < p.D; d += WG) {
    dot = fma(g[d] * dy[yb + d], x[xb + d], dot);
  }
  let s = rstd[row];
  let c = s * s * s * rowSum(lane, dot) / f32(p.D);
  for (var d = li; d < p.D; d += WG) {
    var v = s * g[d] * dy[yb + d] - c * x[xb + d];
    if (p.accumulate != 0u) { v = dx[xb + d] + v; }
    dx[xb + d] = v;
  }
}

// One thread per (column d, chunk wid.y); neighbouring threads read
// neighbouring columns of each row.
@compute @workgroup_size(WG)
fn dgPartial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let d = wid.x * WG + li;
  if (d >= p.D) { return; }
  let c = wid.y;
  let r0 = c * p.rowsPerChunk;
  let r1 = min(r0 + p.rowsPerChunk, p.rows);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) {
    acc = fma(dy[r * p.D + d] * x[r * p.stride + d], rstd[r], acc);
  }
  scratch[c * p.D + d] = acc;
}

@compute @workgroup_size(WG)
fn dgReduce(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let d = wid.x * WG + li;
  if (d >= p.D) { return; }
  let chunks = (p.rows + p.rowsPerChunk - 1u) / p.rowsPerChunk;
  var acc = 0.0;
  for (var c = 0u; c < chunks; c++) {
    acc += scratch[c * p.D + d];
  }
  if (p.accumulate != 0u) { acc = dg[d] + acc; }
  dg[d] = acc;
}
