// Causal multi-head attention, forward, in the flash style:
//   O[b,i,h,:] = Σ_{j≤i} softmax_j(scale·q_i·k_j) · v_j,   LSE[b,h,i] = log Σ_{j≤i} exp(scale·q_i·k_j)
// with q, k of width dqk and v, O of width dv (dqk ≠ dv for MLA).
//
// The forward part of a module: attention.ts puts attention.wgsl (the
// constants, params, addressing and key staging; read it first) in front.
//
// One workgroup per (query block of BR rows, head, batch). Each thread keeps
// its own running max m, sum l and O accumulator (online softmax): per key
// block it scores its keys, raises m to the new max, rescales l and the
// accumulator once by exp(m_old − m_new) and adds the block's exp(s − m)·v.
// At the end the KS partial states of a row are merged into split 0, in
// split order, which writes O = acc / l and LSE = m + log l.

// sV also holds the partial accumulators while the splits merge.
const V_ROWS: u32 = max(BC, BR);

// Starting running max: finite so that exp(m_old − m_new) never sees inf − inf
// (WGSL does not promise IEEE infinities).
const NEG_BIG: f32 = -1e30;

@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;

var<workgroup> sK: array<vec4<f32>, BC * DQK4>; // [key][d/4]
var<workgroup> sV: array<vec4<f32>, V_ROWS * DV4>; // [key][d/4], then [row][d/4] while merging
var<workgroup> sM: array<f32, BR>;
var<workgroup> sL: array<f32, BR>;

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
  let q0 = queryBlockStart(wid, nwg);
  let at = place(li, wid, q0);
  let split = at.split;

  // q is pre-scaled so that a score is a plain dot product.
  var q: array<vec4<f32>, DQK4>;
  var acc: array<vec4<f32>, DV4>;
  if (at.live) {
    let base = qAt(at.t, at.h);
    for (var c = 0u; c < DQK4; c++) { q[c] = p.scale * loadQ4(base, 4u * c); }
  }
  var m = NEG_BIG;
  var l = 0.0;

  // The last row of the block sees keys 0 … q0+BR−1 (clipped to S).
  let kEnd = min(p.S, q0 + BR);
  for (var k0 = 0u; k0 < kEnd; k0 += BC) {
    let nk = min(BC, p.S - k0);
    stageKeys(li, at.t0 + k0, nk, at.h);
    workgroupBarrier();

    // This thread takes the visible keys split, split+KS, … .
    let cnt = visibleKeys(at, k0, nk);
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
  let r = at.r;
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

  if (at.live && split == 0u) {
    let base = oAt(at.t, at.h);
    let inv = 1.0 / l;
    for (var c = 0u; c < DV4; c++) { storeO4(base, 4u * c, acc[c] * inv); }
    LSE[lseAt(at.b, at.h, at.s)] = m + log(l);
  }
}
