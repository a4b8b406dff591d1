// One AdamW step with PyTorch semantics (torch.optim.AdamW, single-tensor
// path) over the flat parameter, gradient and moment buffers of a whole
// model, one element per thread:
//   g ← coef·g                               (update_clipped only: coef = clipNorm[1])
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p·decay − stepSize · m / (sqrt(v) / bc2Sqrt + eps)
// with decay = 1 − lr·wd (1 inside the no-decay range), stepSize =
// lr / (1 − β1ᵗ), bc2Sqrt = sqrt(1 − β2ᵗ). The CPU computes these and
// 1 − β1, 1 − β2 in float64: in f32, 1 − 0.999 is off by 5e-5 relative.
// eps is added after the bias correction, as PyTorch does. The clip
// coefficient scales g only as it is read; the gradient buffer is left as is.
//
// The element index folds a 2-D grid (wid.y·nwg.x + wid.x)·WG + lid so a
// ~100M-parameter model stays within the 65535 workgroups per dimension.

const WG: u32 = 256u;

struct Params {
  n: u32,
  decay: f32,        // 1 − lr·weightDecay
  stepSize: f32,     // lr / (1 − β1ᵗ)
  bc2Sqrt: f32,      // sqrt(1 − β2ᵗ)
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  eps: f32,
  noDecayStart: u32, // elements in [noDecayStart, noDecayEnd) skip weight decay
  noDecayEnd: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> expAvg: array<f32>;
@group(0) @binding(4) var<storage, read_write> expAvgSq: array<f32>;
@group(0) @binding(5) var<storage, read> clipNorm: array<f32>; // [norm, coef] from gradnorm.norm

fn elementIndex(li: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + li;
}

fn updateElement(i: u32, coef: f32) {
  let g = grad[i] * coef;
  let m = p.beta1 * expAvg[i] + p.oneMinusBeta1 * g;
  let v = p.beta2 * expAvgSq[i] + p.oneMinusBeta2 * (g * g);
  expAvg[i] = m;
  expAvgSq[i] = v;
  var decay = p.decay;
  if (i >= p.noDecayStart && i < p.noDecayEnd) { decay = 1.0; }
  let denom = sqrt(v) / p.bc2Sqrt + p.eps;
  param[i] = param[i] * decay - p.stepSize * m / denom;
}

@compute @workgroup_size(WG)
fn update(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = elementIndex(li, wid, nwg);
  if (i < p.n) { updateElement(i, 1.0); }
}

@compute @workgroup_size(WG)
fn update_clipped(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = elementIndex(li, wid, nwg);
  if (i < p.n) { updateElement(i, clipNorm[1]); }
}
