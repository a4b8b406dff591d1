/**
 * Owns the training worker: starts it, validates every message both ways
 * (the worker is a trust boundary like any other), and turns its reports into
 * UI state. Step reports are batched to ~10 UI updates a second because a
 * tiny model can report faster than React should re-render.
 */
import { useCallback, useEffect, useReducer, useRef } from 'react';
import { FromWorkerSchema, ToWorkerSchema, type FromWorker, type StepReport, type ToWorker, type TrainSettings } from '../../train/protocol';
import type { Point } from '../charts/LossChart';
import { errorMessage } from '../format';
import { recordProfile } from '../../gpu/profile-store';

export type TrainPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'error';

export interface TrainerState {
  phase: TrainPhase;
  /** The latest human-readable status (worker status messages, stop reasons). */
  status: string;
  error: string | null;
  /** Malformed messages from the worker: shown, but training goes on. */
  warning: string | null;
  settings: TrainSettings | null;
  parameters?: number;
  adapter?: string;
  latest?: StepReport;
  loss: Point[];
  /** Bias-corrected exponential moving average of the loss, for a readable trend. */
  lossEma: Point[];
}

type Action =
  | { type: 'start'; settings: TrainSettings }
  | { type: 'stopping' }
  | { type: 'steps'; reports: StepReport[] }
  | { type: 'message'; message: Exclude<FromWorker, { type: 'step' }> }
  | { type: 'bad-message'; detail: string }
  | { type: 'failed'; message: string }
  | { type: 'terminated'; reason: string };

const EMA_DECAY = 0.9;
const FLUSH_MS = 100;
/** How long Stop waits for the worker to confirm before terminating it. */
const STOP_GRACE_MS = 10_000;

const initialState: TrainerState = {
  phase: 'idle',
  status: 'Ready. Choose settings and press Start.',
  error: null,
  warning: null,
  settings: null,
  loss: [],
  lossEma: [],
};

function reducer(state: TrainerState, action: Action): TrainerState {
  switch (action.type) {
    case 'start':
      return { ...initialState, phase: 'starting', status: 'Starting the training worker…', settings: action.settings };
    case 'stopping':
      return { ...state, phase: 'stopping', status: 'Stopping after the current step…' };
    case 'steps': {
      const loss = state.loss.slice();
      const lossEma = state.lossEma.slice();
      for (const r of action.reports) {
        loss.push({ x: r.step, y: r.loss });
        // Bias correction keeps the first points from being dragged towards 0.
        const n = lossEma.length + 1;
        const prevRaw = n > 1 ? lossEma[n - 2].y * (1 - EMA_DECAY ** (n - 1)) : 0;
        const raw = EMA_DECAY * prevRaw + (1 - EMA_DECAY) * r.loss;
        lossEma.push({ x: r.step, y: raw / (1 - EMA_DECAY ** n) });
      }
      const latest = action.reports[action.reports.length - 1];
      const phase = state.phase === 'starting' ? 'running' : state.phase;
      return { ...state, phase, latest, loss, lossEma };
    }
    case 'message': {
      const m = action.message;
      if (m.type === 'status') return { ...state, status: m.message };
      if (m.type === 'started') {
        return { ...state, phase: state.phase === 'stopping' ? 'stopping' : 'running', status: 'Training.', parameters: m.parameters, adapter: m.adapter };
      }
      if (m.type === 'stopped') {
        // An error was already reported in full; its trailing 'stopped' adds nothing.
        if (state.phase === 'error') return state;
        return { ...state, phase: 'stopped', status: stopStatus(m.reason) };
      }
      return { ...state, phase: 'error', status: 'Training failed.', error: m.message };
    }
    case 'bad-message':
      return { ...state, warning: `Ignored a malformed message from the training worker: ${action.detail}` };
    case 'failed':
      return { ...state, phase: 'error', status: 'Training failed.', error: action.message };
    case 'terminated':
      return state.phase === 'stopped' || state.phase === 'error' ? state : { ...state, phase: 'stopped', status: `Stopped: ${action.reason}` };
  }
}

/** The worker's stop reasons are terse words; known ones read better as sentences. */
function stopStatus(reason: string): string {
  if (reason === 'finished') return 'Finished: all steps done.';
  if (reason === 'stopped') return 'Stopped.';
  return `Stopped: ${reason}`;
}

export interface Trainer {
  state: TrainerState;
  start(settings: TrainSettings): void;
  stop(): void;
  /** The volunteer's GPU usage cap; applies live while running. */
  setDuty(duty: number): void;
}

export function useTrainer(): Trainer {
  const [state, dispatch] = useReducer(reducer, initialState);
  const worker = useRef<Worker | null>(null);
  const pendingSteps = useRef<StepReport[]>([]);
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const stopTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const flush = useCallback(() => {
    if (flushTimer.current) clearTimeout(flushTimer.current);
    flushTimer.current = null;
    if (pendingSteps.current.length === 0) return;
    const reports = pendingSteps.current;
    pendingSteps.current = [];
    dispatch({ type: 'steps', reports });
  }, []);

  const terminate = useCallback(() => {
    if (stopTimer.current) clearTimeout(stopTimer.current);
    stopTimer.current = null;
    worker.current?.terminate();
    worker.current = null;
  }, []);

  const post = useCallback((message: ToWorker): boolean => {
    const checked = ToWorkerSchema.safeParse(message);
    if (!checked.success) {
      dispatch({ type: 'failed', message: `Refused to send an invalid ${message.type} message: ${checked.error.message}` });
      return false;
    }
    worker.current?.postMessage(checked.data);
    return true;
  }, []);

  const onMessage = useCallback(
    (self: Worker, ev: MessageEvent<unknown>) => {
      if (self !== worker.current) return; // a late message from a worker we already replaced
      const parsed = FromWorkerSchema.safeParse(ev.data);
      if (!parsed.success) {
        console.error('Malformed message from the training worker:', ev.data, parsed.error);
        dispatch({ type: 'bad-message', detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ') });
        return;
      }
      const message = parsed.data;
      if (message.type === 'step') {
        pendingSteps.current.push(message.report);
        if (message.report.profile) recordProfile('training', message.report.profile);
        flushTimer.current ??= setTimeout(flush, FLUSH_MS);
        return;
      }
      flush(); // keep order: steps that came before this message land first
      dispatch({ type: 'message', message });
      // After stopped or error the worker has nothing left to do; free its GPU memory.
      if (message.type === 'stopped' || message.type === 'error') terminate();
    },
    [flush, terminate],
  );

  const start = useCallback(
    (settings: TrainSettings) => {
      terminate();
      pendingSteps.current = [];
      dispatch({ type: 'start', settings });
      let w: Worker;
      try {
        w = new Worker(new URL('../../train/worker.ts', import.meta.url), { type: 'module', name: 'tessera-trainer' });
      } catch (err) {
        dispatch({ type: 'failed', message: `Could not start the training worker: ${errorMessage(err)}` });
        return;
      }
      worker.current = w;
      w.onmessage = (ev) => onMessage(w, ev);
      w.onmessageerror = () => {
        if (w === worker.current) dispatch({ type: 'bad-message', detail: 'a message could not be deserialized' });
      };
      w.onerror = (ev) => {
        if (w !== worker.current) return;
        console.error('Training worker error:', ev);
        flush();
        dispatch({
          type: 'failed',
          message: ev.message ? `The training worker crashed: ${ev.message}` : 'The training worker failed to load or crashed (see the console for details).',
        });
        terminate();
      };
      if (!post({ type: 'start', settings })) terminate();
    },
    [flush, onMessage, post, terminate],
  );

  const stop = useCallback(() => {
    if (!worker.current) return;
    dispatch({ type: 'stopping' });
    post({ type: 'stop' });
    stopTimer.current ??= setTimeout(() => {
      flush();
      terminate();
      dispatch({ type: 'terminated', reason: 'the worker did not confirm in time, so it was terminated' });
    }, STOP_GRACE_MS);
  }, [flush, post, terminate]);

  const setDuty = useCallback(
    (duty: number) => {
      if (worker.current) post({ type: 'duty', duty });
    },
    [post],
  );

  useEffect(
    () => () => {
      if (flushTimer.current) clearTimeout(flushTimer.current);
      flushTimer.current = null;
      terminate();
    },
    [terminate],
  );

  return { state, start, stop, setDuty };
}
