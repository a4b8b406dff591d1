// The general variant of matmul.wgsl (read that first; matmul.ts puts this
// part in front of it): any M, N, K, every global access a scalar with its
// own bounds check, so a load past an edge reads 0.

alias Elem = f32;

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

// The index order follows the memory order of each layout, so that
// consecutive threads load consecutive addresses.
fn stageA(m0: u32, k0: u32, li: u32) {
  for (var i = li; i < TK * TILE_M; i += THREADS) {
    var mm: u32;
    var kk: u32;
    if (LAYOUT == 2u) { kk = i / TILE_M; mm = i % TILE_M; } else { mm = i / TK; kk = i % TK; }
    As[kk * TM4 + mm / 4u][mm % 4u] = loadA(m0 + mm, k0 + kk);
  }
}

fn stageB(n0: u32, k0: u32, li: u32) {
  for (var i = li; i < TK * TILE_N; i += THREADS) {
    var nn: u32;
    var kk: u32;
    if (LAYOUT == 0u) { nn = i / TK; kk = i % TK; } else { kk = i / TILE_N; nn = i % TILE_N; }
    Bs[kk * TN4 + nn / 4u][nn % 4u] = loadB(n0 + nn, k0 + kk);
  }
}

/** Row m, columns n … n+3 of C, each column past N skipped. */
fn storeRow(m: u32, n: u32, acc: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= p.N) { return; }
    let idx = m * p.N + n + j;
    var v = p.alpha * acc[j];
    if (p.beta != 0.0) { v += p.beta * C[idx]; }
    C[idx] = v;
  }
}
