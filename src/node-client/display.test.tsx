import { stripVTControlCharacters } from 'node:util';
import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { ProgressView, type DisplayInfo } from './display';
import type { Progress } from './progress';

const ID = '1234abcd5678ef90'.repeat(4);

function progress(over: Partial<Progress> = {}): Progress {
  return {
    status: 'training',
    phase: 'RoundTrain',
    epoch: 3,
    step: 42,
    appliedStep: 41,
    clientId: ID,
    checksum: '0123456789abcdef',
    points: 17,
    loss: 2.345678,
    tokensPerSec: 5120,
    members: 4,
    peers: { connected: 1, total: 2 },
    error: null,
    resumedFrom: null,
    ...over,
  };
}

const INFO: DisplayInfo = { coordinator: 'http://coord.example:8080', adapter: 'nvidia hopper NVIDIA H100', leaving: false };

/** The text drawn on a wide terminal, without colour codes (FORCE_COLOR may turn them on). */
function draw(p: Progress, info: DisplayInfo = INFO): string {
  return stripVTControlCharacters(renderToString(<ProgressView p={p} info={info} />, { columns: 200 }));
}

describe('ProgressView', () => {
  it('shows where the client stands', () => {
    const text = draw(progress());
    expect(text).toContain('training');
    expect(text).toContain('phase RoundTrain');
    expect(text).toContain('epoch 3');
    expect(text).toContain('round 42');
    expect(text).toContain('applied 41');
    expect(text).toContain('checksum 0123456789abcdef');
    expect(text).toContain('loss 2.3457');
    expect(text).not.toContain('2.345678');
    expect(text).toContain('5120 tokens/s');
    expect(text).toContain('points 17');
    expect(text).toContain('members 4');
    expect(text).toContain('peers 1/2');
    expect(text).toContain('client 1234abcd…');
    expect(text).not.toContain(ID);
    expect(text).toContain('http://coord.example:8080');
    expect(text).toContain('GPU: nvidia hopper NVIDIA H100');
    expect(text).not.toContain('error:');
    expect(text).not.toContain('leaving');
  });

  it('shows dashes for what is not known yet', () => {
    const text = draw(progress({ status: 'connecting', phase: null, clientId: null, checksum: null, loss: null }), { ...INFO, adapter: '' });
    expect(text).toContain('connecting');
    expect(text).toContain('phase —');
    expect(text).toContain('checksum —');
    expect(text).toContain('loss —');
    expect(text).toContain('client —');
    expect(text).toContain('GPU: (choosing)');
  });

  it('shows a loss of 0 as a number', () => {
    expect(draw(progress({ loss: 0 }))).toContain('loss 0.0000');
  });

  it('shows the error when there is one', () => {
    const text = draw(progress({ status: 'error', error: 'the GPU device was lost' }));
    expect(text).toContain('error: the GPU device was lost');
    expect(text).toContain('status: error');
  });

  it('says the client is leaving after this round', () => {
    const text = draw(progress(), { ...INFO, leaving: true });
    expect(text).toContain('leaving after this round');
    expect(text).toContain('Ctrl-C again');
  });
});
