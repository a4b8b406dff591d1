// Token embedding lookup and its deterministic gradient.
//   forward   y[t, d] = E[ids[t], d]                 one thread per output element
//   backward  dE[v, d] (+)= Σ_k dy[positions[k], d]  over k in offsets[v] … offsets[v+1]
// The backward needs no atomics: the CPU buckets token positions by id (CSR,
// positions increasing within each bucket, see bucketTokens), and one thread
// per (id v, column d) sums its bucket in that fixed order, so the result is
// the same bits on every run. Ids without tokens get 0 (overwrite) or keep
// their gradient (accumulate).
// Both use a 2-D grid of workgroups (x fastest) over a linear element index,
// so n·D and V·D may exceed 65535 workgroups.

const WG: u32 = 256u;

struct ForwardParams {
  n: u32, // tokens
  D: u32,
  V: u32,
}

struct BackwardParams {
  V: u32,
  D: u32,
  accumulate: u32,
}

// forward(ids, E, y)
@group(0) @binding(0) var<uniform> fp: ForwardParams;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> E: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// backward(offsets, positions, dy, dE)
@group(0) @binding(0) var<uniform> bp: BackwardParams;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dE: array<f32>;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= fp.n * fp.D) { return; }
  let t = i / fp.D;
  let d = i - t * fp.D;
  let id = ids[t];
  // The CPU validates ids; an invalid one still must not read another row.
  y[i] = select(0.0, E[id * fp.D + d], id < fp.V);
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= bp.V * bp.D) { return; }
  let v = i / bp.D;
  let d = i - v * bp.D;
  var acc = 0.0;
  for (var k = offsets[v]; k < offsets[v + 1u]; k++) {
    acc += dy[positions[k] * bp.D + d];
  }
  if (bp.accumulate != 0u) { acc = dE[i] + acc; }
  dE[i] = acc;
}
