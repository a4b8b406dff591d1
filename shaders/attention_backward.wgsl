// Causal multi-head attention, backward, flash style, without atomics: two
// entry points, each output element written by exactly one thread.
//
// The backward part of a module: attention.ts puts attention.wgsl (the
// constants, params, addressing and key staging; read it first) in front.
//
// With P_ij = exp(scale·q_i·k_j − LSE_i) recomputed from the forward's LSE and
// Δ_i = rowsum(dO_i ∘ O_i), the softmax gradient is dS_ij = P_ij·(dO_i·v_j − Δ_i)
// for j ≤ i (0 above the diagonal), and
//   dQ = scale·dS·K,   dK = scale·dSᵀ·Q,   dV = Pᵀ·dO.
//
// `dq`:   one workgroup per (query block of BR rows, head, batch); keys and
//         values staged BC at a time, for the key blocks at or before the
//         query block.
// `dkdv`: one workgroup per (key block of BR rows, head, batch); queries, dO,
//         LSE and Δ staged BC at a time, for the query rows at or after the
//         key block.
//
// Δ has no pass or scratch buffer of its own: each pass recomputes it from O
// and dO with the same code, in the same order, so both see identical values.
// That costs dv multiply-adds per query row per workgroup that reads the row,
// small next to the BR·(dqk+dv) work each staged row feeds.

// The staging arrays also hold the partial sums while the splits merge.
const ROWS: u32 = max(BC, BR);

@group(0) @binding(4) var<storage, read> O: array<f32>;
@group(0) @binding(5) var<storage, read> DO: array<f32>;
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
// dQ in the `dq` pass, dK in the `dkdv` pass: both are dqk wide, and sharing
// the binding keeps each pass's buffers at consecutive bindings.
@group(0) @binding(7) var<storage, read_write> GQK: array<f32>;
@group(0) @binding(8) var<storage, read_write> GV: array<f32>; // dV (`dkdv` only)

// `dq` stages keys and values, `dkdv` stages queries and their row data;
// each entry point allocates only the arrays it uses.
var<workgroup> sK: array<vec4<f32>, ROWS * DQK4>; // [key][d/4]
var<workgroup> sV: array<vec4<f32>, BC * DV4>;
var<workgroup> sQ: array<vec4<f32>, ROWS * DQK4>; // [query][d/4]
var<workgroup> sDO: array<vec4<f32>, ROWS * DV4>;
var<workgroup> sLse: array<f32, BC>;
var<workgroup> sDelta: array<f32, BC>;

// Head-vector lanes d … d+3 of one row, 0 past the head dim (as loadQ4).
fn loadK4(base: u32, d: u32) -> vec4<f32> {
  var v = vec4(0.0);
  if (d < p.dqk) { v.x = K[base + d]; }
  if (d + 1u < p.dqk) { v.y = K[base + d + 1u]; }
  if (d + 2u < p.dqk) { v.z = K[base + d + 2u]; }
  if (d + 3u < p.dqk) { v.w = K[base + d + 3u]; }
  return v;
}

fn loadV4(base: u32, d: u32) -> vec4<f32> {
  var v = vec4(0.0);
  if (d < p.dv) { v.x = V[base + d]; }
  if (d + 1u < p.dv) { v.y = V[base + d + 1u]; }
  if (d + 2u < p.dv) { v.z = V[base + d + 2u]; }
  if (d + 3u < p.dv) { v.w = V[base + d + 3u]; }
  return v;
}

fn loadDO4(base: u32, d: u32) -> vec4<f32> {
  var v = vec4(0.0);
  if (d < p.dv) { v.x = DO[base + d]; }
  if (d + 1u < p.dv) { v.y = DO[base + d + 1u]; }
  if (d + 2u < p.dv) { v.z = DO[base + d + 2u]; }
  if (d + 3u < p.dv) { v.w = DO[base + d + 3u]; }
  return v;
}

fn storeGQK4(base: u32, d: u32, v: vec4<f32>) {
  if (d < p.dqk) { GQK[base + d] = v.x; }
  if (d + 1u < p.dqk) { GQK[base + d + 1u] = v.y; }
  if (d + 2u < p.dqk) { GQK[base + d + 2u] = v.z; }
  if (d + 3u < p.dqk) { GQK[base + d + 3u] = v.w; }
}

fn storeGV4(base: u32, d: u32, v: vec4<f32>) {
  if (d < p.dv) { GV[base + d] = v.x; }
  if (d + 1u < p.dv) { GV[base + d + 1u] = v.y; }
  if (d + 2u < p.dv) { GV[base + d + 2u] = v.z; }
  if (d + 3u < p.dv) { GV[base + d + 3u] = v.w; }
}

// Δ = dO·O for one row; both passes call this, so they agree bit for bit.
fn rowDelta(t: u32, h: u32) -> f32 {
  let o = oAt(t, h);
  let g = dOAt(t, h);
  var acc = 0.0;
  for (var d = 0u; d < p.dv; d++) { acc = fma(DO[g + d], O[o + d], acc); }
  return acc;
}

/**
 * Stages the queries and dO of positions s … s+n−1 (head h of batch b) into
 * sQ and sDO, [row][d/4], and their LSE and Δ into sLse and sDelta. As
 * with stageKeys, every thread must call it and a barrier must follow.
 */
fn stageQueries(li: u32, b: u32, s: u32, n: u32, h: u32) {
  let t = b * p.S + s;
  for (var x = li; x < n * DQK4 * 4u; x += THREADS) {
    let row = x / (DQK4 * 4u);
    let c = x % (DQK4 * 4u);
    var val = 0.0;
    if (c < p.dqk) { val = Q[qAt(t + row, h) + c]; }
    sQ[row * DQK4 + c / 4u][c % 4u] = val;
  }
  for (var x = li; x < n * DV4 * 4u; x += THREADS) {
    let row = x / (DV4 * 4u);
    let c = x % (DV4 * 4u);
    var val = 0.0;
    if (c < p.dv) { val = DO[dOAt(t + row, h) + c]; }
    sDO[row * DV4 + c / 4u][c % 4u] = val;
  }
  for (var row = li; row < n; row += THREADS) {
    sLse[row] = LSE[lseAt(b, h, s + row)];
    sDelta[row] = rowDelta(t + row, h);
  }
}

@compute @workgroup_size(THREADS)
fn dq(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let q0 = queryBlockStart(wid, nwg);
  let at = place(li, wid, q0);
  let split = at.split;

  // q is pre-scaled so that a score is a plain dot product.
  var q: array<vec4<f32>, DQK4>;
  var g: array<vec4<f32>, DV4>; // this row of dO
  var acc: array<vec4<f32>, DQK4>;
  var lse = 0.0;
  var delta = 0.0;
  if (at.live) {
    let qb = qAt(at.t, at.h);
    for (var c = 0u; c < DQK4; c++) { q[c] = p.scale * loadQ4(qb, 4u * c); }
    let gb = dOAt(at.t, at.h);
    for (var c = 0u; c < DV4; c++) { g[c] = loadDO4(gb, 4u * c); }
    lse = LSE[lseAt(at.b, at.h, at.s)];
    delta = rowDelta(at.t, at.h);
  }

  let kEnd = min(p.S, q0 + BR);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    let nk = min(BC, p.S - k0);
    stageKeys(li, at.t0 + k0, nk, at.h);
    workgroupBarrier();

    // This thread takes the visible keys split, split+KS, … .
    let cnt = visibleKeys(at, k0, nk);
    for (var u = 0u; u < PER_SPLIT; u++) {
      let jj = split + u * KS;
      if (jj < cnt) {
        var sc = 0.0;
        for (var c = 0u; c < DQK4; c++) { sc += dot(q[c], sK[jj * DQK4 + c]); }
        var dp = 0.0;
        for (var c = 0u; c < DV4; c++) { dp += dot(g[c], sV[jj * DV4 + c]); }
        let ds = vec4(exp(sc - lse) * (dp - delta));
        for (var c = 0u; c < DQK4; c++) { acc[c] = fma(ds, sK[jj * DQK4 + c], acc[c]); }
      }
    }
    workgroupBarrier();
  }

  // Split 0 adds splits 1 … KS−1 in order, through sK.
  let r = at.r;
  for (var t = 1u; t < KS; t++) {
    if (split == t) {
      for (var c = 0u; c < DQK4; c++) { sK[r * DQK4 + c] = acc[c]; }
    }
    workgroupBarrier();
    if (split == 0u) {
      for (var c = 0u; c < DQK4; c++) { acc[c] += sK[r * DQK4 + c]; }
    }
    workgroupBarrier();
  }

  if (at.live && split == 0u) {
    let base = dqAt(at.t, at.h);
    for (var c = 0u; c < DQK4; c++) { storeGQK4(base, 4u * c, p.scale * acc[c]); }
  }
}

@compute @workgroup_size(THREADS)
fn dkdv(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  // Earlier key blocks are seen by more queries, and they launch first anyway.
  let k0 = wid.x * BR;
  let at = place(li, wid, k0);
  let split = at.split;
  let j = at.s;

  // k is pre-scaled so that a score is a plain dot product.
  var k: array<vec4<f32>, DQK4>;
  var v: array<vec4<f32>, DV4>;
  var dK: array<vec4<f32>, DQK4>;
  var dV: array<vec4<f32>, DV4>;
  if (at.live) {
    let kb = kAt(at.t, at.h);
    for (var c = 0u; c < DQK4; c++) { k[c] = p.scale * loadK4(kb, 4u * c); }
    let vb = vAt(at.t, at.h);
    for (var c = 0u; c < DV4; c++) { v[c] = loadV4(vb, 4u * c); }
  }

  // Query tiles start at the key block itself: no earlier query sees these keys.
  for (var qt = k0; qt < p.S; qt += BC) {
    let nq = min(BC, p.S - qt);
    stageQueries(li, at.b, qt, nq, at.h);
    workgroupBarrier();

    // Key j is seen by the staged queries max(j−qt, 0) … nq−1; this thread
    // takes split, split+KS, … of them.
    var first = nq;
    if (at.live) { first = select(0u, j - qt, j > qt); }
    for (var u = 0u; u < PER_SPLIT; u++) {
      let ii = split + u * KS;
      if (ii >= first && ii < nq) {
        var sc = 0.0;
        for (var c = 0u; c < DQK4; c++) { sc += dot(sQ[ii * DQK4 + c], k[c]); }
        var dp = 0.0;
        for (var c = 0u; c < DV4; c++) { dp += dot(sDO[ii * DV4 + c], v[c]); }
        let pij = exp(sc - sLse[ii]);
        let ds = vec4(pij * (dp - sDelta[ii]));
        for (var c = 0u; c < DV4; c++) { dV[c] = fma(vec4(pij), sDO[ii * DV4 + c], dV[c]); }
        for (var c = 0u; c < DQK4; c++) { dK[c] = fma(ds, sQ[ii * DQK4 + c], dK[c]); }
      }
    }
    workgroupBarrier();
  }

  // Split 0 adds splits 1 … KS−1 in order, through sQ and sDO.
  let r = at.r;
  for (var t = 1u; t < KS; t++) {
    if (split == t) {
      for (var c = 0u; c < DQK4; c++) { sQ[r * DQK4 + c] = dK[c]; }
      for (var c = 0u; c < DV4; c++) { sDO[r * DV4 + c] = dV[c]; }
    }
    workgroupBarrier();
    if (split == 0u) {
      for (var c = 0u; c < DQK4; c++) { dK[c] += sQ[r * DQK4 + c]; }
      for (var c = 0u; c < DV4; c++) { dV[c] += sDO[r * DV4 + c]; }
    }
    workgroupBarrier();
  }

  if (at.live && split == 0u) {
    let kb = dkAt(at.t, at.h);
    for (var c = 0u; c < DQK4; c++) { storeGQK4(kb, 4u * c, p.scale * dK[c]); }
    let vb = dvAt(at.t, at.h);
    for (var c = 0u; c < DV4; c++) { storeGV4(vb, 4u * c, dV[c]); }
  }
}
