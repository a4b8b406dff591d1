// DeMo apply (DESIGN.md §4 steps 1, 8, 9) for one parameter tensor, bit-exact
// against demoApplyExact (src/demo/integer-decode.ts). Three dispatches, each
// one thread per tensor element:
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
//
// Layouts (blocks and f as in shaders/demo_blocks.wgsl, put in front of this
// file by demo-apply.ts):
//   indices: u32 [M, blockCount, k]  each block's kept f, strictly ascending
//   signs:   i32 [M, blockCount, k]  ±1, the kept values
//   scratch: i32 [2·n]               Aq in tensor layout, then T in tensor layout
//   basis:   i32 [c, c]              round(2^8 · C_c), row-major (frequency, position)
// Update order only affects the order of the integer sums, so it cannot
// change any result.

const VALUE_BITS: u32 = 5u;

// aggregate
@group(0) @binding(1) var<storage, read_write> paramA: array<f32>;
@group(0) @binding(2) var<storage, read_write> scratchA: array<i32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;
@group(0) @binding(4) var<storage, read> signs: array<i32>;

// inverseRows
@group(0) @binding(1) var<storage, read_write> scratchR: array<i32>;
@group(0) @binding(2) var<storage, read> basisR: array<i32>;

// apply
@group(0) @binding(1) var<storage, read_write> paramP: array<f32>;
@group(0) @binding(2) var<storage, read> scratchP: array<i32>;
@group(0) @binding(3) var<storage, read> basisC: array<i32>;

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
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  // Step 1, stored now; the step of 9 is a later dispatch (see the top).
  paramA[e] = paramA[e] * p.decay;

  let at = place(e);
  let f = at.u * p.cc + at.v;
  var s = 0i;
  var m = 0u;
  for (var upd = 0u; upd < p.updates; upd++) {
    let base = (upd * p.blockCount + at.block) * p.k;
    // Indices ascend within a block, so the scan stops at the first larger one.
    for (var t = 0u; t < p.k; t++) {
      let idx = indices[base + t];
      if (idx >= f) {
        if (idx == f) {
          s += signs[base + t];
          m += 1u;
        }
        break;
      }
    }
  }
  scratchA[e] = fixedPointMean(s, m);
}

@compute @workgroup_size(WG)
fn inverseRows(id: Thread) {
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  // Element (i, v) of block T = Brᵀ·Aq: i is this element's row in the block.
  let at = place(e);
  var acc = 0i;
  for (var u = 0u; u < p.cr; u++) {
    acc += basisR[u * p.cr + at.u] * scratchR[at.origin + u * p.C + at.v];
  }
  scratchR[p.n + e] = acc;
}

@compute @workgroup_size(WG)
fn apply(id: Thread) {
  let e = elementIndex(id);
  if (e >= p.n) { return; }
  // Element (i, j) of X = T·Bc.
  let at = place(e);
  let row = p.n + at.origin + at.u * p.C;
  var x = 0i;
  for (var v = 0u; v < p.cc; v++) {
    x += scratchP[row + v] * basisC[v * p.cc + at.v];
  }
  // p − η·sign(X): ±η is exact, so this is one correctly rounded f32 add.
  let decayed = paramP[e];
  if (x > 0) {
    paramP[e] = decayed - p.lr;
  } else if (x < 0) {
    paramP[e] = decayed + p.lr;
  }
}
