// Shared part of the DeMo modules: demo-apply.ts and demo-compress.ts put it
// in front of shaders/demo_apply.wgsl and shaders/demo_compress.wgsl, which
// hold the entry points. It declares the uniform params, the invocation
// struct and the block addressing both transforms use.
//
// Layouts. A 1-D tensor is [1, n] with blocks [1, c] (the 1-point DCT is the
// identity). Blocks are numbered row-major over the grid; f = u·cc + v is the
// flat index within a block. Tensors, scratch halves and bases are row-major.
//
// Elementwise passes fold a 2-D grid: e = (wid.y·nwg.x + wid.x)·WG + lid.

const WG: u32 = 256u;

// One layout for both modules, so one wrapper helper packs it; each module
// reads only the fields its passes need.
struct Params {
  R: u32,            // tensor rows (1 for 1-D)
  C: u32,            // tensor columns
  cr: u32,           // block rows
  cc: u32,           // block columns
  blocksAcross: u32, // C / cc
  blockCount: u32,   // (R / cr)·(C / cc)
  k: u32,            // kept coefficients per block
  n: u32,            // R·C
  updates: u32,      // apply: M, the agreed updates
  quantize: u32,     // compress: 1, values are ±1; 0, the coefficients
  lr: f32,           // η (apply: the coordinator's exact f32)
  decay: f32,        // apply: decayFactorF32(lr, weightDecay), computed on the CPU; compress: β
}

@group(0) @binding(0) var<uniform> p: Params;

struct Thread {
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
}

// The flat index of a workgroup (the block of the top-k pass). It takes the
// builtins, not a Thread: uniformity analysis counts a whole struct parameter
// as non-uniform, which would forbid barriers after a return on it.
fn groupIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

fn elementIndex(id: Thread) -> u32 {
  return groupIndex(id.wid, id.nwg) * WG + id.li;
}

// Where tensor element e sits: its block, its (row, column) in the block, and
// the tensor offset of the block's first element.
struct Place {
  block: u32,
  u: u32,
  v: u32,
  origin: u32,
}

fn place(e: u32) -> Place {
  let r = e / p.C;
  let c = e - r * p.C;
  let bi = r / p.cr;
  let bj = c / p.cc;
  let u = r - bi * p.cr;
  let v = c - bj * p.cc;
  return Place(bi * p.blocksAcross + bj, u, v, bi * p.cr * p.C + bj * p.cc);
}

fn blockOrigin(b: u32) -> u32 {
  let bi = b / p.blocksAcross;
  let bj = b - bi * p.blocksAcross;
  return bi * p.cr * p.C + bj * p.cc;
}

// Tensor offset of flat in-block index f of the block at `origin`.
fn offsetOf(origin: u32, f: u32) -> u32 {
  let u = f / p.cc;
  return origin + u * p.C + (f - u * p.cc);
}
