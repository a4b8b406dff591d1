/**
 * Train: one click to train the model in this tab, with live progress. The
 * work happens in a worker so the page stays responsive.
 */
import { useEffect, useMemo, useState } from 'react';
import { LossChart, type ChartSeries } from '../charts/LossChart';
import { TrainSettingsForm } from './TrainSettingsForm';
import { StepProfile } from './StepProfile';
import { TrainStats } from './TrainStats';
import { loadDraft, saveDraft, validateDraft, type Draft } from './settings';
import { useTrainer, type TrainPhase, type TrainerState } from './useTrainer';

const ACTIVE: TrainPhase[] = ['starting', 'running', 'stopping'];

export function TrainPage() {
  const { state, start, stop, setDuty } = useTrainer();
  const [draft, setDraft] = useState<Draft>(loadDraft);
  const { settings, errors } = useMemo(() => validateDraft(draft), [draft]);
  const active = ACTIVE.includes(state.phase);

  useEffect(() => saveDraft(draft), [draft]);

  const onChange = (next: Draft) => {
    if (next.duty !== draft.duty) setDuty(next.duty);
    setDraft(next);
  };

  const series = useMemo<ChartSeries[]>(
    () => [
      { name: 'loss', points: state.loss },
      { name: 'smoothed', points: state.lossEma },
    ],
    [state.loss, state.lossEma],
  );

  return (
    <section>
      <h2 className="page-title">Train</h2>
      <p className="page-lead">
        Train an MLA language model on this machine's GPU. Training runs in a background worker; you can keep using the
        page, and lower the GPU usage at any time.
      </p>
      <div className="train-layout">
        <TrainSettingsForm
          draft={draft}
          errors={errors}
          locked={active}
          canStart={!active && settings !== null}
          canStop={state.phase === 'starting' || state.phase === 'running'}
          onChange={onChange}
          onStart={() => settings && start(settings)}
          onStop={stop}
        />
        <div>
          <StatusLine state={state} />
          {state.error && (
            <div className="alert" role="alert" data-testid="train-error">
              {state.error}
            </div>
          )}
          {state.warning && (
            <div className="alert warn" data-testid="train-warning">
              {state.warning}
            </div>
          )}
          <TrainStats state={state} />
          <div className="card">
            <h2>Loss</h2>
            <LossChart series={series} data-testid="loss-chart" emptyText="The loss curve appears here once training starts." />
          </div>
          <StepProfile report={state.latest} />
        </div>
      </div>
    </section>
  );
}

function StatusLine({ state }: { state: TrainerState }) {
  return (
    <p className="status-line" aria-live="polite">
      <span className="dot" data-phase={state.phase} aria-hidden="true" />
      <span data-testid="train-status" data-phase={state.phase}>
        {state.status}
      </span>
      {state.adapter && <span className="muted small">· {state.adapter}</span>}
    </p>
  );
}
