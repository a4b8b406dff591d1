/**
 * Try the model, as React state: load a checkpoint (the run's latest, or
 * this tab's live parameters) into the generation worker, then generate,
 * streaming the text as it comes. The worker is made on first use and kept.
 */
import { useCallback, useRef, useState } from 'react';
import { httpCatchUp } from '../../run-client/catch-up';
import { coordinatorOrigin, tabRun } from '../../run-client/tab-run';
import type { BackendChoice } from '../../generate/generate-protocol';
import { GeneratorLink, type Loaded } from '../../generate/generator-link';
import type { Sampling } from '../../generate/sampling';

export type Source = 'latest' | 'live';
export type GenStatus = 'idle' | 'loading' | 'ready' | 'generating' | 'error';

export interface GenState {
  status: GenStatus;
  loaded: (Loaded & { source: Source; step: number | null }) | null;
  output: string;
  tokens: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  stopReason: string | null;
  error: string | null;
}

const INITIAL: GenState = { status: 'idle', loaded: null, output: '', tokens: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0, stopReason: null, error: null };

export function useGenerator() {
  const [state, setState] = useState<GenState>(INITIAL);
  const link = useRef<GeneratorLink | null>(null);
  const running = useRef<number | null>(null);
  const worker = () => (link.current ??= GeneratorLink.spawn());
  const fail = (err: unknown) => setState((s) => ({ ...s, status: 'error', error: err instanceof Error ? err.message : String(err) }));

  const load = useCallback(async (source: Source, backend: BackendChoice) => {
    setState((s) => ({ ...s, status: 'loading', error: null }));
    try {
      let bytes: Uint8Array;
      let step: number | null = null;
      let choice = backend;
      if (source === 'latest') {
        const c = await httpCatchUp(coordinatorOrigin()).latestCheckpoint();
        bytes = c.bytes;
        step = c.step;
      } else {
        const client = await tabRun();
        bytes = await client.exportParams();
        step = client.state().appliedStep;
        // The tab's GPU trains for the run: leave it to that unless WebGPU is asked for by name.
        if (backend === 'auto' && client.state().status === 'training') choice = 'wasm';
      }
      const loaded = await worker().load(bytes, choice);
      setState((s) => ({ ...s, status: 'ready', loaded: { ...loaded, source, step } }));
    } catch (err) {
      fail(err);
    }
  }, []);

  const generate = useCallback(async (prompt: string, sampling: Sampling, maxTokens: number, seed: number) => {
    setState((s) => ({ ...s, status: 'generating', output: '', tokens: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0, stopReason: null, error: null }));
    try {
      const { id, done } = worker().generate({ prompt, sampling, maxTokens, seed }, (t) =>
        setState((s) => ({
          ...s,
          output: s.output + t.text,
          tokens: t.count,
          prefillTokensPerSec: t.prefillTokensPerSec || s.prefillTokensPerSec,
          decodeTokensPerSec: t.decodeTokensPerSec || s.decodeTokensPerSec,
        })),
      );
      running.current = id;
      const end = await done;
      setState((s) => ({ ...s, status: 'ready', tokens: end.count, stopReason: end.reason }));
    } catch (err) {
      fail(err);
    } finally {
      running.current = null;
    }
  }, []);

  const stop = useCallback(() => {
    if (running.current !== null) link.current?.stop(running.current);
  }, []);

  return { state, load, generate, stop };
}
