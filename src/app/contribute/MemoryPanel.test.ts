import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../model/config';
import { planMemory } from '../../train/memory-plan';
import { MemoryPanel } from './MemoryPanel';

const plan = (budget: number) =>
  planMemory({
    model: getPreset('tinyDemo'),
    seqLen: 64,
    optimizer: { chunk: 64, topk: 8 },
    maxSequences: 64,
    maxUpdates: 16,
    budget,
    limits: { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 },
  });
const html = (p: ReturnType<typeof plan> | null) => renderToStaticMarkup(createElement(MemoryPanel, { plan: p }));
const testId = (markup: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(markup)?.[1];

describe('MemoryPanel', () => {
  it('shows the micro-batch and the planned memory against the allowed', () => {
    const m = html(plan(2 ** 31));
    expect(testId(m, 'run-micro-batch')).toBe('8 seq.');
    expect(testId(m, 'run-memory-total')).toMatch(/^[\d.]+ MiB · 2\.00 GiB$/);
    expect(m).not.toContain('run-memory-refused');
  });

  it('says why a model does not fit, with the sizes', () => {
    const m = html(plan(2 ** 20));
    expect(m).toMatch(/role="alert" data-testid="run-memory-refused">this tab cannot train this model: the model needs/);
    expect(testId(m, 'run-micro-batch')).toBe('—');
  });

  it('waits for a plan', () => {
    expect(html(null)).toContain('The plan appears when this tab joins a run');
  });
});
