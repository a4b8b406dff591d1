enable subgroups;

// rowSum with subgroup operations: one barrier instead of log2(WG). Put in
// front of rmsnorm.wgsl (see there); the enable directive must lead the module.
//
// WebGPU promises nothing about which invocations form a subgroup (their
// local_invocation_index values need not be contiguous), nor that every
// subgroup is full, only that subgroup_invocation_id runs densely from 0. So
// no subgroup index is derived from local_invocation_index:
//   1. each subgroup adds its values (subgroupAdd); its invocation 0 leaves
//      the total in partial[li], every other invocation leaves 0 there;
//   2. after the barrier, invocation k of each subgroup (n active) adds
//      partial[k], partial[k+n], … in that order, and subgroupAdd finishes.
// Every slot is read by exactly one invocation of each subgroup, and the
// zeros add exactly, so each subgroup ends with the whole sum: the same bits
// in every full subgroup (in practice all are full, as WG = 256 is a multiple
// of every subgroup size WebGPU allows, 4 to 128). The order is
// fixed by the device's subgroup layout and its subgroupAdd, which do not
// change between runs of one pipeline: the same bits every run on a device
// (as with any reduction, other devices may round differently).

struct Lane {
  @builtin(local_invocation_index) li: u32,
  @builtin(subgroup_invocation_id) sg: u32,
}

/**
 * Sum of v over the workgroup; every thread gets the total. Call in uniform
 * control flow, and at most once per invocation of the entry point: partial
 * is not guarded against a second call.
 */
fn rowSum(lane: Lane, v: f32) -> f32 {
  let total = subgroupAdd(v);
  partial[lane.li] = select(0.0, total, lane.sg == 0u);
  workgroupBarrier();
  let n = subgroupAdd(1u); // active invocations of this subgroup
  var acc = 0.0;
  for (var i = lane.sg; i < WG; i += n) {
    acc += partial[i];
  }
  return subgroupAdd(acc);
}
