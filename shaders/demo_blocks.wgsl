// Shared part of the DeMo modules: demo-apply.ts and demo-compress.ts put it
// in front of shaders/demo_apply.wgsl and shaders/demo_compress.wgsl, which
// hold the entry points. It declares the uniform params, the tensor table and
// the block addressing every pass uses.
//
// Batching. One dispatch covers every tensor of a model. The tensor table
// (binding 1, built once on the CPU by demo-table.ts) holds one record per
// tensor; the tensors' elements are concatenated into one "element space"
// [0, elements) and their blocks into one "block space" [0, blocks), in
// table order. Every pass runs one workgroup per block: workgroup g owns
// global block g and finds its tensor by binary search over the records'
// first block. (Apply's bookkeeping passes run one thread per kept entry
// instead.) Within a tensor the arithmetic, and its order, is that of a
// one-tensor kernel, so batching changes no bit.
//
// Tiles. Each thread of a block's workgroup owns one TILE×WIDE tile of the
// block (rows i0.., columns j0..), so a product over the block's side loads
// TILE + WIDE values per step for TILE·WIDE multiply-adds, and the fixed
// cost of a thread (finding its tensor, its loop) is shared by 64 elements.
// A block is at most 64×64, so 16×4 tiles cover it: WG = 64 threads
// suffice. Edge tiles are clipped: their reads are clamped to the last row /
// column, their writes skipped.
//
// Layouts. A 1-D tensor is [1, n] with blocks [1, c] (the 1-point DCT is the
// identity). Blocks are numbered row-major over the tensor's grid; f = u·cc + v
// is the flat index within a block. Tensors, scratch and bases are row-major.
//   flat buffers (grads, momentum, params): a tensor at `offset`, gaps between
//   scratch (two buffers, [elements] each):  a tensor at `first`, no gaps
//   indices / values (per update):            a tensor's blocks·k at `out`
//   basis (all block sides concatenated):    C_cr at `basisRows`, C_cc at `basisCols`
//
// Grids fold into 2-D: g = wid.y·nwg.x + wid.x.

const WG: u32 = 64u;
const TILE: u32 = 4u;
const WIDE: u32 = 16u;
// Largest block side (demo-table.ts DEMO_MAX_BLOCK_SIDE), and the u32 words
// of a bitmask with one bit per row or column of a block.
const MAX_SIDE: u32 = 64u;
const MASK_WORDS: u32 = MAX_SIDE / 32u;

// One layout for both modules, so one wrapper helper packs it; each module
// reads only the fields its passes need.
struct Params {
  tensors: u32,  // table rows
  elements: u32, // Σ R·C over the table (apply: where its masks start in the scratch)
  blocks: u32,   // Σ block counts over the table: the block grid
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
  masks: u32,        // apply: first word of its blocks' column row masks (MASK_WORDS per block column)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<Tensor>;

// The flat index of a workgroup: the global block it owns in a block pass.
fn groupIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// The record of the tensor that owns global block g (byEntry false) or
// entry g of one update (byEntry true): the last row whose first block /
// first entry is ≤ g. Row 0 starts at 0 and every tensor has at least one
// block and one entry, so the starts ascend strictly and the answer is
// unique. The table is read-only storage, so a uniform g gives a uniform
// record (the top-k pass's barriers depend on it).
fn tensorOf(g: u32, byEntry: bool) -> Tensor {
  var lo = 0u;
  var hi = p.tensors - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (select(table[mid].firstBlock, table[mid].out, byEntry) <= g) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return table[lo];
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

// The tile thread li owns in a block of t: its first row and column, and
// whether it holds any element at all (threads past the block's last tile
// row hold none).
struct Tile {
  i0: u32,
  j0: u32,
  live: bool,
}

fn tileOf(t: Tensor, li: u32) -> Tile {
  let across = (t.cc + WIDE - 1u) / WIDE;
  let i0 = (li / across) * TILE;
  return Tile(i0, (li % across) * WIDE, i0 < t.cr);
}

// The tile's four rows, and its columns 4q … 4q + 3, clamped into the block
// (reads at a clamped row or column are valid addresses; their results are
// dropped). A tile row is four vec4: the passes keep their sums as sixteen
// vec4, and their inner loops never index a private array by a variable
// (CPU WebGPU, SwiftShader, turns that into per-lane memory traffic).
fn tileRows(t: Tensor, tile: Tile) -> vec4<u32> {
  return min(vec4<u32>(tile.i0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(t.cr - 1u));
}

fn tileCols(t: Tensor, tile: Tile, q: u32) -> vec4<u32> {
  return min(vec4<u32>(tile.j0 + 4u * q) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(t.cc - 1u));
}

// Whether element (a, c) of the tile lies inside the block.
fn inBlock(t: Tensor, tile: Tile, a: u32, c: u32) -> bool {
  return tile.i0 + a < t.cr && tile.j0 + c < t.cc;
}

// Tile sums: sums[4·a + q] holds row a, columns 4q … 4q + 3. These add the
// outer product of a column x (the tile's rows) and a row c (its columns).
fn addOuterF32(sums: ptr<function, array<vec4<f32>, 16>>, x: vec4<f32>, c: array<vec4<f32>, 4>) {
  (*sums)[0] += x.x * c[0];
  (*sums)[1] += x.x * c[1];
  (*sums)[2] += x.x * c[2];
  (*sums)[3] += x.x * c[3];
  (*sums)[4] += x.y * c[0];
  (*sums)[5] += x.y * c[1];
  (*sums)[6] += x.y * c[2];
  (*sums)[7] += x.y * c[3];
  (*sums)[8] += x.z * c[0];
  (*sums)[9] += x.z * c[1];
  (*sums)[10] += x.z * c[2];
  (*sums)[11] += x.z * c[3];
  (*sums)[12] += x.w * c[0];
  (*sums)[13] += x.w * c[1];
  (*sums)[14] += x.w * c[2];
  (*sums)[15] += x.w * c[3];
}

fn addOuterI32(sums: ptr<function, array<vec4<i32>, 16>>, x: vec4<i32>, c: array<vec4<i32>, 4>) {
  (*sums)[0] += x.x * c[0];
  (*sums)[1] += x.x * c[1];
  (*sums)[2] += x.x * c[2];
  (*sums)[3] += x.x * c[3];
  (*sums)[4] += x.y * c[0];
  (*sums)[5] += x.y * c[1];
  (*sums)[6] += x.y * c[2];
  (*sums)[7] += x.y * c[3];
  (*sums)[8] += x.z * c[0];
  (*sums)[9] += x.z * c[1];
  (*sums)[10] += x.z * c[2];
  (*sums)[11] += x.z * c[3];
  (*sums)[12] += x.w * c[0];
  (*sums)[13] += x.w * c[1];
  (*sums)[14] += x.w * c[2];
  (*sums)[15] += x.w * c[3];
}

// Element (a, c) of tile sums.
fn sumF32(sums: ptr<function, array<vec4<f32>, 16>>, a: u32, c: u32) -> f32 {
  return (*sums)[4u * a + c / 4u][c % 4u];
}

fn sumI32(sums: ptr<function, array<vec4<i32>, 16>>, a: u32, c: u32) -> i32 {
  return (*sums)[4u * a + c / 4u][c % 4u];
}
