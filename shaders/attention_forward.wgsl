// Causal multi-head attention, forward, in the flash style:
//   O[b,i,h,:] = Σ_{j≤i} softmax_j(scale·q_i·k_j) · v_j,   LSE[b,h,i] = log Σ_{j≤i} exp(scale·q_i·k_j)
// with q, k of width dqk and v, O of width dv (dqk ≠ dv for MLA).
//
// One workgroup per (query block of BR rows, head, batch); one thread per
// query row, holding its q row and its O accumulator in registers. Keys and
// values are staged BC at a time in workgroup memory (every thread then reads
// the same staged word, a broadcast). Each row keeps a running max m and sum l
// (online softmax): per key block it scores its visible keys, raises m to the
// block max, rescales l and the accumulator once by exp(m_old − m_new), and
// adds the block's exp(s − m)·v. O = acc / l and LSE = m + log l at the end.
//
// Tensor element (b, s, h, d) of q, k, v, o lives at
//   off + (b·S + s)·row + h·head + d
// with (row, head, off) per tensor in the params, so a tensor may be a strided
// sub-block of a wider one; contiguous [B,S,H,d] is (H·d, d, 0). LSE is always
// contiguous [B,H,S]. Shapes come from the params; only BR, BC and MAX_D (the
// largest head dim the register and workgroup arrays hold) are constants.

const BR: u32 = 64u;
const BC: u32 = 16u;
const MAX_D: u32 = 64u;

// Starting running max: finite so that exp(m_old − m_new) never sees inf − inf
// (WGSL does not promise IEEE infinities). Every live row scores key 0 in its
// first block, so this value never survives into m.
const NEG_BIG: f32 = -1e30;

// Shared by attention_forward.wgsl and attention_backward.wgsl (the wrapper
// packs one layout); the forward reads only the q, k, v, o views.
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
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;

var<workgroup> sK: array<f32, BC * MAX_D>; // [key][d], row stride MAX_D
var<workgroup> sV: array<f32, BC * MAX_D>;

// t = b·S + s is the token row.
fn qAt(t: u32, h: u32) -> u32 { return p.qOff + t * p.qRow + h * p.qHead; }
fn kAt(t: u32, h: u32) -> u32 { return p.kOff + t * p.kRow + h * p.kHead; }
fn vAt(t: u32, h: u32) -> u32 { return p.vOff + t * p.vRow + h * p.vHead; }
fn oAt(t: u32, h: u32) -> u32 { return p.oOff + t * p.oRow + h * p.oHead; }

@compute @workgroup_size(BR)
fn main(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let h = wid.y;
  let b = wid.z;
  // Causal work grows with the query block, so the first workgroups launched
  // take the last blocks: the long ones start early and the tail is short.
  let q0 = (nwg.x - 1u - wid.x) * BR;
  let i = q0 + li;
  let live = i < p.S;
  let tq = b * p.S + i;
  let t0 = b * p.S;

  // q is pre-scaled so that a score is a plain dot product.
  var q: array<f32, MAX_D>;
  var acc: array<f32, MAX_D>;
  if (live) {
    let base = qAt(tq, h);
    for (var d = 0u; d < p.dqk; d++) { q[d] = p.scale * Q[base + d]; }
  }
  var m = NEG_BIG;
  var l = 0.0;

  // The last row of the block sees keys 0 … q0+BR−1 (clipped to S).
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

    // Row i sees the staged keys k0 … min(i, k0+nk−1): a prefix of the block.
    var cnt = 0u;
    if (live && i >= k0) { cnt = min(nk, i - k0 + 1u); }
    if (cnt > 0u) {
      var s: array<f32, BC>;
      var mNew = m;
      for (var jj = 0u; jj < cnt; jj++) {
        var sc = 0.0;
        for (var d = 0u; d < p.dqk; d++) { sc = fma(q[d], sK[jj * MAX_D + d], sc); }
        s[jj] = sc;
        mNew = max(mNew, sc);
      }
      let corr = exp(m - mNew);
      l *= corr;
      for (var d = 0u; d < p.dv; d++) { acc[d] *= corr; }
      for (var jj = 0u; jj < cnt; jj++) {
        let pj = exp(s[jj] - mNew);
        l += pj;
        for (var d = 0u; d < p.dv; d++) { acc[d] = fma(pj, sV[jj * MAX_D + d], acc[d]); }
      }
      m = mNew;
    }
    workgroupBarrier();
  }

  if (live) {
    let base = oAt(tq, h);
    let inv = 1.0 / l;
    for (var d = 0u; d < p.dv; d++) { O[base + d] = acc[d] * inv; }
    LSE[(b * p.H + h) * p.S + i] = m + log(l);
  }
}
