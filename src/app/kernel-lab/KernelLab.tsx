/**
 * Kernel Lab: every WGSL kernel against its float64 reference, with GPU
 * timings, for kernel developers (docs/design.md §3, §8).
 */
import { ConsoleApiPanel } from './ConsoleApiPanel';
import { GpuInfoPanel } from './GpuInfoPanel';
import { KernelTable } from './KernelTable';
import { useKernelChecks, type RowState } from './useKernelChecks';

export function KernelLab() {
  const { kernels, rows, busy, enqueue, cancel } = useKernelChecks();
  return (
    <section>
      <h2 className="page-title">Kernel Lab</h2>
      <p className="page-lead">
        Each WGSL kernel runs on random inputs of awkward shapes and is compared with a float64 CPU reference. Checks run
        one after another on this page's GPU device.
      </p>
      <div className="card">
        <div className="toolbar">
          <button type="button" className="primary" disabled={busy} onClick={() => enqueue(kernels.map((k) => k.name))} data-testid="run-all">
            Run all checks
          </button>
          {busy && (
            <button type="button" onClick={cancel} data-testid="cancel-checks">
              Cancel queued
            </button>
          )}
          <span className="spacer" />
          <Summary names={kernels.map((k) => k.name)} rows={rows} />
        </div>
        <KernelTable kernels={kernels} rows={rows} onCheck={(name) => enqueue([name])} />
      </div>
      <GpuInfoPanel />
      <ConsoleApiPanel />
    </section>
  );
}

function Summary({ names, rows }: { names: string[]; rows: Record<string, RowState> }) {
  let passed = 0;
  let failed = 0;
  let errors = 0;
  let pending = 0;
  for (const name of names) {
    const row = rows[name];
    if (row?.status === 'done') {
      if (row.result.pass) passed++;
      else failed++;
    } else if (row?.status === 'error') errors++;
    else if (row?.status === 'queued' || row?.status === 'running') pending++;
  }
  const notRun = names.length - passed - failed - errors - pending;
  const extras = [
    failed && `${failed} failed`,
    errors && `${errors} error${errors === 1 ? '' : 's'}`,
    pending && `${pending} pending`,
    notRun && `${notRun} not run`,
  ].filter(Boolean);
  const state = failed || errors ? 'fail' : passed === names.length && names.length > 0 ? 'pass' : 'partial';
  return (
    <span className="summary" data-state={state} data-testid="lab-summary" aria-live="polite">
      {passed}/{names.length} passed
      {extras.length > 0 && <span className="muted"> · {extras.join(' · ')}</span>}
    </span>
  );
}
