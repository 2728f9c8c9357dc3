// What the terminal chat prints of a lesson: every 25th step and the last line.
import { describe, expect, it } from 'vitest';
import { terminalPrints } from './terminal.ts';

const notice = { scope: 'terminal:local', key: 'job-1' };

describe('terminalPrints', () => {
  it('prints every 25th step and the final line, nothing in between', () => {
    const steps = Array.from({ length: 100 }, (_, i) => i + 1).filter((at) =>
      terminalPrints({ ...notice, text: `step ${at}`, step: { at, of: 100 }, done: false }),
    );
    expect(steps).toEqual([25, 50, 75, 100]);
    expect(terminalPrints({ ...notice, text: 'Learning Rex: loading the model…', done: false })).toBe(false);
    expect(terminalPrints({ ...notice, text: 'Learned how to talk about Rex.', done: true })).toBe(true);
    expect(terminalPrints({ ...notice, text: 'I could not finish learning to talk about Rex.', done: true })).toBe(
      true,
    );
  });
});
