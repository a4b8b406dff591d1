// Register-tiled matrix product for the three layouts of a linear layer.
//   LAYOUT 0 (nt): C[M,N] = A[M,K] · B[N,K]ᵀ   forward      y  = x · Wᵀ
//   LAYOUT 1 (nn): C[M,N] = A[M,K] · B[K,N]    input grad   dx = dy · W
//   LAYOUT 2 (tn): C[M,N] = A[K,M]ᵀ · B[K,N]   weight grad  dW = dyᵀ · x
// C = alpha·(product) + beta·C, so gradients can accumulate in place.
//
// A workgroup of WG_X×WG_Y threads owns a TILE_M×TILE_N block of C; each
// thread keeps RM×RN accumulators in registers. Per step of TK along K the
// workgroup stages a TILE_M×TK slice of A and a TK×TILE_N slice of B in
// workgroup memory, stored k-major so the inner loop reads rows contiguously.
// A thread's rows are lid.y + i·WG_Y (not RM consecutive rows) so that
// neighbouring threads read neighbouring words of the staged tiles.
// Every load past the edge reads 0, so no size needs to be a tile multiple.

const LAYOUT: u32 = 0u;
const WG_X: u32 = 16u;
const WG_Y: u32 = 16u;
const RM: u32 = 4u;
const RN: u32 = 4u;
const TK: u32 = 16u;

const TILE_M: u32 = WG_Y * RM;
const TILE_N: u32 = WG_X * RN;
const THREADS: u32 = WG_X * WG_Y;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<f32, TK * TILE_M>; // [k][m]
var<workgroup> Bs: array<f32, TK * TILE_N>; // [k][n]

fn loadA(m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (LAYOUT == 2u) { return A[k * p.M + m]; }
  return A[m * p.K + k];
}

fn loadB(n: u32, k: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  if (LAYOUT == 0u) { return B[n * p.K + k]; }
  return B[k * p.N + n];
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  var acc: array<f32, RM * RN>;

  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // Stage the tiles; the index order follows the memory order of each
    // layout so that consecutive threads load consecutive addresses.
    for (var i = li; i < TK * TILE_M; i += THREADS) {
      var mm: u32; var kk: u32;
      if (LAYOUT == 2u) { kk = i / TILE_M; mm = i % TILE_M; } else { mm = i / TK; kk = i % TK; }
      As[kk * TILE_M + mm] = loadA(m0 + mm, k0 + kk);
    }
    for (var i = li; i < TK * TILE_N; i += THREADS) {
      var nn: u32; var kk: u32;
      if (LAYOUT == 0u) { nn = i / TK; kk = i % TK; } else { kk = i / TILE_N; nn = i % TILE_N; }
      Bs[kk * TILE_N + nn] = loadB(n0 + nn, k0 + kk);
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TK; kk++) {
      var a: array<f32, RM>;
      var b: array<f32, RN>;
      for (var i = 0u; i < RM; i++) { a[i] = As[kk * TILE_M + lid.y + i * WG_Y]; }
      for (var j = 0u; j < RN; j++) { b[j] = Bs[kk * TILE_N + lid.x + j * WG_X]; }
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) {
          acc[i * RN + j] = fma(a[i], b[j], acc[i * RN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < RM; i++) {
    let m = m0 + lid.y + i * WG_Y;
    if (m >= p.M) { continue; }
    for (var j = 0u; j < RN; j++) {
      let n = n0 + lid.x + j * WG_X;
      if (n >= p.N) { continue; }
      let idx = m * p.N + n;
      var v = p.alpha * acc[i * RN + j];
      if (p.beta != 0.0) { v += p.beta * C[idx]; }
      C[idx] = v;
    }
  }
}
