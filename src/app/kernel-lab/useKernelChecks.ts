/**
 * Runs kernel checks one at a time through the devtools API (the same path a
 * kernel developer uses from the console). Clicks while a check runs are
 * queued rather than refused, and the loop yields to the event loop between
 * checks so the page stays responsive.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CheckResult } from '../../kernels/check';
import { tessera } from '../../devtools/tessera';
import { errorMessage } from '../format';

export type SettledRow =
  | { status: 'idle' }
  | { status: 'done'; result: CheckResult }
  | { status: 'error'; message: string };

export type RowState =
  | SettledRow
  /** `previous` is what the row showed before, restored if the queue is cancelled. */
  | { status: 'queued'; previous: SettledRow }
  | { status: 'running' };

export interface KernelChecks {
  kernels: { name: string; description: string }[];
  rows: Record<string, RowState>;
  busy: boolean;
  enqueue(names: string[]): void;
  cancel(): void;
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function useKernelChecks(): KernelChecks {
  const [kernels] = useState(() => tessera.kernels.list());
  const [rows, setRows] = useState<Record<string, RowState>>({});
  const [busy, setBusy] = useState(false);
  const queue = useRef<string[]>([]);
  const running = useRef(false);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      queue.current = [];
    };
  }, []);

  const setRow = useCallback((name: string, row: RowState) => {
    if (mounted.current) setRows((prev) => ({ ...prev, [name]: row }));
  }, []);

  const drain = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    try {
      for (let name = queue.current.shift(); name !== undefined; name = queue.current.shift()) {
        setRow(name, { status: 'running' });
        await nextTask(); // let React paint "running" before the GPU work starts
        try {
          setRow(name, { status: 'done', result: await tessera.kernels.check(name) });
        } catch (err) {
          console.error(`kernel check ${name} failed:`, err);
          setRow(name, { status: 'error', message: errorMessage(err) });
        }
        await nextTask();
      }
    } finally {
      running.current = false;
      if (mounted.current) setBusy(false);
    }
  }, [setRow]);

  const enqueue = useCallback(
    (names: string[]) => {
      const fresh = names.filter((n) => !queue.current.includes(n));
      queue.current.push(...fresh);
      setRows((prev) => {
        const next = { ...prev };
        for (const n of fresh) {
          const row = next[n] ?? { status: 'idle' };
          if (row.status !== 'running' && row.status !== 'queued') next[n] = { status: 'queued', previous: row };
        }
        return next;
      });
      void drain();
    },
    [drain],
  );

  const cancel = useCallback(() => {
    const dropped = queue.current;
    queue.current = [];
    setRows((prev) => {
      const next = { ...prev };
      for (const n of dropped) {
        const row = next[n];
        if (row?.status === 'queued') next[n] = row.previous;
      }
      return next;
    });
  }, []);

  return { kernels, rows, busy, enqueue, cancel };
}
