// Random-sign sketch of a flat f32 gradient buffer: a verifier recomputes a
// sequence's gradient and compares its sketch with the author's.
//   out[r] = Σ_{i < n} σ_r(i) · g[i],  r < ROWS,
//   σ_r(i) = −1 if bit r of h(seed, i) is 1, else +1,
//   h(seed, i) = lowbias32(i ^ (seed · 0x9e3779b9))   (u32, wrapping)
// Multiplying by the odd golden-ratio constant spreads nearby seeds over all
// 32 bits before the xor; lowbias32 (Wellons) is a bijection whose every
// output bit depends on every input bit, so each bit r is an (almost)
// independent fair coin per index. The TypeScript twin is sketchHash in
// src/kernels/sketch/grad-sketch.ts; keep them in step.
//
//   partials  partial[j·ROWS + r] = Σ σ_r(i) · g[i]  over chunk j = [j·CHUNK, (j+1)·CHUNK)
//   total     out[outOffset + r]  = Σ_j partial[j·ROWS + r]
// Both sums run in a fixed order (per-thread sums, a fixed barrier tree per
// workgroup), so a sketch has the same bits on every run of one device; no
// atomics. `total` writes only its ROWS words, so several sketches can share
// one output buffer. The chunk index folds a 2-D grid (wid.y·nwg.x + wid.x),
// as in gradnorm.wgsl.
//
// Entry points bind different buffers, so a binding number means a different
// variable in different entry points (WGSL only forbids reuse within one).

const WG: u32 = 256u; // power of two: the tree reduction halves it
const PER_THREAD: u32 = 64u;
const ROWS: u32 = 4u; // ≤ 32 (bits of the hash) and ≤ WG (one thread writes each row)
const CHUNK: u32 = WG * PER_THREAD;

struct Params {
  n: u32,         // elements to sketch
  chunks: u32,    // ceil(n / CHUNK)
  seed: u32,
  outOffset: u32, // f32 words into the output buffer
}

@group(0) @binding(0) var<uniform> cfg: Params;

// partials
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> partialsOut: array<f32>; // [chunks, ROWS]

// total
@group(0) @binding(1) var<storage, read> partialsIn: array<f32>; // [chunks, ROWS]
@group(0) @binding(2) var<storage, read_write> sketchOut: array<f32>;

// Row-major, red[r·WG + li]: each row's tree reads consecutive words.
var<workgroup> red: array<f32, WG * ROWS>;

fn lowbias32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn chunkIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Sums red's rows over the workgroup, leaving row r's sum in red[r·WG].
// Each thread has stored its own values first. Uniform control flow only.
fn reduceRows(li: u32) {
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (li < half) {
      for (var r = 0u; r < ROWS; r++) { red[r * WG + li] += red[r * WG + li + half]; }
    }
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
  if (chunk >= cfg.chunks) { return; } // uniform per workgroup
  let key = cfg.seed * 0x9e3779b9u;
  let start = chunk * CHUNK;
  var s: array<f32, ROWS>;
  // Consecutive threads read consecutive words on every step.
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = start + k * WG + li;
    if (i < cfg.n) {
      let g = grads[i];
      let h = lowbias32(i ^ key);
      for (var r = 0u; r < ROWS; r++) {
        s[r] += select(g, -g, ((h >> r) & 1u) != 0u);
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) { red[r * WG + li] = s[r]; }
  reduceRows(li);
  if (li < ROWS) { partialsOut[chunk * ROWS + li] = red[li * WG]; }
}

// One workgroup sums every chunk's partials: at 100M elements that is ~6k
// chunks, ~24 per thread.
@compute @workgroup_size(WG)
fn total(@builtin(local_invocation_index) li: u32) {
  var s: array<f32, ROWS>;
  for (var j = li; j < cfg.chunks; j += WG) {
    for (var r = 0u; r < ROWS; r++) { s[r] += partialsIn[j * ROWS + r]; }
  }
  for (var r = 0u; r < ROWS; r++) { red[r * WG + li] = s[r]; }
  reduceRows(li);
  if (li < ROWS) { sketchOut[cfg.outOffset + li] = red[li * WG]; }
}
