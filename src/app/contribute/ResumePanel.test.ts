import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { RunView } from '../../run-client/run-client';
import { ResumePanel } from './ResumePanel';

const html = (r: RunView['resume'] | null) => renderToStaticMarkup(createElement(ResumePanel, { resume: r }));
const testId = (markup: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(markup)?.[1];

describe('ResumePanel', () => {
  it('says a reload came from the saved state, and what the last save cost', () => {
    const m = html({ from: 'record', step: 12, momentumStep: 11, ms: 340, saved: { saves: 5, skipped: 1, savedStep: 14, readMs: 1.25, putMs: 3.5 } });
    expect(testId(m, 'run-loaded-from')).toBe("this browser’s saved state, step 12 (340 ms)");
    expect(testId(m, 'run-last-save')).toBe('step 14: read 1.3 ms + write 3.5 ms');
  });

  it('says a join came from the checkpoint, and shows dashes before anything happened', () => {
    expect(testId(html({ from: 'checkpoint', step: 0, momentumStep: -1, ms: 80, saved: null }), 'run-loaded-from')).toBe("the run’s checkpoint, step 0 (80 ms)");
    const empty = html(null);
    expect(testId(empty, 'run-loaded-from')).toBe('—');
    expect(testId(empty, 'run-last-save')).toBe('—');
  });
});
