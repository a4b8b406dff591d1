/**
 * Try the model: the run's latest checkpoint or this tab's live parameters,
 * a prompt, the sampling controls, and the continuation streaming in with
 * its tokens/s. Generation runs in its own worker with onnxruntime-web.
 */
import { useState, type ReactNode } from 'react';
import type { BackendChoice } from '../../generate/generate-protocol';
import { samplingSchema, type Sampling } from '../../generate/sampling';
import { formatCount } from '../format';
import { useGenerator, type Source } from './useGenerator';

const DEFAULT_SAMPLING: Sampling = { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };

export function TryModel() {
  const { state, load, generate, stop } = useGenerator();
  const [source, setSource] = useState<Source>('latest');
  const [backend, setBackend] = useState<BackendChoice>('auto');
  const [prompt, setPrompt] = useState('It is a truth universally acknowledged');
  const [sampling, setSampling] = useState<Sampling>(DEFAULT_SAMPLING);
  const [maxTokens, setMaxTokens] = useState(64);
  const valid = samplingSchema.safeParse(sampling).success && Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= 4096;
  const busy = state.status === 'loading' || state.status === 'generating';
  const set = (key: keyof Sampling) => (v: number) => setSampling((s) => ({ ...s, [key]: v }));

  return (
    <div className="card" data-testid="try-model">
      <h2>Try the model</h2>
      <p className="small muted">
        Runs the model in this tab with onnxruntime-web: on WebGPU, or on its wasm backend where WebGPU is missing or busy
        training. The page stays responsive while it generates.
      </p>
      <div className="form-grid">
        <Field label="Parameters">
          <select value={source} onChange={(e) => setSource(e.target.value as Source)} disabled={busy} data-testid="try-source">
            <option value="latest">the run’s latest checkpoint</option>
            <option value="live">this tab’s live parameters (while contributing)</option>
          </select>
        </Field>
        <Field label="Backend">
          <select value={backend} onChange={(e) => setBackend(e.target.value as BackendChoice)} disabled={busy} data-testid="try-backend">
            <option value="auto">auto</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">wasm (CPU)</option>
          </select>
        </Field>
      </div>
      <div className="form-actions">
        <button type="button" onClick={() => void load(source, backend)} disabled={busy} data-testid="try-load">
          Load
        </button>
        <span className="small muted" data-testid="try-loaded">
          {state.loaded
            ? `${formatCount(state.loaded.parameters)} parameters${state.loaded.step === null ? '' : ` at step ${state.loaded.step}`}, ${state.loaded.tokenizer} tokens, on ${state.loaded.backend}` +
              (state.loaded.fallback ? ` (${state.loaded.fallback})` : '') +
              ` — loaded in ${(state.loaded.ms / 1000).toFixed(1)} s`
            : 'nothing loaded'}
        </span>
      </div>
      <label className="field wide" style={{ marginTop: '0.75rem' }}>
        <span>Prompt</span>
        <textarea rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} data-testid="try-prompt" />
      </label>
      <div className="form-grid" style={{ marginTop: '0.75rem' }}>
        <NumberField label="Temperature (0 = greedy)" value={sampling.temperature} step="0.05" onChange={set('temperature')} testId="try-temperature" />
        <NumberField label="Top-k (0 = all)" value={sampling.topK} onChange={set('topK')} testId="try-topk" />
        <NumberField label="Top-p" value={sampling.topP} step="0.01" onChange={set('topP')} testId="try-topp" />
        <NumberField label="Repetition penalty" value={sampling.repetitionPenalty} step="0.05" onChange={set('repetitionPenalty')} testId="try-penalty" />
        <NumberField label="Max tokens" value={maxTokens} onChange={setMaxTokens} testId="try-max-tokens" />
      </div>
      <div className="form-actions">
        <button
          type="button"
          className="primary"
          disabled={state.status !== 'ready' || !valid || prompt.length === 0}
          onClick={() => void generate(prompt, sampling, maxTokens, Math.floor(Math.random() * 2 ** 32))}
          data-testid="try-generate"
        >
          Generate
        </button>
        <button type="button" className="danger" disabled={state.status !== 'generating'} onClick={stop} data-testid="try-stop">
          Stop
        </button>
        <span className="small muted" data-testid="try-rate">
          {state.tokens > 0 && `${state.tokens} tokens · prefill ${state.prefillTokensPerSec.toFixed(0)} tokens/s · decode ${state.decodeTokensPerSec.toFixed(1)} tokens/s`}
          {state.stopReason && ` · ${state.stopReason === 'eot' ? 'end of text' : state.stopReason === 'max' ? 'max tokens' : 'stopped'}`}
        </span>
      </div>
      <pre className="generated" data-testid="try-output" data-status={state.status}>
        <span className="muted">{prompt}</span>
        {state.output}
      </pre>
      {state.error && (
        <p className="field-error" role="alert" data-testid="try-error">
          {state.error}
        </p>
      )}
    </div>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

function NumberField({ label, value, step, onChange, testId }: { label: string; value: number; step?: string; onChange(v: number): void; testId: string }) {
  return (
    <Field label={label}>
      <input type="number" value={Number.isFinite(value) ? value : ''} step={step ?? '1'} onChange={(e) => onChange(Number(e.target.value))} data-testid={testId} />
    </Field>
  );
}
