// Causal multi-head attention, backward, flash style, without atomics: two
// entry points, each output element written by exactly one thread.
//
// With P_ij = exp(scale·q_i·k_j − LSE_i) recomputed from the forward's LSE and
// Δ_i = rowsum(dO_i ∘ O_i), the softmax gradient is dS_ij = P_ij·(dO_i·v_j − Δ_i)
// for j ≤ i (0 above the diagonal), and
//   dQ = scale·dS·K,   dK = scale·dSᵀ·Q,   dV = Pᵀ·dO.
//
// `dq`:   one workgroup per (query block of BR rows, head, batch), one thread
//         per query row; keys and values staged BC at a time, for the key
//         blocks at or before the query block.
// `dkdv`: one workgroup per (key block of BR rows, head, batch), one thread
//         per key row; queries, dO, LSE and Δ staged BC at a time, for the
//         query rows at or after the key block.
//
// Δ has no pass or scratch buffer of its own: each pass recomputes it from O
// and dO with the same code, in the same order, so both see identical values.
// That costs dv multiply-adds per query row per workgroup that reads the row,
// small next to the BR·(dqk+dv) work each staged row feeds.
//
// Tensor element (b, s, h, d) of q, k, v, o, dO, dq, dk, dv lives at
//   off + (b·S + s)·row + h·head + d
// with (row, head, off) per tensor in the params; contiguous [B,S,H,d] is
// (H·d, d, 0). LSE is contiguous [B,H,S]. Only BR, BC and MAX_D (the largest
// head dim the register and workgroup arrays hold) are constants.

const BR: u32 = 64u;
const BC: u32 = 16u;
const MAX_D: u32 = 64u;

// The same layout as in attention_forward.wgsl (the wrapper packs one).
struct Params {
  S: u32,
  H: u32,
  dqk: u32,
  dv: u32,
  scale: f32,
  qRow: u32, qHead: u32, qOff: u32,
  kRow: u32, kHead: u32, kOff: u32,
  vRow: u32, vHead: u32, vOff: u32,
  oRow: u32, oHead: u32, oOff: u32,
  dORow: u32, dOHead: u32, dOOff: u32,
  dqRow: u32, dqHead: u32, dqOff: u32,
  dkRow: u32, dkHead: u32, dkOff: u32,
  dvRow: u32, dvHead: u32, dvOff: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> O: array<f32>;
@group(0) @binding(5) var<storage, read> DO: array<f32>;
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
// dQ in the `dq` pass, dK in the `dkdv` pass: both are dqk wide, and sharing
// the binding keeps each pass's buffers at consecutive bindings.
@group(0) @binding(7) var<storage, read_write> GQK: array<f32>;
@group(0) @binding(8) var<storage, read_write> GV: array<f32>; // dV (`dkdv` only)

// `dq` stages keys and values, `dkdv` stages queries and their row data;
// each entry point allocates only the arrays it uses.
var<workgroup> sK: array<f32, BC * MAX_D>; // [key][d], row stride MAX_D
var<workgroup> sV: array<f32, BC * MAX_D>;
var<workgroup> sQ: array<f32, BC * MAX_D>; // [query][d]
var<workgroup> sDO: array<f32, BC * MAX_D>;
var<workgroup> sLse: array<f32, BC>;
var<workgroup> sDelta: array<f32, BC>;

// t = b·S + s is the token row.
fn qAt(t: u32, h: u32) -> u32 { return p.qOff + t * p.qRow + h * p.qHead; }
fn kAt(t: u32, h: u32) -> u32 { return p.kOff + t * p.kRow + h * p.kHead; }
fn vAt(t: u32, h: u32) -> u32 { return p.vOff + t * p.vRow + h * p.vHead; }
fn oAt(t: u32, h: u32) -> u32 { return p.oOff + t * p.oRow + h * p.oHead; }
fn dOAt(t: u32, h: u32) -> u32 { return p.dOOff + t * p.dORow + h * p.dOHead; }
fn dqAt(t: u32, h: u32) -> u32 { return p.dqOff + t * p.dqRow + h * p.dqHead; }
fn dkAt(t: u32, h: u32) -> u32 { return p.dkOff + t * p.dkRow + h * p.dkHead; }
fn dvAt(t: u32, h: u32) -> u32 { return p.dvOff + t * p.dvRow + h * p.dvHead; }

fn lseAt(b: u32, h: u32, s: u32) -> u32 { return (b * p.H + h) * p.S + s; }

// Δ = dO·O for one row; both passes call this, so they agree bit for bit.
fn rowDelta(t: u32, h: u32) -> f32 {
  let o = oAt(t, h);
  let g = dOAt(t, h);
  var acc = 0.0;
  for (var d = 0u; d < p.dv; d++) { acc = fma(DO[g + d], O[o + d], acc); }
  return acc;
}

@compute @workgroup_size(BR)
fn dq(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let h = wid.y;
  let b = wid.z;
  // Later query blocks see more keys: launch them first.
  let q0 = (nwg.x - 1u - wid.x) * BR;
  let i = q0 + li;
  let live = i < p.S;
  let tq = b * p.S + i;
  let t0 = b * p.S;

  // q is pre-scaled so that a score is a plain dot product.
  var q: array<f32, MAX_D>;
  var g: array<f32, MAX_D>; // this row of dO
  var acc: array<f32, MAX_D>;
  var lse = 0.0;
  var delta = 0.0;
  if (live) {
    let qb = qAt(tq, h);
    for (var d = 0u; d < p.dqk; d++) { q[d] = p.scale * Q[qb + d]; }
    let gb = dOAt(tq, h);
    for (var d = 0u; d < p.dv; d++) { g[d] = DO[gb + d]; }
    lse = LSE[lseAt(b, h, i)];
    delta = rowDelta(tq, h);
  }

  let kEnd = min(p.S, q0 + BR);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    let nk = min(BC, p.S - k0);
    for (var x = li; x < nk * p.dqk; x += BR) {
      let r = x / p.dqk;
      let c = x % p.dqk;
      sK[r * MAX_D + c] = K[kAt(t0 + k0 + r, h) + c];
    }
    for (var x = li; x < nk * p.dv; x += BR) {
      let r = x / p.dv;
      let c = x % p.dv;
      sV[r * MAX_D + c] = V[vAt(t0 + k0 + r, h) + c];
    }
    workgroupBarrier();

    // Row i sees the staged keys k0 … min(i, k0+nk−1).
    var cnt = 0u;
    if (live && i >= k0) { cnt = min(nk, i - k0 + 1u); }
    for (var jj = 0u; jj < cnt; jj++) {
      var sc = 0.0;
      for (var d = 0u; d < p.dqk; d++) { sc = fma(q[d], sK[jj * MAX_D + d], sc); }
      var dp = 0.0;
      for (var d = 0u; d < p.dv; d++) { dp = fma(g[d], sV[jj * MAX_D + d], dp); }
      let ds = exp(sc - lse) * (dp - delta);
      for (var d = 0u; d < p.dqk; d++) { acc[d] = fma(ds, sK[jj * MAX_D + d], acc[d]); }
    }
    workgroupBarrier();
  }

  if (live) {
    let base = dqAt(tq, h);
    for (var d = 0u; d < p.dqk; d++) { GQK[base + d] = p.scale * acc[d]; }
  }
}

@compute @workgroup_size(BR)
fn dkdv(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let h = wid.y;
  let b = wid.z;
  // Earlier key blocks are seen by more queries, and they launch first anyway.
  let k0 = wid.x * BR;
  let j = k0 + li;
  let live = j < p.S;
  let tk = b * p.S + j;
  let t0 = b * p.S;

  // k is pre-scaled so that a score is a plain dot product.
  var k: array<f32, MAX_D>;
  var v: array<f32, MAX_D>;
  var dK: array<f32, MAX_D>;
  var dV: array<f32, MAX_D>;
  if (live) {
    let kb = kAt(tk, h);
    for (var d = 0u; d < p.dqk; d++) { k[d] = p.scale * K[kb + d]; }
    let vb = vAt(tk, h);
    for (var d = 0u; d < p.dv; d++) { v[d] = V[vb + d]; }
  }

  // Query tiles start at the key block itself: no earlier query sees these keys.
  for (var qt = k0; qt < p.S; qt += BC) {
    let nq = min(BC, p.S - qt);
    for (var x = li; x < nq * p.dqk; x += BR) {
      let r = x / p.dqk;
      let c = x % p.dqk;
      sQ[r * MAX_D + c] = Q[qAt(t0 + qt + r, h) + c];
    }
    for (var x = li; x < nq * p.dv; x += BR) {
      let r = x / p.dv;
      let c = x % p.dv;
      sDO[r * MAX_D + c] = DO[dOAt(t0 + qt + r, h) + c];
    }
    for (var r = li; r < nq; r += BR) {
      sLse[r] = LSE[lseAt(b, h, qt + r)];
      sDelta[r] = rowDelta(t0 + qt + r, h);
    }
    workgroupBarrier();

    // Key j is seen by the staged queries max(j, qt) … qt+nq−1.
    var first = nq;
    if (live) { first = select(0u, j - qt, j > qt); }
    for (var ii = first; ii < nq; ii++) {
      var sc = 0.0;
      for (var d = 0u; d < p.dqk; d++) { sc = fma(sQ[ii * MAX_D + d], k[d], sc); }
      var dp = 0.0;
      for (var d = 0u; d < p.dv; d++) { dp = fma(sDO[ii * MAX_D + d], v[d], dp); }
      let pij = exp(sc - sLse[ii]);
      let ds = pij * (dp - sDelta[ii]);
      for (var d = 0u; d < p.dv; d++) { dV[d] = fma(pij, sDO[ii * MAX_D + d], dV[d]); }
      for (var d = 0u; d < p.dqk; d++) { dK[d] = fma(ds, sQ[ii * MAX_D + d], dK[d]); }
    }
    workgroupBarrier();
  }

  if (live) {
    let kb = dkAt(tk, h);
    for (var d = 0u; d < p.dqk; d++) { GQK[kb + d] = p.scale * dK[d]; }
    let vb = dvAt(tk, h);
    for (var d = 0u; d < p.dv; d++) { GV[vb + d] = dV[d]; }
  }
}
