// Shared part of the DeMo modules: demo-apply.ts and demo-compress.ts put it
// in front of shaders/demo_apply.wgsl and shaders/demo_compress.wgsl, which
// hold the entry points. It declares the uniform params, the tensor table,
// the invocation struct and the block addressing both transforms use.
//
// Batching. One dispatch covers every tensor of a model. The tensor table
// (binding 1, built once on the CPU by demo-table.ts) holds one record per
// tensor; the tensors' elements are concatenated into one "element space"
// [0, elements) and their blocks into one "block space" [0, blocks), in
// table order. A thread of an element pass owns global element g, a
// workgroup of the top-k pass owns global block g; both find their tensor by
// binary search over the records' first element / first block. Within a
// tensor the arithmetic, and its order, is that of a one-tensor kernel.
//
// Layouts. A 1-D tensor is [1, n] with blocks [1, c] (the 1-point DCT is the
// identity). Blocks are numbered row-major over the tensor's grid; f = u·cc + v
// is the flat index within a block. Tensors, scratch and bases are row-major.
//   flat buffers (grads, momentum, params): a tensor at `offset`, gaps between
//   scratch (two buffers, [elements] each):  a tensor at `first`, no gaps
//   indices / values (per update):            a tensor's blocks·k at `out`
//   basis (all block sides concatenated):    C_cr at `basisRows`, C_cc at `basisCols`
//
// Elementwise passes fold a 2-D grid: g = (wid.y·nwg.x + wid.x)·WG + lid.

const WG: u32 = 256u;

// One layout for both modules, so one wrapper helper packs it; each module
// reads only the fields its passes need.
struct Params {
  tensors: u32,  // table rows
  elements: u32, // Σ R·C over the table
  blocks: u32,   // Σ block counts over the table
  entries: u32,  // Σ blockCount·k: one update's entries (apply's stride per update)
  updates: u32,  // apply: M, the agreed updates
  quantize: u32, // compress: 1, values are ±1; 0, the coefficients
  lr: f32,       // η (apply: the coordinator's exact f32)
  decay: f32,    // apply: decayFactorF32(lr, weightDecay), computed on the CPU; compress: β
}

// One tensor record (DEMO_TABLE_WORDS u32 in demo-table.ts, same order).
struct Tensor {
  offset: u32,       // first element in the flat grads / momentum / params
  first: u32,        // first element in the element space (and the scratch buffers)
  firstBlock: u32,   // first block in the block space
  out: u32,          // first entry in indices / values (within one update)
  R: u32,            // rows (1 for 1-D)
  C: u32,            // columns
  cr: u32,           // block rows
  cc: u32,           // block columns
  blocksAcross: u32, // C / cc
  k: u32,            // kept coefficients per block
  basisRows: u32,    // offset of C_cr (cr×cr) in the basis buffer
  basisCols: u32,    // offset of C_cc (cc×cc) in the basis buffer
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<Tensor>;

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

// The record of the tensor that owns global element g (byBlock false) or
// global block g (byBlock true): the last row whose first element / block is
// ≤ g. Row 0 starts at 0 and every tensor has at least one element and one
// block, so the starts ascend strictly and the answer is unique. The table
// is read-only storage, so a uniform g gives a uniform record (top-k's
// barriers depend on it).
fn tensorOf(g: u32, byBlock: bool) -> Tensor {
  var lo = 0u;
  var hi = p.tensors - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    let start = select(table[mid].first, table[mid].firstBlock, byBlock);
    if (start <= g) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return table[lo];
}

// Where global element g sits: its tensor t, its element e within t, its
// block within t, its (row, column) in the block, and the tensor offset of
// the block's first element.
struct Place {
  t: Tensor,
  e: u32,
  block: u32,
  u: u32,
  v: u32,
  origin: u32,
}

fn place(g: u32) -> Place {
  let t = tensorOf(g, false);
  let e = g - t.first;
  let r = e / t.C;
  let c = e - r * t.C;
  let bi = r / t.cr;
  let bj = c / t.cc;
  let u = r - bi * t.cr;
  let v = c - bj * t.cc;
  return Place(t, e, bi * t.blocksAcross + bj, u, v, bi * t.cr * t.C + bj * t.cc);
}

// Tensor offset of the first element of t's block b.
fn blockOrigin(t: Tensor, b: u32) -> u32 {
  let bi = b / t.blocksAcross;
  let bj = b - bi * t.blocksAcross;
  return bi * t.cr * t.C + bj * t.cc;
}

// Tensor offset of flat in-block index f of the block at `origin`.
fn offsetOf(t: Tensor, origin: u32, f: u32) -> u32 {
  let u = f / t.cc;
  return origin + u * t.C + (f - u * t.cc);
}
