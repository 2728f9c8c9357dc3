// `myvlm worker` as typed: a wrong flag is a usage mistake (exit 2) and a
// missing queue a configuration problem naming MYVLM_QUEUE_URL (exit 1),
// both before any library or server is touched.
import { describe, expect, it } from 'vitest';
import { runMyvlm } from '../../test/support/cli.ts';

describe('myvlm worker', () => {
  it('refuses an unknown flag as a usage mistake', () => {
    const run = runMyvlm(['worker', '--answers'], { env: { MYVLM_QUEUE_URL: 'redis://127.0.0.1:1' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Unknown option --answers\.\nUsage: myvlm worker \[--lessons\]/);
  });

  it('needs MYVLM_QUEUE_URL', () => {
    const run = runMyvlm(['worker', '--lessons'], { env: { MYVLM_QUEUE_URL: '' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/MYVLM_QUEUE_URL/);
  });
});
