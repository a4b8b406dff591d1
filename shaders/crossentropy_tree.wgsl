// rowStats for devices without subgroups: a fixed tree over the workgroup in
// shared memory, log2(WG) barriers. Put in front of crossentropy.wgsl (see there).

struct Lane {
  @builtin(local_invocation_index) li: u32,
}

/**
 * Merges every thread's (m, s) in a fixed tree; returns the row's (max, Σ
 * exp(x − max)), valid in thread 0 only. Call in uniform control flow.
 */
fn rowStats(lane: Lane, m0: f32, s0: f32) -> vec2<f32> {
  let li = lane.li;
  var m = m0;
  var s = s0;
  redA[li] = m;
  redB[li] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (li < half) {
      let m2 = redA[li + half];
      let s2 = redB[li + half];
      let mm = max(m, m2);
      s = s * exp(m - mm) + s2 * exp(m2 - mm);
      m = mm;
      redA[li] = m;
      redB[li] = s;
    }
    workgroupBarrier();
  }
  return vec2(m, s);
}
