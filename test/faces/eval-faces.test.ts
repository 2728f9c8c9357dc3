// `myvlm eval faces` end to end on a small folder-per-identity set built from
// links to the shared real photos (outside the repository).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { evalFacesCommand } from '../../src/cli/eval-faces.ts';
import { OperatorError, UserError } from '../../src/errors.ts';
import { FACE } from '../../src/config/defaults.ts';
import type { PerPersonRule } from '../../src/models/catalog/faces.ts';
import { SHARED_MODELS, sharedPhoto } from '../support/paths.ts';

/** The fields of `eval faces --json --sweep` this test reads. */
interface EvalJson {
  positives: number;
  negatives: number;
  recall: number;
  falsePositiveRate: number;
  missRate: number;
  missed: number;
  split: { calibrationPhotos: number; reportPhotos: number };
  calibration: { recall: number };
  verification: { report: { photos: number; genuinePairs: number; impostorPairs: number; auc: number } };
  sweep: Array<{ threshold: number; recall: number }>;
  bestUnderTargetFpr: { falsePositiveRate: number };
  chosen: { threshold: number; report: { aloneFalsePositiveRate: number } } | null;
  perPersonComparison: { rule: PerPersonRule; global: Summary; perPerson: Summary };
  perPersonSweep: {
    threshold: number;
    targetFpr: number;
    rulesTried: number;
    chosen: { rule: PerPersonRule; report: Summary };
  };
}

interface Summary {
  threshold: number;
  perPerson: PerPersonRule | null;
  recall: number;
  hits: number;
  positives: number;
  falsePositiveRate: number;
  negatives: number;
  aloneFalsePositiveRate: number;
  pairFalsePositiveRate: number | null;
  pairTrials: number;
}

let root = '';
const saved = { models: process.env.MYVLM_MODELS_DIR, offline: process.env.MYVLM_OFFLINE };

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'eval-faces-'));
  const link = (folder: string, ...photo: string[]) => {
    mkdirSync(path.join(root, folder), { recursive: true });
    symlinkSync(sharedPhoto(...photo), path.join(root, folder, path.basename(photo[photo.length - 1])));
  };
  for (const name of ['brad_1.jpg', 'brad_2.jpg', 'brad_3.jpg', 'brad_pitt_fit.jpg']) link('brad', 'faceonnx', name);
  for (const name of ['nicole_1.jpg', 'nicole_2.jpg', 'nicole_3.jpg', 'nicole_kidman_fit.jpg'])
    link('nicole', 'faceonnx', name);
  for (const name of ['obama.jpg', 'obama2.jpg', 'obama3.jpg', 'obama_small.jpg']) link('obama', 'ageitgey', name);
  link('_strangers', 'ageitgey', 'rose_leslie__img1.jpg');
  link('_strangers', 'ageitgey', 'kit_harington__john2.jpeg');
  // Not a photo format the set reads: a warning on stderr, never in the --json output.
  writeFileSync(path.join(root, 'brad', 'brad_4.heic'), '');
  process.env.MYVLM_MODELS_DIR = SHARED_MODELS;
  process.env.MYVLM_OFFLINE = '1';
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  for (const [key, value] of [
    ['MYVLM_MODELS_DIR', saved.models],
    ['MYVLM_OFFLINE', saved.offline],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const writes: string[] = [];
  const errors: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  const errorSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    errors.push(String(chunk));
    return true;
  });
  try {
    const code = await evalFacesCommand(args);
    return { code, out: writes.join(''), err: errors.join('') };
  } finally {
    spy.mockRestore();
    errorSpy.mockRestore();
  }
}

describe('myvlm eval faces', () => {
  it('prints one JSON object with the headline figures and a sweep', async () => {
    const { code, out, err } = await run(
      root,
      '--shots',
      '2',
      '--seed',
      '3',
      '--detector',
      'yunet-s-dynamic',
      '--recognizer',
      'mobilefacenet',
      '--json',
      '--sweep',
    );
    expect(code).toBe(0);
    expect(err).toContain(
      `warning: ${path.join(root, 'brad')}: 1 file(s) ignored (brad_4.heic): only .jpg, .jpeg, .png and .webp are read.\n`,
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]) as EvalJson;
    expect(result).toMatchObject({
      identities: 3,
      shots: 2,
      seeds: [3],
      detector: 'yunet-s-dynamic',
      recognizer: 'mobilefacenet',
      threshold: 0.475,
    });
    // Each folder split by content: 2 photos per person and 1 stranger in each half.
    expect(result.split).toEqual({ calibrationPhotos: 7, reportPhotos: 7 });
    // Report half, taught from the calibration half: 3 people x 2 photos;
    // 3 people x (4 report photos of the others + 1 stranger) negatives.
    expect(result.positives).toBe(6);
    expect(result.negatives).toBe(15);
    expect(result.recall).toBeGreaterThanOrEqual(5 / 6);
    expect(result.falsePositiveRate).toBe(0);
    expect(result.missRate).toBeCloseTo(result.missed / 6, 10);
    // 7 report photos: 3 genuine pairs (one per person), 18 impostor pairs.
    expect(result.verification.report).toMatchObject({ photos: 7, genuinePairs: 3, impostorPairs: 18 });
    expect(result.verification.report.auc).toBeGreaterThan(0.9);
    expect(result.sweep).toHaveLength(80);
    expect(result.sweep[0].threshold).toBe(0.2);
    expect(result.sweep[79].threshold).toBe(0.99);
    expect(result.bestUnderTargetFpr.falsePositiveRate).toBeLessThanOrEqual(0.01);
    // Both calibration photos of each person teach: no calibration trial is positive, so the choice rests on negatives.
    expect(result.chosen?.threshold).toBeGreaterThanOrEqual(0.2);

    // The global threshold against the recognizer's per-person rule, on the report half.
    const { rule, global, perPerson } = result.perPersonComparison;
    expect(rule).toEqual(FACE.mobileFaceNet.perPerson);
    expect(global).toMatchObject({ threshold: 0.475, perPerson: null, recall: result.recall, negatives: 15 });
    expect(perPerson).toMatchObject({ threshold: 0.475, perPerson: rule, positives: 6, negatives: 15 });
    // Each person is absent from 5 report photos, in a scope with each of the 2 others: 3 x 5 x 2 trials.
    expect(global.pairTrials).toBe(30);
    expect(perPerson.pairTrials).toBe(30);
    // Lower thresholds only add matches; a person taught alone keeps the global one.
    expect(perPerson.hits).toBeGreaterThanOrEqual(global.hits);
    expect(perPerson.aloneFalsePositiveRate).toBe(global.aloneFalsePositiveRate);
    expect(global.pairFalsePositiveRate).toBe(0);
    // With no positive calibration trial every rule ties at recall 0: the most careful one is chosen.
    expect(result.perPersonSweep).toMatchObject({ threshold: 0.475, targetFpr: 0.005, rulesTried: 480 });
    expect(result.perPersonSweep.chosen.rule).toEqual({ maxLowering: 0.01, margin: 0.1 });
    expect(result.perPersonSweep.chosen.report.pairTrials).toBe(30);
  });

  it('prints a readable report and honours --threshold', async () => {
    const { code, out } = await run(
      root,
      '--shots',
      '2',
      '--detector',
      'yunet-s-dynamic',
      '--recognizer',
      'mobilefacenet',
      '--threshold',
      '0.99',
    );
    expect(code).toBe(0);
    expect(out).toMatch(/threshold 0\.99/);
    expect(out).toMatch(/recall\s+0\.00%/);
    expect(out).toMatch(/brad\s+2\s+0\.00% \(0\/2\)/);
    expect(out).toContain('Global threshold against per-person thresholds, report half');
    expect(out).toMatch(/\nglobal 0\.99 +0\.00% \(0\/6\) +0\.00% \(0\/15\) +0\.00% \(0\) +0\.00% \(0\/30\)/);
    expect(out).toMatch(/\nper person \(lower by <= [0-9.]+, margin -?[0-9.]+\) +\d+\.\d\d% \(\d\/6\)/);
  });

  it('refuses bad arguments with a plain message', async () => {
    await expect(run(root, '--shots', 'two')).rejects.toThrow(UserError);
    await expect(run(root, '--shots', 'two')).rejects.toThrow('--shots takes a whole number of at least 1, not "two".');
    await expect(run(root, '--threshold', '3')).rejects.toThrow(UserError);
    await expect(run(root, '--threshold', '3')).rejects.toThrow(/cosine similarity/);
    await expect(run()).rejects.toThrow(UserError);
    await expect(run()).rejects.toThrow(/one dataset folder/);
    await expect(run(root, '--recognizer', 'nope')).rejects.toThrow(/Unknown face-recognition model "nope"/);
    await expect(run(root, '--per-person', '0.5')).rejects.toThrow(
      '--per-person takes the largest lowering (0 to 1) and the margin (-1 to 1), as in 0.02,0; not "0.5".',
    );
    await expect(run(root, '--frobnicate')).rejects.toThrow(UserError);
    await expect(run(root, '--frobnicate')).rejects.toThrow(/--frobnicate/);
    await expect(run(path.join(root, 'no-such-set'))).rejects.toThrow(OperatorError);
    await expect(run(path.join(root, 'no-such-set'))).rejects.toThrow(/no-such-set is not a folder\./);
  });
});
