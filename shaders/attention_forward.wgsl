// Causal multi-head attention, forward, in the flash style:
//   O[b,i,h,:] = Σ_{j≤i} softmax_j(scale·q_i·k_j) · v_j,   LSE[b,h,i] = log Σ_{j≤i} exp(scale·q_i·k_j)
// with q, k of width dqk and v, O of width dv (dqk ≠ dv for MLA).
//
// One workgroup per (query block of BR rows, head, batch). Each query row has
// KS threads ("splits"); split t takes the staged keys t, t+KS, t+2·KS, … so
// that a row's work is spread over KS threads. Keys and values are staged BC
// at a time in workgroup memory; the threads of one split read the same staged
// word at once (a broadcast). Each thread keeps its own running max m, sum l
// and O accumulator (online softmax): per key block it scores its keys, raises
// m to the new max, rescales l and the accumulator once by exp(m_old − m_new)
// and adds the block's exp(s − m)·v. At the end the KS partial states of a row
// are merged into split 0, in split order (deterministic), which writes
// O = acc / l and LSE = m + log l.
//
// Head vectors are held as vec4: DQK4 = ceil(dqk/4) and DV4 = ceil(dv/4) are
// template constants so that the compute loops have constant bounds and the
// per-thread arrays stay in registers. Loads and stores use dqk and dv from the
// params; staged columns past dqk (dv) are zero, so the padded lanes add
// nothing. The wrapper specializes DQK4/DV4 per head size.
//
// Tensor element (b, s, h, d) of q, k, v, o lives at
//   off + (b·S + s)·row + h·head + d
// with (row, head, off) per tensor in the params, so a tensor may be a strided
// sub-block of a wider one; contiguous [B,S,H,d] is (H·d, d, 0). LSE is always
// contiguous [B,H,S].

const BR: u32 = 32u;
const KS: u32 = 4u;
const BC: u32 = 32u;
const DQK4: u32 = 16u;
const DV4: u32 = 16u;

const THREADS: u32 = BR * KS;
// Keys one thread scores per staged block.
const PER_SPLIT: u32 = (BC + KS - 1u) / KS;
// sV also holds the partial accumulators while the splits merge.
const V_ROWS: u32 = max(BC, BR);

// Starting running max: finite so that exp(m_old − m_new) never sees inf − inf
// (WGSL does not promise IEEE infinities).
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

var<workgroup> sK: array<vec4<f32>, BC * DQK4>; // [key][d/4]
var<workgroup> sV: array<vec4<f32>, V_ROWS * DV4>; // [key][d/4], then [row][d/4] while merging
var<workgroup> sM: array<f32, BR>;
var<workgroup> sL: array<f32, BR>;

// t = b·S + s is the token row.
fn qAt(t: u32, h: u32) -> u32 { return p.qOff + t * p.qRow + h * p.qHead; }
fn kAt(t: u32, h: u32) -> u32 { return p.kOff + t * p.kRow + h * p.kHead; }
fn vAt(t: u32, h: u32) -> u32 { return p.vOff + t * p.vRow + h * p.vHead; }
fn oAt(t: u32, h: u32) -> u32 { return p.oOff + t * p.oRow + h * p.oHead; }

// Head-vector lanes d … d+3, 0 past dqk. Whole vec4s keep the register
// arrays indexed by loop constants only.
fn loadQ4(base: u32, d: u32) -> vec4<f32> {
  var v = vec4(0.0);
  if (d < p.dqk) { v.x = Q[base + d]; }
  if (d + 1u < p.dqk) { v.y = Q[base + d + 1u]; }
  if (d + 2u < p.dqk) { v.z = Q[base + d + 2u]; }
  if (d + 3u < p.dqk) { v.w = Q[base + d + 3u]; }
  return v;
}

fn storeO4(base: u32, d: u32, v: vec4<f32>) {
  if (d < p.dv) { O[base + d] = v.x; }
  if (d + 1u < p.dv) { O[base + d + 1u] = v.y; }
  if (d + 2u < p.dv) { O[base + d + 2u] = v.z; }
  if (d + 3u < p.dv) { O[base + d + 3u] = v.w; }
}

@compute @workgroup_size(THREADS)
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
  let r = li % BR;
  let split = li / BR;
  let i = q0 + r;
  let live = i < p.S;
  let tq = b * p.S + i;
  let t0 = b * p.S;

  // q is pre-scaled so that a score is a plain dot product.
  var q: array<vec4<f32>, DQK4>;
  var acc: array<vec4<f32>, DV4>;
  if (live) {
    let base = qAt(tq, h);
    for (var c = 0u; c < DQK4; c++) { q[c] = p.scale * loadQ4(base, 4u * c); }
  }
  var m = NEG_BIG;
  var l = 0.0;

  // The last row of the block sees keys 0 … q0+BR−1 (clipped to S).
  let kEnd = min(p.S, q0 + BR);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    let nk = min(BC, p.S - k0);
    // Consecutive threads load consecutive words of a head row; lanes past the
    // head dim are staged as 0.
    for (var x = li; x < nk * DQK4 * 4u; x += THREADS) {
      let row = x / (DQK4 * 4u);
      let c = x % (DQK4 * 4u);
      var val = 0.0;
      if (c < p.dqk) { val = K[kAt(t0 + k0 + row, h) + c]; }
      sK[row * DQK4 + c / 4u][c % 4u] = val;
    }
    for (var x = li; x < nk * DV4 * 4u; x += THREADS) {
      let row = x / (DV4 * 4u);
      let c = x % (DV4 * 4u);
      var val = 0.0;
      if (c < p.dv) { val = V[vAt(t0 + k0 + row, h) + c]; }
      sV[row * DV4 + c / 4u][c % 4u] = val;
    }
    workgroupBarrier();

    // Row i sees the staged keys 0 … min(i−k0, nk−1): a prefix of the block;
    // this thread takes split, split+KS, … of them.
    var cnt = 0u;
    if (live && i >= k0) { cnt = min(nk, i - k0 + 1u); }
    // Constant trip counts (guarded) keep s[] indexable by constants, i.e. in registers.
    if (split < cnt) {
      var s: array<f32, PER_SPLIT>;
      var mNew = m;
      for (var u = 0u; u < PER_SPLIT; u++) {
        let jj = split + u * KS;
        if (jj < cnt) {
          var sc = 0.0;
          for (var c = 0u; c < DQK4; c++) { sc += dot(q[c], sK[jj * DQK4 + c]); }
          s[u] = sc;
          mNew = max(mNew, sc);
        }
      }
      let corr = exp(m - mNew);
      l *= corr;
      for (var c = 0u; c < DV4; c++) { acc[c] *= corr; }
      for (var u = 0u; u < PER_SPLIT; u++) {
        let jj = split + u * KS;
        if (jj < cnt) {
          let pj = exp(s[u] - mNew);
          l += pj;
          for (var c = 0u; c < DV4; c++) { acc[c] = fma(vec4(pj), sV[jj * DV4 + c], acc[c]); }
        }
      }
      m = mNew;
    }
    workgroupBarrier();
  }

  // Merge split t into split 0, for t = 1 … KS−1 in order. A split that saw
  // no key has l = 0 and acc = 0 and adds nothing.
  for (var t = 1u; t < KS; t++) {
    if (split == t) {
      sM[r] = m;
      sL[r] = l;
      for (var c = 0u; c < DV4; c++) { sV[r * DV4 + c] = acc[c]; }
    }
    workgroupBarrier();
    if (split == 0u) {
      let mo = sM[r];
      let mNew = max(m, mo);
      let a = exp(m - mNew);
      let e = exp(mo - mNew);
      l = l * a + sL[r] * e;
      for (var c = 0u; c < DV4; c++) { acc[c] = acc[c] * a + sV[r * DV4 + c] * e; }
      m = mNew;
    }
    workgroupBarrier();
  }

  if (live && split == 0u) {
    let base = oAt(tq, h);
    let inv = 1.0 / l;
    for (var c = 0u; c < DV4; c++) { storeO4(base, 4u * c, acc[c] * inv); }
    LSE[(b * p.H + h) * p.S + i] = m + log(l);
  }
}
