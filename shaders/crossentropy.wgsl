// Fused softmax + cross-entropy over logits x [rows, V] with i32 targets
// t [rows]; IGNORE (-100, as in PyTorch) marks a row that takes no part.
//   forward          lse[r]    = log Σ_c exp(x[r,c])
//                    losses[r] = lse[r] − x[r, t_r]          (0 when ignored)
//   mean             loss      = [Σ_r losses[r] / count, count]
//                    count     = number of rows that are not ignored
//   backward         dx[r,c]   = scale · (exp(x[r,c] − lse[r]) − [c = t_r]) / count
//                                (0 for ignored rows, and everywhere when count = 0)
//   backward_inplace the same, written over the logits themselves
//
// A target outside [0, V) is treated like IGNORE by every entry point (the
// GPU cannot raise an error; the CPU validates targets before upload), so
// forward, mean and backward always agree on which rows count.
//
// One workgroup per row (forward, backward): V is up to ~50k, so each thread
// walks the row with stride WG and the workgroup then combines the per-thread
// results in a fixed order, so the result has the same bits on every run. The
// row index folds a 2-D grid (wid.y·nwg.x + wid.x) because rows may exceed
// the 65535 workgroups a grid dimension allows.
//
// Entry points bind different buffers, so a binding number means a different
// variable in different entry points (WGSL only forbids reuse within one).
//
// This file is the shared part of a module; it is not a module by itself.
// crossentropy.ts puts one of two parts in front of it, each defining the
// invocation struct `Lane` (entry-point builtins) and `rowStats`, which
// combines forward's per-thread softmax statistics over the workgroup:
//   crossentropy_tree.wgsl       a workgroup tree in shared memory (any device);
//   crossentropy_subgroups.wgsl  subgroupMax/subgroupAdd and two barriers
//                                (needs the `subgroups` feature; starts with
//                                `enable subgroups;`).
// Only forward reduces a row; crossentropy.ts takes the other entry points
// from the tree module.

const WG: u32 = 256u; // power of two: the tree reductions halve it
const IGNORE: i32 = -100i;
const LOWEST: f32 = -3.4028234e38f; // ≈ the lowest f32; WGSL has no -inf literal

struct Params {
  rows: u32,
  V: u32,
  scale: f32, // backward only
}

@group(0) @binding(0) var<uniform> p: Params;

// forward
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> lseOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> lossesOut: array<f32>;

// mean (targets at 2 as above)
@group(0) @binding(1) var<storage, read> lossesIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> lossOut: array<f32>; // [mean, count]

// backward / backward_inplace (targets at 2 as above)
@group(0) @binding(1) var<storage, read_write> logitsInPlace: array<f32>;
@group(0) @binding(3) var<storage, read> lseIn: array<f32>;
@group(0) @binding(4) var<storage, read> lossIn: array<f32>; // [mean, count]
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

// redA, redB: scratch of rowStats in both variants, and of mean.
var<workgroup> redA: array<f32, WG>;
var<workgroup> redB: array<f32, WG>;
var<workgroup> redN: array<u32, WG>;

fn isCounted(t: i32) -> bool {
  return t != IGNORE && t >= 0 && u32(t) < p.V;
}

fn rowIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Online softmax statistics: each thread keeps a running max m and
// s = Σ exp(x − m) over its strided elements (one exp per element and a
// single read of the row); rowStats then combines the pairs of all threads,
// as if merging them pairwise with
//   (m1,s1)⊕(m2,s2) = (M, s1·exp(m1−M) + s2·exp(m2−M)),  M = max(m1,m2).
// An empty thread holds (LOWEST, 0), which merges as the identity.
@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  lane: Lane,
) {
  let row = rowIndex(wid, nwg);
  if (row >= p.rows) { return; } // uniform per workgroup
  let base = row * p.V;
  var m = LOWEST;
  var s = 0.0;
  for (var c = lane.li; c < p.V; c += WG) {
    let x = logits[base + c];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  let stats = rowStats(lane, m, s);
  if (lane.li == 0u) {
    let mm = stats.x;
    let logS = log(stats.y);
    lseOut[row] = mm + logS;
    let t = targets[row];
    var loss = 0.0;
    // (m − x_t) + log s rather than lse − x_t: when the target holds the max
    // the loss is log s exactly, without the rounding of m + log s.
    if (isCounted(t)) { loss = (mm - logits[base + u32(t)]) + logS; }
    lossesOut[row] = loss;
  }
}

// One workgroup: strided per-thread sums then a fixed tree, so the mean does
// not depend on scheduling. The count is computed here from the targets
// rather than passed in, so backward can read it without a CPU round trip.
@compute @workgroup_size(WG)
fn mean(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  var n = 0u;
  for (var r = li; r < p.rows; r += WG) {
    if (isCounted(targets[r])) {
      s += lossesIn[r];
      n += 1u;
    }
  }
  redA[li] = s;
  redN[li] = n;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (li < half) {
      redA[li] += redA[li + half];
      redN[li] += redN[li + half];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let count = redN[0];
    var loss = 0.0;
    if (count > 0u) { loss = redA[0] / f32(count); }
    lossOut[0] = loss;
    lossOut[1] = f32(count); // exact below 2^24 rows
  }
}

// The gradient of element c of a counted row, given lse and k = scale/count.
fn grad(x: f32, c: u32, t: u32, lse: f32, k: f32) -> f32 {
  var g = exp(x - lse);
  if (c == t) { g -= 1.0; }
  return k * g;
}

// k = 0 marks a row whose gradient is all zeros (ignored, or count = 0).
fn rowScale(row: u32) -> f32 {
  let count = lossIn[1];
  if (!isCounted(targets[row]) || count == 0.0) { return 0.0; }
  return p.scale / count;
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = rowIndex(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.V;
  let k = rowScale(row);
  let t = u32(targets[row]); // only compared when k ≠ 0, i.e. when in [0, V)
  let l = lseIn[row];
  for (var c = li; c < p.V; c += WG) {
    var g = 0.0;
    if (k != 0.0) { g = grad(logits[base + c], c, t, l, k); }
    dlogits[base + c] = g;
  }
}

// Each element is read and then written by the same thread, so overwriting
// the logits is safe; it saves a [rows, V] buffer, the largest activation.
@compute @workgroup_size(WG)
fn backward_inplace(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = rowIndex(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.V;
  let k = rowScale(row);
  let t = u32(targets[row]);
  let l = lseIn[row];
  for (var c = li; c < p.V; c += WG) {
    var g = 0.0;
    if (k != 0.0) { g = grad(logitsInPlace[base + c], c, t, l, k); }
    logitsInPlace[base + c] = g;
  }
}
