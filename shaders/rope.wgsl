// Rotary position embedding, in place, on a strided slice (DeepSeek's
// interleaved convention): x is [rows, stride] with rows = B·S·heads laid out
// [B, S, heads]; in each row the dr columns from `offset` hold dr/2 adjacent
// pairs (a, b) = (x[2i], x[2i+1]), rotated by the angle of position
// p = (row / heads) mod S and frequency i:
//   (a, b) → (a·cos − b·sin, a·sin + b·cos)
// Other columns are not touched, so q [.., dn+dr] (offset dn) and k_pe inside
// ckp [.., rkv+dr] (heads 1, offset rkv) need no copies.
// The backward is the transpose of this orthogonal map, i.e. rotation by the
// negative angle: the same kernel with sign = −1 negates sin.
// cos/sin come as tables [positions ≥ S, dr/2] built on the CPU in float64,
// because GPU sin/cos differ between vendors.
// One thread per pair on a 2-D grid (x fastest) so large batches fit.

const WG: u32 = 256u;

struct Params {
  rows: u32,
  S: u32,
  heads: u32,
  stride: u32,
  offset: u32,
  half: u32, // dr / 2
  sign: f32, // +1 forward, −1 backward
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosTable: array<f32>;
@group(0) @binding(3) var<storage, read> sinTable: array<f32>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (t >= p.rows * p.half) { return; }
  let row = t / p.half;
  let i = t - row * p.half;
  let pos = (row / p.heads) % p.S;
  let c = cosTable[pos * p.half + i];
  let s = p.sign * sinTable[pos * p.half + i];
  let j = row * p.stride + p.offset + 2u * i;
  let a = x[j];
  let b = x[j + 1u];
  x[j] = a * c - b * s;
  x[j + 1u] = a * s + b * c;
}
