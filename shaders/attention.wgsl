// Causal multi-head attention, flash style: the part shared by the forward
// (attention_forward.wgsl) and the backward (attention_backward.wgsl).
//
// This file is not a module by itself: attention.ts puts it in front of one of
// those two parts, which declare the remaining bindings (from 4 on) and the
// workgroup arrays, among them sK and sV, which stageKeys below fills.
//
// A workgroup owns a block of BR rows (query rows in the forward and the dQ
// pass, key rows in the dK/dV pass) of one (head, batch). Each row has KS
// threads ("splits"); split t takes the staged rows of the other operand t,
// t+KS, t+2·KS, …, which are staged BC at a time in workgroup memory, so the
// threads of one split read the same staged word at once (a broadcast). Each
// split keeps its own partial state, which split 0 merges in split order at
// the end (deterministic) and writes.
//
// Head vectors are held as vec4: DQK4 = ceil(dqk/4) and DV4 = ceil(dv/4) are
// template constants so that the compute loops have constant bounds and the
// per-thread arrays stay in registers. Loads and stores use dqk and dv from the
// params; staged and loaded lanes past dqk (dv) are zero, so the padded lanes
// add nothing. The wrapper specializes DQK4/DV4 per head size.
//
// Tensor element (b, s, h, d) of q, k, v, o, dO, dq, dk, dv lives at
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
// Staged rows one thread takes per block.
const PER_SPLIT: u32 = (BC + KS - 1u) / KS;

// One layout for both passes (the wrapper packs one); the forward reads only
// the q, k, v, o views.
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

/**
 * Where a thread works: split `split` of row r of its workgroup's block,
 * which starts at sequence position s0 of head h, batch b. The row is
 * position s (live when s < S), token row t; t0 = b·S is the batch's first.
 */
struct Place {
  h: u32,
  b: u32,
  r: u32,
  split: u32,
  s: u32,
  live: bool,
  t: u32,
  t0: u32,
}

fn place(li: u32, wid: vec3<u32>, s0: u32) -> Place {
  let r = li % BR;
  let t0 = wid.z * p.S;
  return Place(wid.y, wid.z, r, li / BR, s0 + r, s0 + r < p.S, t0 + s0 + r, t0);
}

/**
 * First position of the query block of workgroup wid.x. Causal work grows
 * with the query block, so the first workgroups launched take the last
 * blocks: the long ones start early and the tail is short.
 */
fn queryBlockStart(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (nwg.x - 1u - wid.x) * BR;
}

// Head-vector lanes d … d+3 of one row, 0 past dqk. Whole vec4s keep the
// register arrays indexed by loop constants only.
fn loadQ4(base: u32, d: u32) -> vec4<f32> {
  var v = vec4(0.0);
  if (d < p.dqk) { v.x = Q[base + d]; }
  if (d + 1u < p.dqk) { v.y = Q[base + d + 1u]; }
  if (d + 2u < p.dqk) { v.z = Q[base + d + 2u]; }
  if (d + 3u < p.dqk) { v.w = Q[base + d + 3u]; }
  return v;
}

/**
 * Stages keys and values of token rows t … t+n−1 (head h) into sK and sV,
 * [row][d/4]. Consecutive threads load consecutive words of a head row;
 * lanes past the head dim are staged as 0. Every thread of the workgroup
 * takes a share, so all must call it, and a barrier must follow before the
 * staged rows are read.
 */
fn stageKeys(li: u32, t: u32, n: u32, h: u32) {
  for (var x = li; x < n * DQK4 * 4u; x += THREADS) {
    let row = x / (DQK4 * 4u);
    let c = x % (DQK4 * 4u);
    var val = 0.0;
    if (c < p.dqk) { val = K[kAt(t + row, h) + c]; }
    sK[row * DQK4 + c / 4u][c % 4u] = val;
  }
  for (var x = li; x < n * DV4 * 4u; x += THREADS) {
    let row = x / (DV4 * 4u);
    let c = x % (DV4 * 4u);
    var val = 0.0;
    if (c < p.dv) { val = V[vAt(t + row, h) + c]; }
    sV[row * DV4 + c / 4u][c % 4u] = val;
  }
}

/**
 * How many of the nk keys staged from position k0 the query row of `at`
 * sees: keys k0 … min(s, k0+nk−1), a prefix of the block (0 for a dead row).
 */
fn visibleKeys(at: Place, k0: u32, nk: u32) -> u32 {
  if (!at.live || at.s < k0) { return 0u; }
  return min(nk, at.s - k0 + 1u);
}
