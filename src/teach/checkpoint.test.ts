import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromCheckpoint, readJsonIfPresent, toCheckpoint, writeJsonAtomic } from './checkpoint.ts';
import { initialTrainingState } from './trainer.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'myvlm-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoints', () => {
  it('round-trip a training state exactly through an atomic file', () => {
    const state = initialTrainingState(5, 3);
    state.step = 25;
    state.optimizer.step = 25;
    state.optimizer.firstMoment.set([0.1, -1 / 3, 1e-300, 5, Math.PI]);
    state.losses.push(2.5, 1 / 7);
    const file = path.join(dir, 'checkpoint.json');
    writeJsonAtomic(file, toCheckpoint(state, 'run-a'));
    expect(readdirSync(dir)).toEqual(['checkpoint.json']);
    const restored = fromCheckpoint(readJsonIfPresent(file), 'run-a');
    expect(restored).toBeDefined();
    expect(Array.from(restored!.vector)).toEqual(Array.from(state.vector));
    expect(Array.from(restored!.optimizer.firstMoment)).toEqual(Array.from(state.optimizer.firstMoment));
    expect(restored!.losses).toEqual([2.5, 1 / 7]);
    expect(restored!.step).toBe(25);
  });

  it('ignores a checkpoint of another run, a malformed one, and a missing file', () => {
    const stored = toCheckpoint(initialTrainingState(3, 1), 'run-a');
    expect(fromCheckpoint(stored, 'run-b')).toBeUndefined();
    expect(fromCheckpoint({ ...stored, vector: [] }, 'run-a')).toBeUndefined();
    expect(readJsonIfPresent(path.join(dir, 'absent.json'))).toBeUndefined();
  });
});
