// DeMo compress (DESIGN.md §4 steps 2–7) for one tensor, checked against the
// float64 demoCompress (src/demo/demo.ref.ts). Five dispatches:
//
//   momentum:     δ ← β·δ + η·g                          one thread per element
//   forwardRows:  T[i,v] = Σ_j X[i,j]·Cc[v,j]              one thread per element
//   forwardCols:  Y[u,v] = Σ_i Cr[u,i]·T[i,v]              one thread per element
//   topk:         per block, the k largest |Y| (ties to the lower flat index),
//                 written ascending with their values    one workgroup per block
//   feedback:     δ ← δ − Crᵀ·K·Cc, K = Y on the kept coefficients, 0 elsewhere
//
// Error feedback subtracts the inverse DCT of the kept coefficients (with
// their unquantized values) from δ instead of zeroing them in Y and
// transforming all of Y back: the two are equal in exact arithmetic, but the
// sparse form costs k terms per element instead of a full inverse transform,
// and leaves the untouched part of δ exactly as it was rather than passing it
// through two f32 DCT round trips.
//
// Top-k without marking: the picks come out in strictly decreasing order of
// (|y| desc, index asc), so round r's pick is the best element ranked after
// round r−1's pick. Each round every thread scans its strided share of the
// block and a fixed-shape tree reduction picks the best; no atomics, so the
// result has the same bits every run.
//
// Layouts (blocks and f as in shaders/demo_blocks.wgsl, put in front of this
// file by demo-compress.ts):
//   grad, momentum: f32 [n]                 tensor layout
//   scratch:        f32 [2·n]               T, then Y, both in tensor layout
//   basis:          f32 [c, c]              C_c, row-major (frequency, position)
//   indices:        u32 [blockCount, k]     kept f, ascending within each block
//   values:         f32 [blockCount, k]     ±1 (quantize = 1) or the coefficient
//
// topk takes its block from the folded workgroup index, k ≤ MAX_K.

const MAX_K: u32 = 64u;
const NONE: u32 = 0xffffffffu;

// momentum
@group(0) @binding(1) var<storage, read_write> momentumM: array<f32>;
@group(0) @binding(2) var<storage, read> gradM: array<f32>;

// forwardRows
@group(0) @binding(1) var<storage, read> momentumR: array<f32>;
@group(0) @binding(2) var<storage, read_write> scratchR: array<f32>;
@group(0) @binding(3) var<storage, read> basisColsR: array<f32>;

// forwardCols
@group(0) @binding(1) var<storage, read_write> scratchC: array<f32>;
@group(0) @binding(2) var<storage, read> basisRowsC: array<f32>;

// topk
@group(0) @binding(1) var<storage, read> scratchK: array<f32>;
@group(0) @binding(2) var<storage, read_write> indicesK: array<u32>;
@group(0) @binding(3) var<storage, read_write> valuesK: array<f32>;

// feedback
@group(0) @binding(1) var<storage, read_write> momentumF: array<f32>;
@group(0) @binding(2) var<storage, read> scratchF: array<f32>;
@group(0) @binding(3) var<storage, read> indicesF: array<u32>;
@group(0) @binding(4) var<storage, read> basisRowsF: array<f32>;
@group(0) @binding(5) var<storage, read> basisColsF: array<f32>;

@compute @workgroup_size(WG)
fn momentum(id: Thread) {
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  momentumM[e] = p.decay * momentumM[e] + p.lr * gradM[e];
}

@compute @workgroup_size(WG)
fn forwardRows(id: Thread) {
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  // Element (i, v) of T = X·Ccᵀ: i is this element's row in the block.
  let at = place(e);
  let row = at.origin + at.u * p.C;
  var acc = 0.0;
  for (var j = 0u; j < p.cc; j++) {
    acc += momentumR[row + j] * basisColsR[at.v * p.cc + j];
  }
  scratchR[e] = acc;
}

@compute @workgroup_size(WG)
fn forwardCols(id: Thread) {
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  // Element (u, v) of Y = Cr·T.
  let at = place(e);
  var acc = 0.0;
  for (var i = 0u; i < p.cr; i++) {
    acc += basisRowsC[at.u * p.cr + i] * scratchC[at.origin + i * p.C + at.v];
  }
  scratchC[p.n + e] = acc;
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
  let b = groupIndex(wid, nwg);
  if (b >= p.blockCount) { return; }
  let origin = blockOrigin(b);
  let size = p.cr * p.cc;
  let y = p.n;
  var lastMag = 0.0;
  var lastIdx = NONE;
  for (var r = 0u; r < p.k; r++) {
    var bestMag = 0.0;
    var bestIdx = NONE;
    for (var f = li; f < size; f += WG) {
      let m = abs(scratchK[y + offsetOf(origin, f)]);
      // Only elements ranked after the previous pick are still unpicked.
      let open = lastIdx == NONE || before(lastMag, lastIdx, m, f);
      if (open && before(m, f, bestMag, bestIdx)) {
        bestMag = m;
        bestIdx = f;
      }
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
    lastMag = redMag[0];
    lastIdx = redIdx[0];
    if (li == 0u) { picks[r] = lastIdx; }
    // Nobody may overwrite redMag/redIdx for the next round before all have read [0].
    workgroupBarrier();
  }
  // Sort the k distinct picks ascending: each lands at its rank.
  if (li < p.k) {
    let f = picks[li];
    var rank = 0u;
    for (var s = 0u; s < p.k; s++) {
      rank += select(0u, 1u, picks[s] < f);
    }
    let coeff = scratchK[y + offsetOf(origin, f)];
    let out = b * p.k + rank;
    indicesK[out] = f;
    // Sign bit 1 means negative; −0 and +0 both travel as +1 (as the reference).
    valuesK[out] = select(coeff, select(1.0, -1.0, coeff < 0.0), p.quantize == 1u);
  }
}

@compute @workgroup_size(WG)
fn feedback(id: Thread) {
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  // Element (i, j) of Crᵀ·K·Cc, K the block's kept coefficients (unquantized).
  let at = place(e);
  let base = at.block * p.k;
  var sent = 0.0;
  for (var t = 0u; t < p.k; t++) {
    let f = indicesF[base + t];
    let u = f / p.cc;
    let v = f - u * p.cc;
    let coeff = scratchF[p.n + at.origin + u * p.C + v];
    sent += basisRowsF[u * p.cr + at.u] * basisColsF[v * p.cc + at.v] * coeff;
  }
  momentumF[e] = momentumF[e] - sent;
}
