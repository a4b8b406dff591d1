// DeMo apply (docs/design.md §4 steps 1, 8, 9) for every tensor of a table at
// once, bit-exact against demoApplyExact (src/demo/integer-decode.ts). Four
// dispatches whatever the number of tensors (only `prepare` when there are
// no updates):
//
//   clear:      zero the scratch of every kept coefficient      one thread per kept entry
//   accumulate: s += sign, m += 1, mark the coefficient          one thread per kept entry
//   prepare:    p ← p·decay (step 1, f32); Aq = round(2^5·s/m),
//               halves away from zero, in place of s (step 8)     one workgroup per block
//   inverse:    T[i,v] = Σ_u Br[u,i]·Aq[u,v], X[i,j] = Σ_v T[i,v]·Bc[v,j],
//               p ← p − lr·sign(X)                 (step 9)      one workgroup per block
//
// Sparse, because almost every Aq is 0: the work is O(M·k) per block for the
// aggregate, not O(elements·M·k). The M·k entries kept in a block are added
// with integer atomics, which are exact, so the order in which updates or
// threads land cannot change s or m. Each kept coefficient is also marked
// in two bitmasks: per block, the columns holding one; per block column,
// its rows holding one. The inverse sums, for each marked column, over its
// marked rows (T), then over the marked columns (X), each thread for its
// tile. Everything skipped is a term that is exactly 0 (an unmarked Aq is 0;
// an unmarked column of Aq gives a T column of 0), so every sum is the dense
// sum's integer, and every partial sum is a partial sum of the same terms:
// integer-decode.ts's proof that nothing wraps (blocks up to 64×64, basis
// ×2^8, values ×2^5) covers it unchanged. A thread recomputes T for its own
// four rows instead of sharing it: that costs 4 multiply-adds per kept
// coefficient (against 64 per kept column for its X), and needs no
// workgroup memory and no barrier (which CPU WebGPU makes very costly).
//
// The decay is written to memory in `prepare` and the step applied in the
// next dispatch, so no compiler can contract p·decay − lr·dir into one fused
// multiply-add (which rounds once, not twice). Each thread finds its tensor
// in the table, so batching changes no bit either.
//
// Layouts (see shaders/demo_blocks.wgsl, put in front of this file by
// demo-apply.ts):
//   param:   f32, flat (a tensor at its `offset`)
//   indices: u32 [M, entries]  per update, each tensor's blocks·k at its `out`,
//                              each block's kept f distinct
//   signs:   i32 [M, entries]  ±1, the kept values
//   sum:     [elements] s as two's complement u32 (added as such: the same
//            bits as i32 addition), then Aq as i32, a tensor at its `first`;
//            then [MASK_WORDS·blocks] each block's column mask
//   count:   u32 [elements] m, a tensor at its `first`; then each tensor's
//            row masks at `masks`, MASK_WORDS per block column
//   basis:   i32, round(2^8 · C_n) row-major (frequency, position) at the table's offsets
// Only words of kept coefficients, and of the masks of blocks and columns
// holding one, are written (cleared first) or read, so the scratch may hold
// anything on entry.

const VALUE_BITS: u32 = 5u;

// clear, accumulate
@group(0) @binding(2) var<storage, read> indicesE: array<u32>;
@group(0) @binding(3) var<storage, read_write> sumE: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> countE: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> signsE: array<i32>;

// prepare
@group(0) @binding(2) var<storage, read_write> paramP: array<f32>;
@group(0) @binding(3) var<storage, read_write> sumP: array<i32>;
@group(0) @binding(4) var<storage, read> countP: array<u32>;

// inverse
@group(0) @binding(2) var<storage, read_write> paramI: array<f32>;
@group(0) @binding(3) var<storage, read> sumI: array<i32>;
@group(0) @binding(4) var<storage, read> countI: array<u32>;
@group(0) @binding(5) var<storage, read> basisI: array<i32>;

// Where kept entry e (of [M, entries]) lands: the scratch word of its
// coefficient, its row and column in the block, and the first words of its
// block's column mask (in sum) and of its column's row mask (in count).
struct Kept {
  at: u32,
  u: u32,
  v: u32,
  columns: u32,
  rows: u32,
}

fn kept(e: u32) -> Kept {
  let r = e % p.entries;
  let t = tensorOf(r, true);
  let b = (r - t.out) / t.k;
  let f = indicesE[e];
  let u = f / t.cc;
  let v = f - u * t.cc;
  let at = t.first + blockOrigin(t, b) + u * t.C + v;
  let columns = p.elements + MASK_WORDS * (t.firstBlock + b);
  let rows = p.elements + t.masks + MASK_WORDS * (b * t.cc + v);
  return Kept(at, u, v, columns, rows);
}

fn entryIndex(li: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return groupIndex(wid, nwg) * WG + li;
}

@compute @workgroup_size(WG)
fn clear(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let e = entryIndex(li, wid, nwg);
  if (e >= p.updates * p.entries) { return; }
  // Entries of several updates may share a word: each stores the same 0.
  let k = kept(e);
  atomicStore(&sumE[k.at], 0u);
  atomicStore(&countE[k.at], 0u);
  for (var w = 0u; w < MASK_WORDS; w++) {
    atomicStore(&sumE[k.columns + w], 0u);
    atomicStore(&countE[k.rows + w], 0u);
  }
}

@compute @workgroup_size(WG)
fn accumulate(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let e = entryIndex(li, wid, nwg);
  if (e >= p.updates * p.entries) { return; }
  let k = kept(e);
  atomicAdd(&sumE[k.at], bitcast<u32>(signsE[e]));
  atomicAdd(&countE[k.at], 1u);
  atomicOr(&sumE[k.columns + k.v / 32u], 1u << (k.v % 32u));
  atomicOr(&countE[k.rows + k.u / 32u], 1u << (k.u % 32u));
}

// round(2^5·s/m) with ties away from zero: floor((2·|s|·2^5 + m) / (2m)) on
// non-negative integers (u32 division is exact), then the sign put back.
// 64·|s| + m ≤ 65·m < 2^31 for m < 2^24 updates (the wrapper enforces it).
fn fixedPointMean(s: i32, m: u32) -> i32 {
  if (m == 0u) { return 0; }
  let q = i32((2u * (u32(abs(s)) << VALUE_BITS) + m) / (2u * m));
  return select(q, -q, s < 0);
}

// Whether bit i of a block mask (MASK_WORDS = 2 words) is set.
fn marked(mask: vec2<u32>, i: u32) -> bool {
  return ((mask[i / 32u] >> (i % 32u)) & 1u) != 0u;
}

@compute @workgroup_size(WG)
fn prepare(
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
  // Step 1, stored now; step 9 is the next dispatch (see the top).
  let flat = t.offset + blockAt;
  for (var a = 0u; a < TILE; a++) {
    for (var c = 0u; c < WIDE; c++) {
      if (inBlock(t, tile, a, c)) {
        let i = flat + (tile.i0 + a) * t.C + tile.j0 + c;
        paramP[i] = paramP[i] * p.decay;
      }
    }
  }
  // With no updates no mask was cleared: nothing below may be read.
  if (p.updates == 0u) { return; }
  // Aq of each kept coefficient in the tile; its owner is the only writer.
  let columns = p.elements + MASK_WORDS * g;
  let colMask = vec2<u32>(bitcast<u32>(sumP[columns]), bitcast<u32>(sumP[columns + 1u]));
  let origin = t.first + blockAt;
  for (var c = 0u; c < WIDE; c++) {
    let j = tile.j0 + c;
    if (j >= t.cc || !marked(colMask, j)) { continue; }
    let rows = p.elements + t.masks + MASK_WORDS * (b * t.cc + j);
    let rowMask = vec2<u32>(countP[rows], countP[rows + 1u]);
    for (var a = 0u; a < TILE; a++) {
      let i = tile.i0 + a;
      if (i < t.cr && marked(rowMask, i)) {
        let s = origin + i * t.C + j;
        sumP[s] = fixedPointMean(sumP[s], countP[s]);
      }
    }
  }
}

// basisI at four offsets, each plus `step`.
fn basisAt(at: vec4<u32>, step: u32) -> vec4<i32> {
  return vec4<i32>(basisI[at.x + step], basisI[at.y + step], basisI[at.z + step], basisI[at.w + step]);
}

@compute @workgroup_size(WG)
fn inverse(
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
  let r = vec4<u32>(t.basisRows) + tileRows(t, tile);
  let c0 = vec4<u32>(t.basisCols) + tileCols(t, tile, 0u);
  let c1 = vec4<u32>(t.basisCols) + tileCols(t, tile, 1u);
  let c2 = vec4<u32>(t.basisCols) + tileCols(t, tile, 2u);
  let c3 = vec4<u32>(t.basisCols) + tileCols(t, tile, 3u);
  // X for the tile.
  var x: array<vec4<i32>, 16>;
  let columns = p.elements + MASK_WORDS * g;
  for (var h = 0u; h < MASK_WORDS; h++) {
    var colBits = bitcast<u32>(sumI[columns + h]);
    while (colBits != 0u) {
      let v = 32u * h + countTrailingZeros(colBits);
      colBits &= colBits - 1u;
      // T[i, v] for the tile's rows i, over the marked rows u of column v.
      var tv = vec4<i32>();
      let rows = p.elements + t.masks + MASK_WORDS * (b * t.cc + v);
      for (var hu = 0u; hu < MASK_WORDS; hu++) {
        var rowBits = countI[rows + hu];
        while (rowBits != 0u) {
          let u = 32u * hu + countTrailingZeros(rowBits);
          rowBits &= rowBits - 1u;
          tv += sumI[origin + u * t.C + v] * basisAt(r, u * t.cr);
        }
      }
      let cv = v * t.cc;
      addOuterI32(&x, tv, array<vec4<i32>, 4>(basisAt(c0, cv), basisAt(c1, cv), basisAt(c2, cv), basisAt(c3, cv)));
    }
  }
  // Step 9: p − η·sign(X); ±η is exact, so this is one correctly rounded f32 add.
  let flat = t.offset + blockAt;
  for (var a = 0u; a < TILE; a++) {
    for (var c = 0u; c < WIDE; c++) {
      let xv = sumI32(&x, a, c);
      if (inBlock(t, tile, a, c) && xv != 0) {
        let i = flat + (tile.i0 + a) * t.C + tile.j0 + c;
        paramI[i] = select(paramI[i] + p.lr, paramI[i] - p.lr, xv > 0);
      }
    }
  }
}
