// SwiGLU gate of the dense MLP, elementwise over the n = B·S·I outputs of
// gate_proj and up_proj:
//   forward   h     = silu(gate) ∘ up,            silu(x) = x·σ(x)
//   backward  dgate = dh ∘ up ∘ σ(gate)·(1 + gate·(1 − σ(gate)))   (= dh∘up∘silu'(gate))
//             dup   = dh ∘ silu(gate)
// One thread per element. The grid is 2-D (x fastest) so that n may exceed
// 65535 workgroups of WG threads; the element index is linear over the grid.

const WG: u32 = 256u;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// forward(gate, up, h) and backward(gate, up, dh, dgate, dup): bindings are
// per entry point, in the order of the wrapper's Dispatch.buffers.
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

// σ(x) from exp(−|x|), which lies in (0, 1] and cannot overflow; the naive
// 1/(1 + exp(−x)) overflows exp for x < −88 and e/(1 + e) gives inf/inf = NaN
// for x > 88.
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

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
  if (i >= p.n) { return; }
  let g = gate[i];
  h[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= p.n) { return; }
  let g = gate[i];
  let s = sigmoid(g);
  let d = dh[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}
