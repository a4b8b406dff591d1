// Parameter checksum (docs/design.md §4: every client reports one each round, and
// a client that disagrees with the majority resyncs). 64 bits over a flat f32
// buffer, computed on its bit patterns with u32 arithmetic only, so every GPU
// gives the same bits for the same input:
//   partials  partial[2j]   = Σ mixA(bits[i], i)  (mod 2³²)  over chunk j
//             partial[2j+1] = ⊕ mixB(bits[i], i)             over chunk j
//   finish    out = [fmix32(ΣA ⊕ keyA(n)), lowbias32(⊕B ⊕ keyB(n))]
// mixA/mixB hash the value together with its index, so moving a value
// changes the result; for a fixed index each is a bijection of the bits, so
// changing any single element always changes both words. + and ⊕ are exact,
// associative and commutative mod 2³², so the result does not depend on the
// reduction order at all (the order here is fixed anyway); no atomics, no
// float math. The buffer is read as array<u32>: no float load that a
// compiler could canonicalize (NaN payloads, −0, subnormals stay distinct).
// The CPU twin is src/kernels/checksum/checksum-cpu.ts; keep them in step.
//
// Entry points bind different buffers, so a binding number means a different
// variable in different entry points (WGSL only forbids reuse within one).

const WG: u32 = 256u; // power of two: the tree reduction halves it
const PER_THREAD: u32 = 64u;
const CHUNK: u32 = WG * PER_THREAD;

struct Params {
  n: u32,       // elements (f32 words) to hash
  chunks: u32,  // ceil(n / CHUNK) = number of partial pairs
}

@group(0) @binding(0) var<uniform> p: Params;

// partials
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> partialsOut: array<u32>;

// finish
@group(0) @binding(1) var<storage, read> partialsIn: array<u32>;
@group(0) @binding(2) var<storage, read_write> checksumOut: array<u32>; // [lane A, lane B]

var<workgroup> redA: array<u32, WG>;
var<workgroup> redB: array<u32, WG>;

// MurmurHash3's 32-bit finalizer: a bijection of u32.
fn fmix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

// Wellons' "lowbias32": a different bijection, so the lanes are independent.
fn lowbias32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// Per-index keys: Weyl sequences (odd multiplier), distinct for every index.
fn mixA(bits: u32, i: u32) -> u32 {
  return fmix32(bits ^ (i * 0x9e3779b9u + 0x632be5abu));
}

fn mixB(bits: u32, i: u32) -> u32 {
  return lowbias32(bits ^ (i * 0x85ebca77u + 0x27d4eb2fu));
}

fn chunkIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Leaves the workgroup's sum in redA[0] and xor in redB[0]. Uniform control flow only.
fn reduceWorkgroup(li: u32, a: u32, b: u32) {
  redA[li] = a;
  redB[li] = b;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (li < half) {
      redA[li] += redA[li + half];
      redB[li] ^= redB[li + half];
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
  if (chunk >= p.chunks) { return; } // uniform per workgroup
  let start = chunk * CHUNK;
  var a = 0u;
  var b = 0u;
  // Consecutive threads read consecutive words on every step.
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = start + k * WG + li;
    if (i < p.n) {
      let bits = data[i];
      a += mixA(bits, i);
      b ^= mixB(bits, i);
    }
  }
  reduceWorkgroup(li, a, b);
  if (li == 0u) {
    partialsOut[2u * chunk] = redA[0];
    partialsOut[2u * chunk + 1u] = redB[0];
  }
}

// One workgroup combines every partial pair (~1.7k pairs at 28M parameters),
// then folds in n so that buffers of different lengths differ.
@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) li: u32) {
  var a = 0u;
  var b = 0u;
  for (var j = li; j < p.chunks; j += WG) {
    a += partialsIn[2u * j];
    b ^= partialsIn[2u * j + 1u];
  }
  reduceWorkgroup(li, a, b);
  if (li == 0u) {
    checksumOut[0] = fmix32(redA[0] ^ (p.n * 0xc2b2ae35u + 0x165667b1u));
    checksumOut[1] = lowbias32(redB[0] ^ (p.n * 0xcc9e2d51u + 0x1b873593u));
  }
}
