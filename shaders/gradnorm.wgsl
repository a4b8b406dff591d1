// Global gradient norm and clipping (PyTorch clip_grad_norm_ with the 2-norm)
// over one flat f32 buffer that holds every gradient tensor back to back.
//   partials  partial[j] = Σ g[i]²  over chunk j = [j·CHUNK, (j+1)·CHUNK)
//   norm      out = [norm, coef],  norm = sqrt(Σ_j partial[j]),
//             coef = min(1, maxNorm / (norm + 1e-6)), or 1 when maxNorm ≤ 0
//   clip      g[i] ← coef · g[i]   (reads coef from out; a no-op when coef = 1)
//
// The sum runs in a fixed order (per-thread sums inside a chunk, a fixed tree
// per workgroup, then the same again over the partials), so the norm has
// the same bits on every run; no atomics. The chunk index folds a 2-D grid
// (wid.y·nwg.x + wid.x) so ~100M-element buffers stay within the 65535
// workgroups a grid dimension allows. The norm and coef stay on the GPU:
// AdamW can read coef directly instead of running `clip`.
//
// Entry points bind different buffers, so a binding number means a different
// variable in different entry points (WGSL only forbids reuse within one).

const WG: u32 = 256u; // power of two: the tree reduction halves it
const PER_THREAD: u32 = 64u;
const CHUNK: u32 = WG * PER_THREAD;

struct Params {
  n: u32,        // gradient elements
  chunks: u32,   // ceil(n / CHUNK) = length of the partials
  maxNorm: f32,  // norm only; ≤ 0 means never clip
}

@group(0) @binding(0) var<uniform> p: Params;

// partials
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> partialsOut: array<f32>;

// norm
@group(0) @binding(1) var<storage, read> partialsIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> normOut: array<f32>; // [norm, coef]

// clip
@group(0) @binding(1) var<storage, read_write> gradsInPlace: array<f32>;
@group(0) @binding(2) var<storage, read> normIn: array<f32>; // [norm, coef]

var<workgroup> red: array<f32, WG>;

fn chunkIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Leaves the workgroup's sum in red[0]. Call from uniform control flow.
fn reduceWorkgroup(li: u32, value: f32) {
  red[li] = value;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (li < half) { red[li] += red[li + half]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn partials(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let chunk = chunkIndex(wid, nwg);
  if (chunk >= p.chunks) { return; } // uniform per workgroup
  let start = chunk * CHUNK;
  var s = 0.0;
  // Consecutive threads read consecutive words on every step.
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = start + k * WG + li;
    if (i < p.n) {
      let g = grads[i];
      s = fma(g, g, s);
    }
  }
  reduceWorkgroup(li, s);
  if (li == 0u) { partialsOut[chunk] = red[0]; }
}

// One workgroup sums every partial: even at 100M elements that is ~25k
// values, ~100 per thread.
@compute @workgroup_size(WG)
fn norm(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var j = li; j < p.chunks; j += WG) { s += partialsIn[j]; }
  reduceWorkgroup(li, s);
  if (li == 0u) {
    let total = sqrt(red[0]);
    var coef = 1.0;
    if (p.maxNorm > 0.0) { coef = min(1.0, p.maxNorm / (total + 1e-6)); }
    normOut[0] = total;
    normOut[1] = coef;
  }
}

@compute @workgroup_size(WG)
fn clip(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let chunk = chunkIndex(wid, nwg);
  let coef = normIn[1];
  // Not clipping is the common case late in training: skip the traffic.
  if (chunk >= p.chunks || coef >= 1.0) { return; }
  let start = chunk * CHUNK;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = start + k * WG + li;
    if (i < p.n) { gradsInPlace[i] *= coef; }
  }
}
