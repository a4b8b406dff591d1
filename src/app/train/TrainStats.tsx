/** The live numbers of a run, from the latest step report. */
import type { ReactNode } from 'react';
import { DASH, formatCount, formatInt, formatNum } from '../format';
import type { TrainerState } from './useTrainer';

export function TrainStats({ state }: { state: TrainerState }) {
  const r = state.latest;
  const total = state.settings?.steps;
  return (
    <div className="stats">
      <Stat label="Step">
        <span data-testid="train-step">{r ? formatInt(r.step) : DASH}</span>
        {r && total ? <span className="unit"> / {formatInt(total)}</span> : null}
      </Stat>
      <Stat label="Loss">
        <span data-testid="train-loss">{formatNum(r?.loss, 4)}</span>
      </Stat>
      <Stat label="Tokens / s">
        <span data-testid="train-tps">{r ? formatInt(r.tokensPerSec) : DASH}</span>
      </Stat>
      <Stat label="Step time">
        <span data-testid="train-step-ms">{formatNum(r?.stepMs, 3)}</span>
        {r && <span className="unit"> ms</span>}
      </Stat>
      <Stat label="Grad norm">
        <span data-testid="train-grad-norm">{formatNum(r?.gradNorm, 3)}</span>
      </Stat>
      <Stat label="Learning rate">
        <span data-testid="train-lr-now">{formatNum(r?.lr, 3)}</span>
      </Stat>
      <Stat label="Parameters">
        <span>{formatCount(state.parameters)}</span>
      </Stat>
    </div>
  );
}

export function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{children}</div>
    </div>
  );
}
