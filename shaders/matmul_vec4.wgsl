// The vec4 variant of matmul.wgsl (read that first; matmul.ts puts this part
// in front of it): A, B and C are read and written as vec4<f32>.
//   LAYOUT 0 (nt): C[M,N] = A[M,K] · B[N,K]ᵀ   needs K % 4 == 0 and N % 4 == 0
//   LAYOUT 1 (nn): C[M,N] = A[M,K] · B[K,N]    needs K % 4 == 0 and N % 4 == 0
//   LAYOUT 2 (tn): C[M,N] = A[K,M]ᵀ · B[K,N]   needs M % 4 == 0 and N % 4 == 0
// (the wrapper checks; binding offsets are multiples of 256 bytes, so every
// vec4 is 16-byte aligned). A vec4 along a dimension that is a multiple of 4
// lies wholly inside or wholly outside the matrix, so a vec4 load past an
// edge reads 0; the remaining size (M in nt and nn, K in tn) may be anything.

alias Elem = vec4<f32>;

const TK4: u32 = TK / 4u;

/**
 * Stores a matrix whose rows run along k (vec4 `v` holds k4·4 … k4·4+3 of
 * row `r`) transposed into the k-major tile As (TM4 vec4s per k; Bs and TN4
 * below). Only the nt and nn A tile and the nt B tile need it: four scalar
 * stores per vec4.
 */
fn stageTransposedA(r: u32, k4: u32, v: vec4<f32>) {
  let i = k4 * 4u * TM4 + r / 4u;
  let c = r % 4u;
  As[i][c] = v.x;
  As[i + TM4][c] = v.y;
  As[i + 2u * TM4][c] = v.z;
  As[i + 3u * TM4][c] = v.w;
}

fn stageTransposedB(r: u32, k4: u32, v: vec4<f32>) {
  let i = k4 * 4u * TN4 + r / 4u;
  let c = r % 4u;
  Bs[i][c] = v.x;
  Bs[i + TN4][c] = v.y;
  Bs[i + 2u * TN4][c] = v.z;
  Bs[i + 3u * TN4][c] = v.w;
}

// Consecutive threads load consecutive vec4s of global memory in each layout.
fn stageA(m0: u32, k0: u32, li: u32) {
  if (LAYOUT == 2u) {
    let M4 = p.M / 4u;
    for (var i = li; i < TK * TM4; i += THREADS) {
      let k = k0 + i / TM4;
      let m4 = m0 / 4u + i % TM4;
      var v = vec4<f32>(0.0);
      if (k < p.K && m4 < M4) { v = A[k * M4 + m4]; }
      As[i] = v;
    }
  } else {
    let K4 = p.K / 4u;
    for (var i = li; i < TILE_M * TK4; i += THREADS) {
      let mm = i / TK4;
      let kk4 = i % TK4;
      let m = m0 + mm;
      let k4 = k0 / 4u + kk4;
      var v = vec4<f32>(0.0);
      if (m < p.M && k4 < K4) { v = A[m * K4 + k4]; }
      stageTransposedA(mm, kk4, v);
    }
  }
}

fn stageB(n0: u32, k0: u32, li: u32) {
  if (LAYOUT == 0u) {
    let K4 = p.K / 4u;
    for (var i = li; i < TILE_N * TK4; i += THREADS) {
      let nn = i / TK4;
      let kk4 = i % TK4;
      let n = n0 + nn;
      let k4 = k0 / 4u + kk4;
      var v = vec4<f32>(0.0);
      if (n < p.N && k4 < K4) { v = B[n * K4 + k4]; }
      stageTransposedB(nn, kk4, v);
    }
  } else {
    let N4 = p.N / 4u;
    for (var i = li; i < TK * TN4; i += THREADS) {
      let k = k0 + i / TN4;
      let n4 = n0 / 4u + i % TN4;
      var v = vec4<f32>(0.0);
      if (k < p.K && n4 < N4) { v = B[k * N4 + n4]; }
      Bs[i] = v;
    }
  }
}

/** Row m, columns n … n+3 of C (n is a multiple of 4, and so is N). */
fn storeRow(m: u32, n: u32, acc: vec4<f32>) {
  if (m >= p.M) { return; }
  let idx = m * (p.N / 4u) + n / 4u;
  var v = p.alpha * acc;
  if (p.beta != 0.0) { v += p.beta * C[idx]; }
  C[idx] = v;
}
