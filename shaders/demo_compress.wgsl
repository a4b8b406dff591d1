// DeMo compress (docs/design.md §4 steps 2–7) for every tensor of a table at once,
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

// The DCT basis, at the same binding in every pass that reads it.
@group(0) @binding(2) var<storage, read> basis: array<f32>;

// momentum
@group(0) @binding(2) var<storage, read_write> momentumM: array<f32>;
@group(0) @binding(3) var<storage, read> gradM: array<f32>;

// forwardRows (and basis)
@group(0) @binding(3) var<storage, read> momentumR: array<f32>;
@group(0) @binding(4) var<storage, read_write> rowsR: array<f32>;

// forwardCols (and basis)
@group(0) @binding(3) var<storage, read> rowsC: array<f32>;
@group(0) @binding(4) var<storage, read_write> coeffsC: array<f32>;

// topk
@group(0) @binding(2) var<storage, read> coeffsK: array<f32>;
@group(0) @binding(3) var<storage, read_write> indicesK: array<u32>;
@group(0) @binding(4) var<storage, read_write> valuesK: array<f32>;

// feedback (and basis)
@group(0) @binding(3) var<storage, read_write> momentumF: array<f32>;
@group(0) @binding(4) var<storage, read> coeffsF: array<f32>;
@group(0) @binding(5) var<storage, read> indicesF: array<u32>;

// basis at four offsets, each plus `step`.
fn basisAt(at: vec4<u32>, step: u32) -> vec4<f32> {
  return vec4<f32>(basis[at.x + step], basis[at.y + step], basis[at.z + step], basis[at.w + step]);
}

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
    for (var c = 0u; c < WIDE; c++) {
      if (inBlock(t, tile, a, c)) {
        let i = flat + (tile.i0 + a) * t.C + tile.j0 + c;
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
  // Element (i, v) of T = X·Ccᵀ for the tile's rows i and frequencies v.
  let x = vec4<u32>(t.offset + origin) + tileRows(t, tile) * t.C;
  let c0 = vec4<u32>(t.basisCols) + tileCols(t, tile, 0u) * t.cc;
  let c1 = vec4<u32>(t.basisCols) + tileCols(t, tile, 1u) * t.cc;
  let c2 = vec4<u32>(t.basisCols) + tileCols(t, tile, 2u) * t.cc;
  let c3 = vec4<u32>(t.basisCols) + tileCols(t, tile, 3u) * t.cc;
  var sums: array<vec4<f32>, 16>;
  for (var j = 0u; j < t.cc; j++) {
    let xj = vec4<f32>(momentumR[x.x + j], momentumR[x.y + j], momentumR[x.z + j], momentumR[x.w + j]);
    addOuterF32(&sums, xj, array<vec4<f32>, 4>(basisAt(c0, j), basisAt(c1, j), basisAt(c2, j), basisAt(c3, j)));
  }
  let rows = t.first + origin;
  for (var a = 0u; a < TILE; a++) {
    for (var c = 0u; c < WIDE; c++) {
      if (inBlock(t, tile, a, c)) { rowsR[rows + (tile.i0 + a) * t.C + tile.j0 + c] = sumF32(&sums, a, c); }
    }
  }
}

// T at four offsets, each plus `step`.
fn rowsAt(at: vec4<u32>, step: u32) -> vec4<f32> {
  return vec4<f32>(rowsC[at.x + step], rowsC[at.y + step], rowsC[at.z + step], rowsC[at.w + step]);
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
  // Element (u, v) of Y = Cr·T for the tile's frequencies u and v.
  let c = vec4<u32>(t.basisRows) + tileRows(t, tile) * t.cr;
  let r0 = vec4<u32>(origin) + tileCols(t, tile, 0u);
  let r1 = vec4<u32>(origin) + tileCols(t, tile, 1u);
  let r2 = vec4<u32>(origin) + tileCols(t, tile, 2u);
  let r3 = vec4<u32>(origin) + tileCols(t, tile, 3u);
  var sums: array<vec4<f32>, 16>;
  for (var i = 0u; i < t.cr; i++) {
    let row = i * t.C;
    addOuterF32(&sums, basisAt(c, i), array<vec4<f32>, 4>(rowsAt(r0, row), rowsAt(r1, row), rowsAt(r2, row), rowsAt(r3, row)));
  }
  for (var a = 0u; a < TILE; a++) {
    for (var col = 0u; col < WIDE; col++) {
      if (inBlock(t, tile, a, col)) { coeffsC[origin + (tile.i0 + a) * t.C + tile.j0 + col] = sumF32(&sums, a, col); }
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
  // The list's last entry, kept in registers: most elements lose to it.
  let last = at + k - 1u;
  var lastMag = 0.0;
  var lastIdx = NONE;
  for (var f = first; f < t.cr * t.cc; f += stride) {
    let m = abs(coeffsK[offsetOf(t, origin, f)]);
    if (before(m, f, lastMag, lastIdx)) {
      // Insert, dropping the last one.
      var j = k - 1u;
      while (j > 0u && before(m, f, listMag[at + j - 1u], listIdx[at + j - 1u])) {
        listMag[at + j] = listMag[at + j - 1u];
        listIdx[at + j] = listIdx[at + j - 1u];
        j--;
      }
      listMag[at + j] = m;
      listIdx[at + j] = f;
      lastMag = listMag[last];
      lastIdx = listIdx[last];
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
  // Cr[u,i]·(Cc[v,j]·Y[u,v]).
  let r = vec4<u32>(t.basisRows) + tileRows(t, tile);
  let c0 = vec4<u32>(t.basisCols) + tileCols(t, tile, 0u);
  let c1 = vec4<u32>(t.basisCols) + tileCols(t, tile, 1u);
  let c2 = vec4<u32>(t.basisCols) + tileCols(t, tile, 2u);
  let c3 = vec4<u32>(t.basisCols) + tileCols(t, tile, 3u);
  var sums: array<vec4<f32>, 16>;
  let kept = t.out + b * t.k;
  for (var s = 0u; s < t.k; s++) {
    let f = indicesF[kept + s];
    let u = f / t.cc;
    let v = f - u * t.cc;
    let y = coeffsF[origin + u * t.C + v];
    let cv = v * t.cc;
    addOuterF32(&sums, basisAt(r, u * t.cr), array<vec4<f32>, 4>(basisAt(c0, cv) * y, basisAt(c1, cv) * y, basisAt(c2, cv) * y, basisAt(c3, cv) * y));
  }
  let flat = t.offset + blockAt;
  for (var a = 0u; a < TILE; a++) {
    for (var c = 0u; c < WIDE; c++) {
      if (inBlock(t, tile, a, c)) {
        let i = flat + (tile.i0 + a) * t.C + tile.j0 + c;
        momentumF[i] = momentumF[i] - sumF32(&sums, a, c);
      }
    }
  }
}
