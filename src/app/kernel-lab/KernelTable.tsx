/** One row per kernel check: the comparison against its float64 reference and its GPU timing. */
import type { CheckResult, Tolerance } from '../../kernels/check';
import { DASH, formatNum, formatSci } from '../format';
import type { RowState } from './useKernelChecks';

interface Props {
  kernels: { name: string; description: string }[];
  rows: Record<string, RowState>;
  onCheck(name: string): void;
}

const COLUMNS = 10;

export function KernelTable({ kernels, rows, onCheck }: Props) {
  return (
    <div className="table-wrap">
      <table className="data" data-testid="kernel-table">
        <thead>
          <tr>
            <th>Kernel</th>
            <th>Shape</th>
            <th className="num">max abs err</th>
            <th className="num">max rel err</th>
            <th className="num">max |ref|</th>
            <th>Tolerance</th>
            <th>Result</th>
            <th className="num">GPU ms</th>
            <th className="num">GFLOP/s</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {kernels.map((k) => (
            <KernelRow key={k.name} kernel={k} row={rows[k.name] ?? { status: 'idle' }} onCheck={onCheck} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function KernelRow({ kernel, row, onCheck }: { kernel: Props['kernels'][number]; row: RowState; onCheck(name: string): void }) {
  const result: CheckResult | undefined = row.status === 'done' ? row.result : undefined;
  const pending = row.status === 'queued' || row.status === 'running';
  return (
    <>
      <tr data-testid={`kernel-row-${kernel.name}`}>
        <td className="kernel-name">
          <div className="mono">{kernel.name}</div>
          <div className="muted small kernel-description" title={kernel.description}>
            {kernel.description}
          </div>
        </td>
        <td className="mono small shape-cell">{result?.shape ?? DASH}</td>
        <td className="num">{formatSci(result?.maxAbsErr)}</td>
        <td className="num">{formatSci(result?.maxRelErr)}</td>
        <td className="num">{formatSci(result?.maxAbsRef)}</td>
        <td className="small nowrap">{result ? formatTolerance(result.tolerance) : DASH}</td>
        <td>
          <StatusBadge name={kernel.name} row={row} />
        </td>
        <td className="num">{formatNum(result?.ms, 3)}</td>
        <td className="num">{result?.gflops === undefined ? DASH : formatNum(result.gflops, 3)}</td>
        <td>
          <button type="button" className="small" disabled={pending} onClick={() => onCheck(kernel.name)} data-testid={`kernel-check-${kernel.name}`}>
            Check
          </button>
        </td>
      </tr>
      {row.status === 'error' && (
        <tr>
          <td className="error-cell" colSpan={COLUMNS}>
            <div className="alert">{row.message}</div>
          </td>
        </tr>
      )}
    </>
  );
}

const BADGES: Record<string, { text: string; className: string }> = {
  idle: { text: 'NOT RUN', className: '' },
  queued: { text: 'QUEUED', className: 'queued' },
  running: { text: 'RUNNING', className: 'running' },
  error: { text: 'ERROR', className: 'error' },
  pass: { text: 'PASS', className: 'pass' },
  fail: { text: 'FAIL', className: 'fail' },
};

function StatusBadge({ name, row }: { name: string; row: RowState }) {
  const key = row.status === 'done' ? (row.result.pass ? 'pass' : 'fail') : row.status;
  const badge = BADGES[key];
  return (
    <span className={`badge ${badge.className}`} data-testid={`kernel-status-${name}`}>
      {badge.text}
    </span>
  );
}

function formatTolerance(t: Tolerance): string {
  return t.kind === 'absScaled' ? `abs ≤ ${formatSci(t.value, 0)}·max|ref|` : `rel ≤ ${formatSci(t.value, 0)}`;
}
