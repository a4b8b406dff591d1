// rowSum for devices without subgroups: a fixed tree over the workgroup in
// shared memory, log2(WG) barriers. Put in front of rmsnorm.wgsl (see there).

struct Lane {
  @builtin(local_invocation_index) li: u32,
}

/**
 * Sum of v over the workgroup in a fixed tree order; every thread gets the
 * total. Call in uniform control flow.
 */
fn rowSum(lane: Lane, v: f32) -> f32 {
  let li = lane.li;
  partial[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  // partial may be reused by a later call.
  workgroupBarrier();
  return total;
}
