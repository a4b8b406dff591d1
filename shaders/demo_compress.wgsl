// DeMo compress (DESIGN.md §4 steps 2–7) for every tensor of a table at once,
// checked against the float64 demoCompress (src/demo/demo.ref.ts). Five
// dispatches whatever the number of tensors, one workgroup per block; in all
// but top-k each thread owns a tile of its block (shaders/demo_blocks.wgsl):
//
//   momentum:    δ ← β·δ + η·g
//   forwardRows: T[i,v] = Σ_j X[i,j]·Cc[v,j]          (X = δ)
//   forwardCols: Y[u,v] = Σ_i Cr[u,i]·T[i,v]
//   topk:        the k largest |Y| (ties to the lower flat index), written
//                ascending with their values                TOPK_WG threads
//   feedback:    δ ← δ − Crᵀ·K·Cc, K = Y on the kept coefficients, 0 elsewhere
//
// Only top-k shares data within a workgroup. The other passes need no
// workgroup memory and no barrier: CPU WebGPU (SwiftShader) runs a workgroup
// that has any as one coroutine per four threads, switching them all at
// every barrier, which costs more than the arithmetic.
//
// Error feedback subtracts the inverse DCT of the kept coefficients (with
// their unquantized values) from δ instead of zeroing them in Y and
// transforming all of Y back: the two are equal in exact arithmetic, but the
// sparse form costs k terms per element instead of a full inverse transform,
// and leaves the untouched part of δ exactly as it was rather than passing it
// through two f32 DCT round trips.
//
// Top-k as a merge of sorted lists: the kept set is defined by the total
// order (|y| desc, index asc), so any exact selection gives the same bits.
// `lists` threads each scan a strided share of the block and keep their best
// k in order (workgroup memory); the lists are then merged pairwise, log2
// levels, each merge keeping the best k of two sorted lists (read from one
// half of the list memory, written to the other). Any k of the kept set lie
// among their list's best k, so truncating loses nothing. No atomics, and
// every merge has a fixed shape, so every run gives the same bits. The
// workgroup is one subgroup's worth of threads (TOPK_WG), so the barriers
// between levels stay cheap on a CPU, and a GPU still scans in parallel.
//
// Layouts (see shaders/demo_blocks.wgsl, put in front of this file by
// demo-compress.ts):
//   grad, momentum: f32, flat (a tensor at its `offset`)
//   T, Y:           f32 [elements] each, a tensor at its `first`, tensor layout
//   basis:          f32, C_n row-major (frequency, position) at the table's offsets
//   indices:        u32 [entries]    kept f, ascending within each block
//   values:         f32 [entries]    ±1 (quantize = 1) or the coefficient
//
// k ≤ 64 (demo-table.ts DEMO_MAX_TOPK), so SLOTS / k ≥ 8 lists fit.

const NONE: u32 = 0xffffffffu;
// Candidate slots of the top-k lists: lists·k ≤ SLOTS (twice, 8 KiB of workgroup memory).
const SLOTS: u32 = 512u;
// Threads of a top-k workgroup: at most this many lists.
const TOPK_WG: u32 = 32u;

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
fn momentum(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = groupIndex(wid, nwg);
  if (g >= p.blocks) { return; }
  let t = tensorOf(g, false);
  let tile = tileOf(t, li);
  if (!tile.live) { return; }
  let flat = t.offset + blockOrigin(t, g - t.firstBlock);
  for (var a = 0u; a < TILE; a++) {
    for (var b = 0u; b < TILE; b++) {
      if (inBlock(t, tile, a, b)) {
        let i = flat + (tile.i0 + a) * t.C + tile.j0 + b;
        momentumM[i] = p.decay * momentumM[i] + p.lr * gradM[i];
      }
    }
  }
}

@compute @workgroup_size(WG)
fn forwardRows(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = groupIndex(wid, nwg);
  if (g >= p.blocks) { return; }
  let t = tensorOf(g, false);
  let tile = tileOf(t, li);
  if (!tile.live) { return; }
  let origin = blockOrigin(t, g - t.firstBlock);
  let flat = t.offset + origin;
  // Element (i, v) of T = X·Ccᵀ for the tile's rows i and frequencies v;
  // accA is row A of the tile.
  let x = vec4<u32>(flat) + tileRows(t, tile) * t.C;
  let c = vec4<u32>(t.basisCols) + tileCols(t, tile) * t.cc;
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var j = 0u; j < t.cc; j++) {
    let xj = vec4<f32>(momentumR[x.x + j], momentumR[x.y + j], momentumR[x.z + j], momentumR[x.w + j]);
    let cj = vec4<f32>(basisR[c.x + j], basisR[c.y + j], basisR[c.z + j], basisR[c.w + j]);
    acc0 += xj.x * cj;
    acc1 += xj.y * cj;
    acc2 += xj.z * cj;
    acc3 += xj.w * cj;
  }
  var sums = array<vec4<f32>, TILE>(acc0, acc1, acc2, acc3);
  let rows = t.first + origin;
  for (var a = 0u; a < TILE; a++) {
    for (var b = 0u; b < TILE; b++) {
      if (inBlock(t, tile, a, b)) { rowsR[rows + (tile.i0 + a) * t.C + tile.j0 + b] = sums[a][b]; }
    }
  }
}

@compute @workgroup_size(WG)
fn forwardCols(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = groupIndex(wid, nwg);
  if (g >= p.blocks) { return; }
  let t = tensorOf(g, false);
  let tile = tileOf(t, li);
  if (!tile.live) { return; }
  let origin = t.first + blockOrigin(t, g - t.firstBlock);
  // Element (u, v) of Y = Cr·T for the tile's frequencies u and v; accA is
  // row A of the tile.
  let c = vec4<u32>(t.basisRows) + tileRows(t, tile) * t.cr;
  let r = vec4<u32>(origin) + tileCols(t, tile);
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var i = 0u; i < t.cr; i++) {
    let ci = vec4<f32>(basisC[c.x + i], basisC[c.y + i], basisC[c.z + i], basisC[c.w + i]);
    let row = i * t.C;
    let ri = vec4<f32>(rowsC[r.x + row], rowsC[r.y + row], rowsC[r.z + row], rowsC[r.w + row]);
    acc0 += ci.x * ri;
    acc1 += ci.y * ri;
    acc2 += ci.z * ri;
    acc3 += ci.w * ri;
  }
  var sums = array<vec4<f32>, TILE>(acc0, acc1, acc2, acc3);
  for (var a = 0u; a < TILE; a++) {
    for (var b = 0u; b < TILE; b++) {
      if (inBlock(t, tile, a, b)) { coeffsC[origin + (tile.i0 + a) * t.C + tile.j0 + b] = sums[a][b]; }
    }
  }
}

// The top-k lists, twice: each merge level reads one half and writes the other.
var<workgroup> listMag: array<f32, 2 * SLOTS>;
var<workgroup> listIdx: array<u32, 2 * SLOTS>;

// (|y| desc, index asc): does (ma, ia) come before (mb, ib)? NONE ranks last.
fn before(ma: f32, ia: u32, mb: f32, ib: u32) -> bool {
  if (ib == NONE) { return ia != NONE; }
  if (ia == NONE) { return false; }
  return ma > mb || (ma == mb && ia < ib);
}

// How many top-k lists a block of `size` elements uses: a power of two, at
// most one per thread, one per element, and SLOTS / k.
fn listCount(size: u32, k: u32) -> u32 {
  let most = min(min(TOPK_WG, SLOTS / k), size);
  return 1u << (31u - countLeadingZeros(most));
}

// The list at slot `at` (length k) keeps its best k of the block's elements
// f = first, first + stride, … (coefficients at `origin`).
fn scanShare(t: Tensor, origin: u32, at: u32, first: u32, stride: u32) {
  let k = t.k;
  for (var s = 0u; s < k; s++) {
    listMag[at + s] = 0.0;
    listIdx[at + s] = NONE;
  }
  let last = at + k - 1u;
  for (var f = first; f < t.cr * t.cc; f += stride) {
    let m = abs(coeffsK[offsetOf(t, origin, f)]);
    if (before(m, f, listMag[last], listIdx[last])) {
      // Insert, dropping the last one.
      var j = k - 1u;
      while (j > 0u && before(m, f, listMag[at + j - 1u], listIdx[at + j - 1u])) {
        listMag[at + j] = listMag[at + j - 1u];
        listIdx[at + j] = listIdx[at + j - 1u];
        j--;
      }
      listMag[at + j] = m;
      listIdx[at + j] = f;
    }
  }
}

// The best k of the sorted lists at slots `a` and `b`, sorted, to slot `to`
// (in the other half). Their indices are distinct (each element is scanned
// once), and ia + ib = r < k keeps both heads inside their lists.
fn mergeLists(a: u32, b: u32, to: u32, k: u32) {
  var ia = 0u;
  var ib = 0u;
  for (var r = 0u; r < k; r++) {
    if (before(listMag[a + ia], listIdx[a + ia], listMag[b + ib], listIdx[b + ib])) {
      listMag[to + r] = listMag[a + ia];
      listIdx[to + r] = listIdx[a + ia];
      ia++;
    } else {
      listMag[to + r] = listMag[b + ib];
      listIdx[to + r] = listIdx[b + ib];
      ib++;
    }
  }
}

@compute @workgroup_size(TOPK_WG)
fn topk(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Workgroup-uniform, so returning here keeps the barriers below uniform.
  let g = groupIndex(wid, nwg);
  if (g >= p.blocks) { return; }
  let t = tensorOf(g, false);
  let b = g - t.firstBlock;
  let origin = t.first + blockOrigin(t, b);
  let k = t.k;
  let lists = listCount(t.cr * t.cc, k);
  if (li < lists) { scanShare(t, origin, li * k, li, lists); }
  // Level w merges lists li and li + w (each the result of the level before) into li.
  var half = 0u;
  for (var w = 1u; w < lists; w *= 2u) {
    workgroupBarrier();
    if (li < lists && li % (2u * w) == 0u) { mergeLists(half + li * k, half + (li + w) * k, SLOTS - half + li * k, k); }
    half = SLOTS - half;
  }
  workgroupBarrier();
  // List 0 holds the kept set; each lands at its rank by index.
  for (var r = li; r < k; r += TOPK_WG) {
    let f = listIdx[half + r];
    var rank = 0u;
    for (var s = 0u; s < k; s++) {
      rank += select(0u, 1u, listIdx[half + s] < f);
    }
    let coeff = coeffsK[offsetOf(t, origin, f)];
    let out = t.out + b * k + rank;
    indicesK[out] = f;
    // Sign bit 1 means negative; −0 and +0 both travel as +1 (as the reference).
    valuesK[out] = select(coeff, select(1.0, -1.0, coeff < 0.0), p.quantize == 1u);
  }
}

@compute @workgroup_size(WG)
fn feedback(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = groupIndex(wid, nwg);
  if (g >= p.blocks) { return; }
  let t = tensorOf(g, false);
  let tile = tileOf(t, li);
  if (!tile.live) { return; }
  let b = g - t.firstBlock;
  let blockAt = blockOrigin(t, b);
  let origin = t.first + blockAt;
  // Element (i, j) of Crᵀ·K·Cc: Σ over kept (u, v), ascending, of
  // Cr[u,i]·(Cc[v,j]·Y[u,v]); sentA is row A of the tile.
  let r = vec4<u32>(t.basisRows) + tileRows(t, tile);
  let c = vec4<u32>(t.basisCols) + tileCols(t, tile);
  var sent0 = vec4<f32>();
  var sent1 = vec4<f32>();
  var sent2 = vec4<f32>();
  var sent3 = vec4<f32>();
  let kept = t.out + b * t.k;
  for (var s = 0u; s < t.k; s++) {
    let f = indicesF[kept + s];
    let u = f / t.cc;
    let v = f - u * t.cc;
    let ru = u * t.cr;
    let cv = v * t.cc;
    let rs = vec4<f32>(basisF[r.x + ru], basisF[r.y + ru], basisF[r.z + ru], basisF[r.w + ru]);
    let cs = vec4<f32>(basisF[c.x + cv], basisF[c.y + cv], basisF[c.z + cv], basisF[c.w + cv]) * coeffsF[origin + u * t.C + v];
    sent0 += rs.x * cs;
    sent1 += rs.y * cs;
    sent2 += rs.z * cs;
    sent3 += rs.w * cs;
  }
  var sums = array<vec4<f32>, TILE>(sent0, sent1, sent2, sent3);
  let flat = t.offset + blockAt;
  for (var a = 0u; a < TILE; a++) {
    for (var bb = 0u; bb < TILE; bb++) {
      if (inBlock(t, tile, a, bb)) {
        let i = flat + (tile.i0 + a) * t.C + tile.j0 + bb;
        momentumF[i] = momentumF[i] - sums[a][bb];
      }
    }
  }
}
