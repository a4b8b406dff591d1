// Register-tiled matrix product, fast path for vec4-aligned shapes: the same
// layouts, parameters and result as shaders/matmul.wgsl (read that file
// first), with A, B and C read and written as vec4<f32>.
//   LAYOUT 0 (nt): C[M,N] = A[M,K] · B[N,K]ᵀ   needs K % 4 == 0 and N % 4 == 0
//   LAYOUT 1 (nn): C[M,N] = A[M,K] · B[K,N]    needs K % 4 == 0 and N % 4 == 0
//   LAYOUT 2 (tn): C[M,N] = A[K,M]ᵀ · B[K,N]   needs M % 4 == 0 and N % 4 == 0
// (the wrapper checks; binding offsets are multiples of 256 bytes, so every
// vec4 is 16-byte aligned). A vec4 along a dimension that is a multiple of 4
// lies wholly inside or wholly outside the matrix, so a vec4 load past an
// edge reads 0; the remaining size (M in nt and nn, K in tn) may be anything.
//
// Shared with matmul.wgsl: workgroup tiles stored k-major as vec4s,
// As[k][m/4] and Bs[k][n/4]; each thread owns RM×RN outputs as 4×4 blocks
// held in vec4 registers (one vec4 = 4 columns of one row), and every k step
// costs one vec4 read of A per 4 rows, one per 4 columns of B, and 4 vec4
// fmas per block. The only difference is how tiles are staged and C is written.

const LAYOUT: u32 = 0u;
const WG_X: u32 = 8u;
const WG_Y: u32 = 8u;
const RM: u32 = 4u; // 4 or 8
const RN: u32 = 8u; // 4 or 8
const TK: u32 = 16u; // a multiple of 4

const RM4: u32 = RM / 4u;
const RN4: u32 = RN / 4u;
const TILE_M: u32 = WG_Y * RM;
const TILE_N: u32 = WG_X * RN;
const TM4: u32 = TILE_M / 4u;
const TN4: u32 = TILE_N / 4u;
const TK4: u32 = TK / 4u;
const THREADS: u32 = WG_X * WG_Y;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;

var<workgroup> As: array<vec4<f32>, TK * TM4>; // [k][m/4]
var<workgroup> Bs: array<vec4<f32>, TK * TN4>; // [k][n/4]

/** 4 rows × 4 columns of C; r0 is row 0. */
struct Block {
  r0: vec4<f32>,
  r1: vec4<f32>,
  r2: vec4<f32>,
  r3: vec4<f32>,
}

/** c + a ⊗ b for a = 4 rows of A at one k, b = 4 columns of B at that k. */
fn accumulate(c: Block, a: vec4<f32>, b: vec4<f32>) -> Block {
  return Block(fma(vec4<f32>(a.x), b, c.r0), fma(vec4<f32>(a.y), b, c.r1), fma(vec4<f32>(a.z), b, c.r2), fma(vec4<f32>(a.w), b, c.r3));
}

/**
 * Stores a matrix whose rows run along k (vec4 `v` holds k4·4 … k4·4+3 of
 * row `r`) transposed into a k-major tile of `width` vec4s per k. Only the
 * nt and nn A tile and the nt B tile need it: four scalar stores per vec4.
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

fn storeRow(m: u32, n4: u32, acc: vec4<f32>) {
  if (m >= p.M) { return; }
  let idx = m * (p.N / 4u) + n4;
  var v = p.alpha * acc;
  if (p.beta != 0.0) { v += p.beta * C[idx]; }
  C[idx] = v;
}

/** Writes block (g, h): rows (g·WG_Y + lid.y)·4 + 0…3, columns (h·WG_X + lid.x)·4 + 0…3 of the tile. */
fn storeBlock(c: Block, m0: u32, n0: u32, g: u32, h: u32, lid: vec3<u32>) {
  let n4 = n0 / 4u + h * WG_X + lid.x;
  if (n4 >= p.N / 4u) { return; }
  let m = m0 + (g * WG_Y + lid.y) * 4u;
  storeRow(m, n4, c.r0);
  storeRow(m + 1u, n4, c.r1);
  storeRow(m + 2u, n4, c.r2);
  storeRow(m + 3u, n4, c.r3);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  // Named blocks, not an array indexed in loops: see matmul.wgsl.
  let zero = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  var c00 = zero;
  var c01 = zero;
  var c10 = zero;
  var c11 = zero;

  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    stageA(m0, k0, li);
    stageB(n0, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a0 = As[kk * TM4 + lid.y];
      let b0 = Bs[kk * TN4 + lid.x];
      c00 = accumulate(c00, a0, b0);
      if (RN4 == 2u) {
        let b1 = Bs[kk * TN4 + WG_X + lid.x];
        c01 = accumulate(c01, a0, b1);
        if (RM4 == 2u) {
          let a1 = As[kk * TM4 + WG_Y + lid.y];
          c10 = accumulate(c10, a1, b0);
          c11 = accumulate(c11, a1, b1);
        }
      } else if (RM4 == 2u) {
        let a1 = As[kk * TM4 + WG_Y + lid.y];
        c10 = accumulate(c10, a1, b0);
      }
    }
    workgroupBarrier();
  }

  storeBlock(c00, m0, n0, 0u, 0u, lid);
  if (RN4 == 2u) { storeBlock(c01, m0, n0, 0u, 1u, lid); }
  if (RM4 == 2u) { storeBlock(c10, m0, n0, 1u, 0u, lid); }
  if (RM4 == 2u && RN4 == 2u) { storeBlock(c11, m0, n0, 1u, 1u, lid); }
}
