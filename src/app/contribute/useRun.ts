/**
 * The tab's run as React state, plus the volunteer's controls: the GPU
 * usage cap, the GPU memory the tab may use, and a pause while the tab is hidden that resumes by itself
 * (leave when hidden, catch up and join again when visible). A tab that was
 * contributing when it was reloaded joins again by itself, with the same key
 * from IndexedDB, so it keeps its identity and its points.
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { RunClient, RunView } from '../../run-client/run-client';
import { setGpuMemory as saveGpuMemory, storedGpuMemory, tabRun } from '../../run-client/tab-run';

export interface RunControls {
  /** The tab's run client exists (its key is loaded): join can work. */
  ready: boolean;
  view: RunView | null;
  joined: boolean;
  join(): void;
  leave(): void;
  duty: number;
  setDuty(d: number): void;
  pauseWhenHidden: boolean;
  setPauseWhenHidden(on: boolean): void;
  pausedForHidden: boolean;
  /** The GPU memory this tab may use (bytes); a change applies from the next join. */
  gpuMemory: number;
  setGpuMemory(bytes: number): void;
}

const noop = () => () => {};
/** Set while this tab contributes, so a reload picks the run up again by itself. */
const CONTRIBUTING_KEY = 'tessera.contributing';

export function useRun(): RunControls {
  const [client, setClient] = useState<RunClient | null>(null);
  const [duty, setDutyState] = useState(1);
  const [pauseWhenHidden, setPauseWhenHidden] = useState(true);
  const [pausedForHidden, setPausedForHidden] = useState(false);
  const [gpuMemory, setGpuMemoryState] = useState(storedGpuMemory);
  const subscribe = useCallback((fn: () => void) => (client ? client.subscribe(fn) : noop()), [client]);
  const view = useSyncExternalStore(subscribe, () => client?.state() ?? null);
  // A join from the console (tessera.run.join) shows here too.
  const joined = pausedForHidden || (view !== null && view.status !== 'idle' && view.status !== 'left');

  useEffect(() => {
    void tabRun().then((c) => {
      setClient(c);
      if (localStorage.getItem(CONTRIBUTING_KEY) === '1') c.join();
    });
  }, []);

  const join = useCallback(() => {
    localStorage.setItem(CONTRIBUTING_KEY, '1');
    client?.join();
  }, [client]);

  const leave = useCallback(() => {
    localStorage.removeItem(CONTRIBUTING_KEY);
    setPausedForHidden(false);
    client?.leave();
  }, [client]);

  const setDuty = useCallback(
    (d: number) => {
      setDutyState(d);
      client?.setDuty(d);
    },
    [client],
  );

  const setGpuMemory = useCallback((bytes: number) => {
    setGpuMemoryState(bytes);
    void saveGpuMemory(bytes);
  }, []);

  useEffect(() => {
    if (!client || !joined || !pauseWhenHidden) return;
    const onVisibility = () => {
      if (document.hidden) {
        client.leave();
        setPausedForHidden(true);
      } else {
        client.join();
        setPausedForHidden(false);
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, [client, joined, pauseWhenHidden]);

  return { ready: client !== null, view, joined, join, leave, duty, setDuty, pauseWhenHidden, setPauseWhenHidden, pausedForHidden, gpuMemory, setGpuMemory };
}
