// DeMo compress (DESIGN.md §4 steps 2–7) for every tensor of a table at once,
// checked against the float64 demoCompress (src/demo/demo.ref.ts). Five
// dispatches whatever the number of tensors:
//
//   momentum:     δ ← β·δ + η·g                          one thread per element
//   forwardRows:  T[i,v] = Σ_j X[i,j]·Cc[v,j]              one thread per element
//   forwardCols:  Y[u,v] = Σ_i Cr[u,i]·T[i,v]              one thread per element
//   topk:         per block, the k largest |Y| (ties to the lower flat index),
//                 written ascending with their values    one workgroup per block
//   feedback:     δ ← δ − Crᵀ·K·Cc, K = Y on the kept coefficients, 0 elsewhere
//
// Each thread / workgroup finds its tensor in the table and then computes
// exactly what a one-tensor kernel would, in the same order, so batching
// changes no bit (shaders/demo_blocks.wgsl).
//
// Error feedback subtracts the inverse DCT of the kept coefficients (with
// their unquantized values) from δ instead of zeroing them in Y and
// transforming all of Y back: the two are equal in exact arithmetic, but the
// sparse form costs k terms per element instead of a full inverse transform,
// and leaves the untouched part of δ exactly as it was rather than passing it
// through two f32 DCT round trips.
//
// Top-k as a k-way merge: the kept set is defined by the total order
// (|y| desc, index asc), so any exact selection gives the same bits. Each
// thread scans its strided share of the block once (at most LOCAL elements)
// and keeps its best min(k, LOCAL) in order, in registers. Then k rounds: every
// thread offers its best candidate not yet picked, a fixed-shape tree
// reduction picks the best offer, and the thread that offered it moves to its
// next candidate. A thread can never be asked for more than its share holds,
// so the truncated lists suffice. No atomics, so the result has the same bits
// every run.
//
// Layouts (see shaders/demo_blocks.wgsl, put in front of this file by
// demo-compress.ts):
//   grad, momentum: f32, flat (a tensor at its `offset`)
//   T, Y:           f32 [elements] each, a tensor at its `first`, tensor layout
//   basis:          f32, C_n row-major (frequency, position) at the table's offsets
//   indices:        u32 [entries]    kept f, ascending within each block
//   values:         f32 [entries]    ±1 (quantize = 1) or the coefficient
//
// topk takes its block from the folded workgroup index, k ≤ MAX_K.

const MAX_K: u32 = 64u;
const NONE: u32 = 0xffffffffu;
// Elements one top-k thread scans at most: a block is at most 64×64.
const LOCAL: u32 = 4096u / WG;

// momentum
@group(0) @binding(2) var<storage, read_write> momentumM: array<f32>;
@group(0) @binding(3) var<storage, read> gradM: array<f32>;

// forwardRows
@group(0) @binding(2) var<storage, read> momentumR: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowsR: array<f32>;
@group(0) @binding(4) var<storage, read> basisR: array<f32>;

// forwardCols
@group(0) @binding(2) var<storage, read> rowsC: array<f32>;
@group(0) @binding(3) var<storage, read_write> coeffsC: array<f32>;
@group(0) @binding(4) var<storage, read> basisC: array<f32>;

// topk
@group(0) @binding(2) var<storage, read> coeffsK: array<f32>;
@group(0) @binding(3) var<storage, read_write> indicesK: array<u32>;
@group(0) @binding(4) var<storage, read_write> valuesK: array<f32>;

// feedback
@group(0) @binding(2) var<storage, read_write> momentumF: array<f32>;
@group(0) @binding(3) var<storage, read> coeffsF: array<f32>;
@group(0) @binding(4) var<storage, read> indicesF: array<u32>;
@group(0) @binding(5) var<storage, read> basisF: array<f32>;

@compute @workgroup_size(WG)
fn momentum(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  let t = tensorOf(g, false);
  let i = t.offset + g - t.first;
  momentumM[i] = p.decay * momentumM[i] + p.lr * gradM[i];
}

@compute @workgroup_size(WG)
fn forwardRows(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  // Element (i, v) of T = X·Ccᵀ: i is this element's row in the block.
  let at = place(g);
  let row = at.t.offset + at.origin + at.u * at.t.C;
  let basis = at.t.basisCols + at.v * at.t.cc;
  var acc = 0.0;
  for (var j = 0u; j < at.t.cc; j++) {
    acc += momentumR[row + j] * basisR[basis + j];
  }
  rowsR[g] = acc;
}

@compute @workgroup_size(WG)
fn forwardCols(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  // Element (u, v) of Y = Cr·T.
  let at = place(g);
  let column = at.t.first + at.origin + at.v;
  let basis = at.t.basisRows + at.u * at.t.cr;
  var acc = 0.0;
  for (var i = 0u; i < at.t.cr; i++) {
    acc += basisC[basis + i] * rowsC[column + i * at.t.C];
  }
  coeffsC[g] = acc;
}

var<workgroup> redMag: array<f32, WG>;
var<workgroup> redIdx: array<u32, WG>;
var<workgroup> picks: array<u32, MAX_K>;

// (|y| desc, index asc): does (ma, ia) come before (mb, ib)? NONE ranks last.
fn before(ma: f32, ia: u32, mb: f32, ib: u32) -> bool {
  if (ib == NONE) { return ia != NONE; }
  if (ia == NONE) { return false; }
  return ma > mb || (ma == mb && ia < ib);
}

@compute @workgroup_size(WG)
fn topk(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Workgroup-uniform, so returning here keeps the barriers below uniform.
  let g = groupIndex(wid, nwg);
  if (g >= p.blocks) { return; }
  let t = tensorOf(g, true);
  let b = g - t.firstBlock;
  // Y of this block's tensor starts at t.first; offsetOf gives tensor offsets.
  let origin = t.first + blockOrigin(t, b);
  let size = t.cr * t.cc;
  // This thread's share f = li, li + WG, …: its best `keep`, best first.
  let keep = min(t.k, LOCAL);
  var mags: array<f32, LOCAL>;
  var idxs: array<u32, LOCAL>;
  var held = 0u;
  for (var f = li; f < size; f += WG) {
    let m = abs(coeffsK[offsetOf(t, origin, f)]);
    if (held < keep || before(m, f, mags[keep - 1u], idxs[keep - 1u])) {
      // Insert, dropping the last one when the list is full.
      var j = min(held, keep - 1u);
      while (j > 0u && before(m, f, mags[j - 1u], idxs[j - 1u])) {
        mags[j] = mags[j - 1u];
        idxs[j] = idxs[j - 1u];
        j--;
      }
      mags[j] = m;
      idxs[j] = f;
      held = min(held + 1u, keep);
    }
  }
  var head = 0u;
  for (var r = 0u; r < t.k; r++) {
    var bestMag = 0.0;
    var bestIdx = NONE;
    if (head < held) {
      bestMag = mags[head];
      bestIdx = idxs[head];
    }
    redMag[li] = bestMag;
    redIdx[li] = bestIdx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (li < s && before(redMag[li + s], redIdx[li + s], redMag[li], redIdx[li])) {
        redMag[li] = redMag[li + s];
        redIdx[li] = redIdx[li + s];
      }
      workgroupBarrier();
    }
    let win = redIdx[0];
    if (li == 0u) { picks[r] = win; }
    // Indices are distinct, so exactly one thread offered the winner.
    if (head < held && idxs[head] == win) { head++; }
    // Nobody may overwrite redMag/redIdx for the next round before all have read [0].
    workgroupBarrier();
  }
  // Sort the k distinct picks ascending: each lands at its rank.
  if (li < t.k) {
    let f = picks[li];
    var rank = 0u;
    for (var s = 0u; s < t.k; s++) {
      rank += select(0u, 1u, picks[s] < f);
    }
    let coeff = coeffsK[offsetOf(t, origin, f)];
    let out = t.out + b * t.k + rank;
    indicesK[out] = f;
    // Sign bit 1 means negative; −0 and +0 both travel as +1 (as the reference).
    valuesK[out] = select(coeff, select(1.0, -1.0, coeff < 0.0), p.quantize == 1u);
  }
}

@compute @workgroup_size(WG)
fn feedback(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  // Element (i, j) of Crᵀ·K·Cc, K the block's kept coefficients (unquantized).
  let at = place(g);
  let t = at.t;
  let base = t.out + at.block * t.k;
  var sent = 0.0;
  for (var s = 0u; s < t.k; s++) {
    let f = indicesF[base + s];
    let u = f / t.cc;
    let v = f - u * t.cc;
    let coeff = coeffsF[t.first + at.origin + u * t.C + v];
    sent += basisF[t.basisRows + u * t.cr + at.u] * basisF[t.basisCols + v * t.cc + at.v] * coeff;
  }
  let i = t.offset + at.e;
  momentumF[i] = momentumF[i] - sent;
}
