// Register-tiled matrix product for the three layouts of a linear layer.
//   LAYOUT 0 (nt): C[M,N] = A[M,K] · B[N,K]ᵀ   forward      y  = x · Wᵀ
//   LAYOUT 1 (nn): C[M,N] = A[M,K] · B[K,N]    input grad   dx = dy · W
//   LAYOUT 2 (tn): C[M,N] = A[K,M]ᵀ · B[K,N]   weight grad  dW = dyᵀ · x
// C = alpha·(product) + beta·C, so gradients can accumulate in place.
//
// A workgroup of WG_X×WG_Y threads owns a TILE_M×TILE_N block of C. Per step
// of TK along K it stages a TILE_M×TK slice of A and a TK×TILE_N slice of B
// in workgroup memory, k-major and as vec4s: As[k][m/4], Bs[k][n/4]. Each
// thread owns RM×RN outputs as 4×4 blocks held in vec4 registers (a vec4 is
// 4 columns of one row); per k a block costs one vec4 read of A (4 rows), one
// of B (4 columns) and 4 vec4 fmas, where scalar tiles would take 8 reads
// for the same 16 multiply-adds. Thread (x, y) owns row groups
// (g·WG_Y + y)·4 + 0…3 and column groups (h·WG_X + x)·4 + 0…3, so
// neighbouring threads read neighbouring vec4s of Bs and threads of one row
// read the same vec4 of As (a broadcast).
//
// Per-thread tiles: 4×8 is the default. 8×8 holds 64 accumulators, which
// compilers keep in registers only when nothing indexes them dynamically (an
// earlier array-indexed version spilled on an H100 and ran 10× slower).
//
// This file is the shared part of a module; it is not a module by itself.
// matmul.ts puts one of two parts in front of it, each defining `Elem` (the
// element type of A, B and C in global memory), stageA/stageB (global →
// As/Bs) and storeRow (one row of a block → C):
//   matmul_scalar.wgsl  any M, N, K: scalar global accesses, each with its
//                       own bounds check (a load past an edge reads 0);
//   matmul_vec4.wgsl    shapes whose vectorized dimensions are multiples of
//                       4 (the wrapper checks): vec4 global accesses.
// The tiling, the inner loop and so the result are the same in both.

const LAYOUT: u32 = 0u;
const WG_X: u32 = 8u;
const WG_Y: u32 = 8u;
const RM: u32 = 4u; // 4 or 8
const RN: u32 = 8u; // 4 or 8
const TK: u32 = 16u; // a multiple of 4 (matmul_vec4.wgsl stages k in vec4s)

const RM4: u32 = RM / 4u;
const RN4: u32 = RN / 4u;
const TILE_M: u32 = WG_Y * RM;
const TILE_N: u32 = WG_X * RN;
const TM4: u32 = TILE_M / 4u;
const TN4: u32 = TILE_N / 4u;
const THREADS: u32 = WG_X * WG_Y;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<Elem>;
@group(0) @binding(2) var<storage, read> B: array<Elem>;
@group(0) @binding(3) var<storage, read_write> C: array<Elem>;

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
 * Writes block (g, h): rows (g·WG_Y + lid.y)·4 + 0…3, columns (h·WG_X + lid.x)·4 + 0…3
 * of the tile. storeRow skips rows past M and columns past N.
 */
fn storeBlock(c: Block, m0: u32, n0: u32, g: u32, h: u32, lid: vec3<u32>) {
  let n = n0 + (h * WG_X + lid.x) * 4u;
  if (n >= p.N) { return; }
  let m = m0 + (g * WG_Y + lid.y) * 4u;
  storeRow(m, n, c.r0);
  storeRow(m + 1u, n, c.r1);
  storeRow(m + 2u, n, c.r2);
  storeRow(m + 3u, n, c.r3);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  // Named blocks, not an array indexed in loops: the blocks must stay in
  // registers. Register arrays indexed by loop counters are left in memory
  // by compilers that do not unroll (SwiftShader: 3–4× slower); the
  // constant-false branches below are removed at compile time.
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
