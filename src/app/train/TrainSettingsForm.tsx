/** Run settings. Locked while a run is active, except the GPU usage cap, which applies live. */
import type { FormEvent, ReactNode } from 'react';
import { formatCount } from '../format';
import { DATASETS, TRAIN_PRESETS, maxSeqLen, presetParameters, type Draft, type DraftErrors } from './settings';

interface Props {
  draft: Draft;
  errors: DraftErrors;
  locked: boolean;
  canStart: boolean;
  canStop: boolean;
  onChange(draft: Draft): void;
  onStart(): void;
  onStop(): void;
}

export function TrainSettingsForm({ draft, errors, locked, canStart, canStop, onChange, onStart, onStop }: Props) {
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => onChange({ ...draft, [key]: value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (canStart) onStart();
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label="Training settings">
      <h2>Settings</h2>
      <fieldset disabled={locked} style={{ border: 0, padding: 0, margin: 0 }}>
        <div className="form-grid">
          <Field label="Model preset" wide>
            <select value={draft.preset} onChange={(e) => set('preset', e.target.value)} data-testid="train-preset">
              {TRAIN_PRESETS.map((p) => (
                <option key={p} value={p}>
                  {p} ({formatCount(presetParameters(p))} parameters)
                </option>
              ))}
            </select>
          </Field>
          <Field label="Dataset" wide error={errors.dataset}>
            <select value={draft.dataset} onChange={(e) => set('dataset', e.target.value)} data-testid="train-dataset">
              {DATASETS.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </Field>
          <NumberField label="Batch size" value={draft.batchSize} error={errors.batchSize} onChange={(v) => set('batchSize', v)} testId="train-batch" />
          <NumberField
            label={`Seq len (≤ ${maxSeqLen(draft.preset)})`}
            value={draft.seqLen}
            error={errors.seqLen}
            onChange={(v) => set('seqLen', v)}
            testId="train-seqlen"
          />
          <NumberField label="Learning rate" value={draft.lr} error={errors.lr} onChange={(v) => set('lr', v)} testId="train-lr" step="any" />
          <NumberField label="Steps (0 = no limit)" value={draft.steps} error={errors.steps} onChange={(v) => set('steps', v)} testId="train-steps" />
        </div>
      </fieldset>
      <div className="form-grid" style={{ marginTop: '0.75rem' }}>
        <Field label={`GPU usage: ${Math.round(draft.duty * 100)}%`} wide>
          <input
            type="range"
            min={0.05}
            max={1}
            step={0.05}
            value={draft.duty}
            onChange={(e) => set('duty', Number(e.target.value))}
            aria-describedby="duty-help"
            data-testid="train-duty"
          />
          <small id="duty-help" className="muted">
            Share of time the GPU may be busy; lower keeps your machine cooler and more responsive.
          </small>
        </Field>
      </div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={!canStart} data-testid="train-start">
          Start
        </button>
        <button type="button" className="danger" disabled={!canStop} onClick={onStop} data-testid="train-stop">
          Stop
        </button>
      </div>
    </form>
  );
}

function Field({ label, wide, error, children }: { label: string; wide?: boolean; error?: string; children: ReactNode }) {
  return (
    <label className={`field${wide ? ' wide' : ''}`}>
      <span>{label}</span>
      {children}
      {error && <small className="field-error">{error}</small>}
    </label>
  );
}

interface NumberFieldProps {
  label: string;
  value: string;
  error?: string;
  step?: string;
  testId: string;
  onChange(value: string): void;
}

function NumberField({ label, value, error, step = '1', testId, onChange }: NumberFieldProps) {
  return (
    <Field label={label} error={error}>
      <input
        type="number"
        inputMode="decimal"
        step={step}
        value={value}
        aria-invalid={error ? true : undefined}
        onChange={(e) => onChange(e.target.value)}
        data-testid={testId}
      />
    </Field>
  );
}
