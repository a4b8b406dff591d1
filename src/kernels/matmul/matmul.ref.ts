/**
 * float64 references for the three matmul layouts of a linear layer
 * y = a·Wᵀ with W stored [out, in] as in PyTorch.
 */
import { expectDim, expectLength } from '../testing/shape';

/** y[M,N] = a[M,K] · w[N,K]ᵀ (linear forward). */
export function matmulNT(a: Float64Array, w: Float64Array, M: number, K: number, N: number): Float64Array {
  checkDims('matmulNT', M, K, N);
  expectLength('matmulNT', 'a', a, M * K);
  expectLength('matmulNT', 'w', w, N * K);
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

/** dx[M,K] = dy[M,N] · w[N,K] (linear input grad). */
export function matmulNN(dy: Float64Array, w: Float64Array, M: number, N: number, K: number): Float64Array {
  checkDims('matmulNN', M, K, N);
  expectLength('matmulNN', 'dy', dy, M * N);
  expectLength('matmulNN', 'w', w, N * K);
  const dx = new Float64Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dy[m * N + n] * w[n * K + k];
      dx[m * K + k] = s;
    }
  }
  return dx;
}

/** dw[N,K] = dy[M,N]ᵀ · a[M,K] (linear weight grad). */
export function matmulTN(dy: Float64Array, a: Float64Array, M: number, N: number, K: number): Float64Array {
  checkDims('matmulTN', M, K, N);
  expectLength('matmulTN', 'dy', dy, M * N);
  expectLength('matmulTN', 'a', a, M * K);
  const dw = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dy[m * N + n] * a[m * K + k];
      dw[n * K + k] = s;
    }
  }
  return dw;
}

function checkDims(op: string, M: number, K: number, N: number): void {
  expectDim(op, 'M', M);
  expectDim(op, 'K', K);
  expectDim(op, 'N', N);
}
