// DeMo apply (DESIGN.md §4 steps 1, 8, 9) for every tensor of a table at
// once, bit-exact against demoApplyExact (src/demo/integer-decode.ts). Three
// dispatches whatever the number of tensors, each one thread per element:
//
//   aggregate:   p ← p·decay                                   (step 1, f32)
//                s = Σ signs, m = updates that kept the coefficient
//                Aq = round(2^5·s/m), halves away from zero     (step 8, integers)
//   inverseRows: T[i,v] = Σ_u Br[u,i]·Aq[u,v]                   (i32)
//   apply:       X[i,j] = Σ_v T[i,v]·Bc[v,j];  p ← p − lr·sign(X)  (step 9)
//
// Everything between the decay and the final subtraction is integer, and
// integer sums do not depend on order, so any GPU, any update order, gives the
// same direction. integer-decode.ts proves no i32 here can wrap for blocks up
// to 64×64 (basis ×2^8, values ×2^5). The decay is written to memory in the
// first dispatch and the step applied in the last, so no compiler can contract
// p·decay − lr·dir into one fused multiply-add (which rounds once, not twice).
// Each thread finds its tensor in the table (shaders/demo_blocks.wgsl), so
// batching changes no bit either.
//
// Layouts (see shaders/demo_blocks.wgsl, put in front of this file by
// demo-apply.ts):
//   param:   f32, flat (a tensor at its `offset`)
//   indices: u32 [M, entries]  per update, each tensor's blocks·k at its `out`,
//                              each block's kept f strictly ascending
//   signs:   i32 [M, entries]  ±1, the kept values
//   Aq, T:   i32 [elements] each, a tensor at its `first`, tensor layout
//   basis:   i32, round(2^8 · C_n) row-major (frequency, position) at the table's offsets
// Update order only affects the order of the integer sums, so it cannot
// change any result.

const VALUE_BITS: u32 = 5u;

// aggregate
@group(0) @binding(2) var<storage, read_write> paramA: array<f32>;
@group(0) @binding(3) var<storage, read_write> meanA: array<i32>;
@group(0) @binding(4) var<storage, read> indices: array<u32>;
@group(0) @binding(5) var<storage, read> signs: array<i32>;

// inverseRows
@group(0) @binding(2) var<storage, read> meanR: array<i32>;
@group(0) @binding(3) var<storage, read_write> rowsR: array<i32>;
@group(0) @binding(4) var<storage, read> basisR: array<i32>;

// apply
@group(0) @binding(2) var<storage, read_write> paramP: array<f32>;
@group(0) @binding(3) var<storage, read> rowsP: array<i32>;
@group(0) @binding(4) var<storage, read> basisP: array<i32>;

// round(2^5·s/m) with ties away from zero: floor((2·|s|·2^5 + m) / (2m)) on
// non-negative integers (u32 division is exact), then the sign put back.
// 64·|s| + m ≤ 65·m < 2^31 for m < 2^24 updates (the wrapper enforces it).
fn fixedPointMean(s: i32, m: u32) -> i32 {
  if (m == 0u) { return 0; }
  let q = i32((2u * (u32(abs(s)) << VALUE_BITS) + m) / (2u * m));
  return select(q, -q, s < 0);
}

@compute @workgroup_size(WG)
fn aggregate(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  let at = place(g);
  let t = at.t;
  // Step 1, stored now; the step of 9 is a later dispatch (see the top).
  let i = t.offset + at.e;
  paramA[i] = paramA[i] * p.decay;

  let f = at.u * t.cc + at.v;
  var s = 0i;
  var m = 0u;
  for (var upd = 0u; upd < p.updates; upd++) {
    let base = upd * p.entries + t.out + at.block * t.k;
    // Indices ascend within a block, so the scan stops at the first larger one.
    for (var j = 0u; j < t.k; j++) {
      let idx = indices[base + j];
      if (idx >= f) {
        if (idx == f) {
          s += signs[base + j];
          m += 1u;
        }
        break;
      }
    }
  }
  meanA[g] = fixedPointMean(s, m);
}

@compute @workgroup_size(WG)
fn inverseRows(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  // Element (i, v) of block T = Brᵀ·Aq: i is this element's row in the block.
  let at = place(g);
  let t = at.t;
  let column = t.first + at.origin + at.v;
  var acc = 0i;
  for (var u = 0u; u < t.cr; u++) {
    acc += basisR[t.basisRows + u * t.cr + at.u] * meanR[column + u * t.C];
  }
  rowsR[g] = acc;
}

@compute @workgroup_size(WG)
fn apply(id: Thread) {
  let g = elementIndex(id);
  if (g >= p.elements) { return; }
  // Element (i, j) of X = T·Bc.
  let at = place(g);
  let t = at.t;
  let row = t.first + at.origin + at.u * t.C;
  var x = 0i;
  for (var v = 0u; v < t.cc; v++) {
    x += rowsP[row + v] * basisP[t.basisCols + v * t.cc + at.v];
  }
  // p − η·sign(X): ±η is exact, so this is one correctly rounded f32 add.
  let i = t.offset + at.e;
  let decayed = paramP[i];
  if (x > 0) {
    paramP[i] = decayed - p.lr;
  } else if (x < 0) {
    paramP[i] = decayed + p.lr;
  }
}
