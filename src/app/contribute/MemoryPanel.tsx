/**
 * This tab's memory plan for the run's model (src/train/memory-plan.ts): how
 * many sequences a forward/backward carries and where the memory goes, or,
 * when the model does not fit the volunteer's GPU memory setting, why.
 */
import { DASH, formatBytes, formatInt } from '../format';
import { Stat } from '../train/TrainStats';
import type { MemoryPlan } from '../../train/run-worker-protocol';

export const GPU_MEMORY_CHOICES = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64].map((gib) => gib * 2 ** 30);

export function MemoryPanel({ plan }: { plan: MemoryPlan | null }) {
  return (
    <div className="card memory-plan" data-testid="run-memory" aria-labelledby="run-memory-title">
      <h2 id="run-memory-title">GPU memory</h2>
      {plan === null ? (
        <p className="muted small">The plan appears when this tab joins a run: it is made from the run's model before anything is downloaded.</p>
      ) : (
        <>
          {!plan.fits && (
            <div className="alert" role="alert" data-testid="run-memory-refused">
              {plan.reason}
            </div>
          )}
          <div className="stats">
            <Stat label="Micro-batch">
              <span data-testid="run-micro-batch">{plan.fits ? `${formatInt(plan.microBatch)} seq.` : DASH}</span>
            </Stat>
            <Stat label="Planned · allowed">
              <span data-testid="run-memory-total">{`${formatBytes(plan.bytes.total)} · ${formatBytes(plan.budget)}`}</span>
            </Stat>
            <Stat label="Weights · gradients">
              <span>{`${formatBytes(plan.bytes.weights)} · ${formatBytes(plan.bytes.gradients)}`}</span>
            </Stat>
            <Stat label="Momentum · DeMo">
              <span>{`${formatBytes(plan.bytes.momentum)} · ${formatBytes(plan.bytes.demo)}`}</span>
            </Stat>
            <Stat label="Activations / sequence">
              <span>{formatBytes(plan.bytes.activationsPerSequence)}</span>
            </Stat>
          </div>
        </>
      )}
    </div>
  );
}
