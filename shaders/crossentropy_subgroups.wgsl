enable subgroups;

// rowStats with subgroup operations: two barriers instead of log2(WG). Put in
// front of crossentropy.wgsl (see there); the enable directive must lead the
// module.
//
// WebGPU promises nothing about which invocations form a subgroup (their
// local_invocation_index values need not be contiguous), nor that every
// subgroup is full, only that subgroup_invocation_id runs densely from 0. So
// no subgroup index is derived from local_invocation_index; slot li of a
// workgroup array holds a subgroup's partial at its invocation 0 and the
// identity elsewhere, and after a barrier invocation k of each subgroup (n
// active) combines slots k, k+n, … in that order, a subgroup operation
// finishing. Every slot is read by exactly one invocation of each subgroup,
// so each subgroup ends with the whole row's value.
//   1. The row max M: subgroupMax, slots, max. Exact in any order.
//   2. S = Σ s·exp(m − M): subgroupAdd, slots, add (the zeros add exactly).
// Taking M first costs a second barrier but leaves one exp per thread; merging
// (max, sum) pairs in one pass would need an exp per slot, and there are WG
// slots, far more than threads per subgroup when subgroups are small.
// The order of the sum is fixed by the device's subgroup layout and its
// subgroupAdd, which do not change between runs of one pipeline: the same
// bits every run on a device (as with any reduction, other devices may round
// differently).

struct Lane {
  @builtin(local_invocation_index) li: u32,
  @builtin(subgroup_invocation_id) sg: u32,
}

/**
 * Merges every thread's (m, s); returns the row's (max, Σ exp(x − max)) in
 * every thread. Call in uniform control flow, and at most once per invocation
 * of the entry point: redA/redB are not guarded against a second call.
 */
fn rowStats(lane: Lane, m: f32, s: f32) -> vec2<f32> {
  let leader = lane.sg == 0u;
  let n = subgroupAdd(1u); // active invocations of this subgroup
  redA[lane.li] = select(LOWEST, subgroupMax(m), leader);
  workgroupBarrier();
  var mx = LOWEST;
  for (var i = lane.sg; i < WG; i += n) {
    mx = max(mx, redA[i]);
  }
  let rowMax = subgroupMax(mx);
  // An empty thread (m = LOWEST, s = 0) adds 0.
  redB[lane.li] = select(0.0, subgroupAdd(s * exp(m - rowMax)), leader);
  workgroupBarrier();
  var acc = 0.0;
  for (var i = lane.sg; i < WG; i += n) {
    acc += redB[i];
  }
  return vec2(rowMax, subgroupAdd(acc));
}
