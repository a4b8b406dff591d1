/** The devtools API (docs/design.md §8) in brief, so kernel developers find it without the README. */

const EXAMPLES = `// every kernel check and what it covers
tessera.kernels.list()

// one check against its float64 reference, with a shape override
await tessera.kernels.check('matmul.nt', { shape: { M: 512, N: 512, K: 512 } })
// → { name, shape, maxAbsErr, maxRelErr, maxAbsRef, tolerance, pass, ms, gflops? }

// options: shape (keys depend on the check), seed, reps (timed runs, default 3)
await tessera.kernels.check('matmul.tn', { seed: 7, reps: 10 })

// adapter, features and limits; per-kernel GPU time of the last profiled step
await tessera.gpu.info()
await tessera.gpu.profile()`;

export function ConsoleApiPanel() {
  return (
    <details className="card" open data-testid="console-api">
      <summary>Console API</summary>
      <p className="small muted">
        Open devtools on this page: <code>tessera</code> is a global. Checks from the console share the page's GPU
        device with this table.
      </p>
      <pre>
        <code>{EXAMPLES}</code>
      </pre>
    </details>
  );
}
