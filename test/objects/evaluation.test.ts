// The evaluation protocol on a small layout of real MyVLM photos (symlinked
// into a temporary folder, never copied): counts, splits and report fields.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadObjectDataset, photosIn } from '../../src/heads/object/dataset.ts';
import { evaluateCalibrated, evaluateObjectHeads } from '../../src/heads/object/evaluation.ts';
import { teachingSplit, type NegativeSource } from '../../src/heads/object/folds.ts';
import { formatObjectReport } from '../../src/heads/object/report.ts';
import { FeatureCache } from '../../src/heads/object/feature-cache.ts';
import { openImageFeatureExtractor } from '../../src/heads/object/features.ts';
import { PhotoFeatures } from '../../src/heads/object/photo-features.ts';
import { SessionPool } from '../../src/models/session.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';

const MYVLM = path.join(SHARED_DATA, 'myvlm');
const CONCEPTS = ['bo', 'cat_statue', 'sheep_plush'];
let root: string;
const sessions = new SessionPool();

async function link(from: string, toDir: string, files: string[]): Promise<void> {
  await mkdir(toDir, { recursive: true });
  for (const f of files) await symlink(path.join(from, f), path.join(toDir, f));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'myvlm-objects-eval-'));
  for (const c of CONCEPTS) {
    const files = photosIn(path.join(MYVLM, 'concepts', c)).map((f) => path.basename(f));
    await link(path.join(MYVLM, 'concepts', c), path.join(root, 'concepts', c), files);
  }
  const hard = photosIn(path.join(MYVLM, 'negatives', 'cat_statue'))
    .slice(0, 6)
    .map((f) => path.basename(f));
  await link(path.join(MYVLM, 'negatives', 'cat_statue'), path.join(root, 'negatives', 'cat_statue'), hard);
  const random = photosIn(path.join(MYVLM, 'random'))
    .slice(0, 6)
    .map((f) => path.basename(f));
  await link(path.join(MYVLM, 'random'), path.join(root, 'random'), random);
});

afterAll(async () => {
  await sessions.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('teachingSplit', () => {
  it('teaches N photos per fold, tests on all others, and moves the window each fold', () => {
    const photos = Array.from({ length: 9 }, (_, i) => `p${i}`);
    const folds = [0, 1, 2].map((fold) => teachingSplit(photos, 4, fold, 0, 'x'));
    for (const { train, test } of folds) {
      expect(train).toHaveLength(4);
      expect(test).toHaveLength(5);
      expect(train.filter((p) => test.includes(p))).toEqual([]);
    }
    expect(folds[1].train).not.toEqual(folds[0].train);
    expect(teachingSplit(photos, 4, 1, 0, 'x')).toEqual(folds[1]);
    expect(teachingSplit(['a', 'b'], 4, 0, 0, 'x').test).toHaveLength(1);
  });
});

/** MobileNetV3-Small features with a fresh memory cache. */
async function mobilenetFeatures(): Promise<PhotoFeatures> {
  const extractor = await openImageFeatureExtractor('mobilenet-v3-small-576', {
    modelsDir: SHARED_MODELS,
    cacheDir: root,
    allowDownload: false,
    sessions,
  });
  return new PhotoFeatures(extractor, new FeatureCache());
}

describe('evaluateObjectHeads', () => {
  it('counts every held-out positive and every test negative once per fold, never a training photo', async () => {
    const dataset = loadObjectDataset(root);
    const features = await mobilenetFeatures();
    const options = {
      shots: 2,
      folds: 2,
      seed: 0,
      sources: ['hard', 'scope', 'random'] as const,
      positiveViews: 2,
      negativeViews: 1,
      normalization: 'l2-center' as const,
      regionGrids: [] as number[],
    };
    const { report } = await evaluateObjectHeads(dataset, features, { ...options, sources: [...options.sources] });
    const sizes = CONCEPTS.map((c) => photosIn(path.join(MYVLM, 'concepts', c)).length);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(report.positives.total).toBe(sizes.reduce((n, s) => n + (s - 2), 0) * 2);
    // Per concept and fold: other concepts' non-teaching photos, 3 random (held-out half), and the 6 hard
    // negatives: all 6 for the two other concepts, the held-out 3 for cat_statue itself.
    const otherConcepts = sizes.map((s) => total - s - 2 * (CONCEPTS.length - 1));
    expect(report.byNegativeKind.otherConcepts.total).toBe(otherConcepts.reduce((a, b) => a + b, 0) * 2);
    expect(report.byNegativeKind.random.total).toBe(3 * 3 * 2);
    expect(report.byNegativeKind.ownHard.total).toBe(3 * 2);
    expect(report.byNegativeKind.otherHard.total).toBe(6 * 2 * 2);
    expect(report.recall).toBeGreaterThan(0.3);
    expect(report.negativeAccuracy).toBeGreaterThan(0.8);
    expect(report.methods).toEqual(['trained']);
    expect(report.concepts.map((c) => c.name)).toEqual(CONCEPTS);
    expect(report.operatingPoints?.map((p) => p.negativeAccuracy)).toEqual([0.9, 0.95, 0.98]);
    expect(report.atThresholds).toBeUndefined();
    const { report: at } = await evaluateObjectHeads(dataset, features, {
      ...options,
      sources: [...options.sources],
      thresholds: [0, 1],
    });
    expect(at.operatingPoints).toBeUndefined();
    // Every probability is above 0 and none above 1: threshold 0 accepts everything, 1 rejects everything.
    expect(at.atThresholds).toEqual([
      { threshold: 0, recall: 1, negativeAccuracy: 0 },
      { threshold: 1, recall: 0, negativeAccuracy: 1 },
    ]);
    const { report: fresh } = await evaluateObjectHeads(dataset, features, { ...options, sources: [] });
    expect(fresh.methods).toEqual(['prototype']);
    expect(fresh.negatives.total).toBe(report.negatives.total);

    // Both halves: the test half is measured at the thresholds the calibration half chose, and says so.
    const both = await evaluateCalibrated(dataset, features, {
      ...options,
      sources: [...options.sources],
      calibrationOnly: false,
    });
    const calibrationNames = both.calibration.concepts.map((c) => c.name);
    const testNames = both.test?.concepts.map((c) => c.name) ?? [];
    expect([...calibrationNames, ...testNames].sort()).toEqual(CONCEPTS);
    expect(calibrationNames).toHaveLength(2);
    expect(both.test?.atThresholds?.map((a) => a.threshold)).toEqual(
      both.calibration.operatingPoints?.map((p) => p.threshold),
    );
    expect(both.test?.operatingPoints).toBeUndefined();
    const text = formatObjectReport(both, root);
    expect(text).toContain(`TEST half (1 concept: ${testNames[0]}): the results`);
    expect(text).toContain(`CALIBRATION half (2 concepts: ${calibrationNames.join(', ')}): where choices are made`);
    const calibrationOnly = await evaluateCalibrated(dataset, features, {
      ...options,
      sources: [...options.sources],
      calibrationOnly: true,
    });
    expect(calibrationOnly.test).toBeNull();
    expect(calibrationOnly.calibration.recall).toBe(both.calibration.recall);
  });

  it('reports whole-image, region and combined scoring side by side, with times and the localization check', async () => {
    const dataset = loadObjectDataset(root);
    const features = await mobilenetFeatures();
    const options = {
      shots: 2,
      folds: 1,
      seed: 0,
      sources: ['hard', 'scope', 'random'] as NegativeSource[],
      positiveViews: 2,
      negativeViews: 1,
      normalization: 'l2-center' as const,
    };
    const { report: whole } = await evaluateObjectHeads(dataset, features, { ...options, regionGrids: [] });
    const { report, samples } = await evaluateObjectHeads(dataset, features, { ...options, regionGrids: [2] });
    expect(whole.scoring).toBe('wholeImage');
    expect(Object.keys(whole.scorings)).toEqual(['wholeImage']);
    expect(whole.localization).toBeNull();
    expect(report.scoring).toBe('region');
    // Adding regions leaves the whole-image heads and their numbers as they were.
    expect(report.scorings.wholeImage?.recall).toBe(whole.recall);
    expect(report.scorings.wholeImage?.negativeAccuracy).toBe(whole.negativeAccuracy);
    expect(report.recall).toBe(report.scorings.region?.recall);
    expect(report.negativeAccuracy).toBe(report.scorings.region?.negativeAccuracy);
    for (const s of Object.values(report.scorings)) {
      expect(s.positives.total).toBe(whole.positives.total);
      expect(s.negatives.total).toBe(whole.negatives.total);
      expect(s.msPerPhoto).toBeGreaterThan(0);
    }
    // Three composites per concept (fold 0), each with a box inside its photo.
    expect(report.localization?.composites).toBe(3 * CONCEPTS.length);
    expect(samples).toHaveLength(3 * CONCEPTS.length);
    for (const sample of samples) {
      expect(sample.box.x + sample.box.width).toBeLessThanOrEqual(sample.image.width);
      expect(sample.pasted.x + sample.pasted.width).toBeLessThanOrEqual(sample.image.width);
    }
    expect(report.localization?.covered).toBe(samples.filter((s) => s.covered).length);
    expect(report.localization?.chance).toBeGreaterThan(0);
    expect(report.localization?.chance).toBeLessThan(1);
    // Without negatives the heads are prototypes, scored on the whole photo: the report says so.
    const { report: prototypes } = await evaluateObjectHeads(dataset, features, {
      ...options,
      sources: [],
      regionGrids: [2],
    });
    expect(prototypes.scoring).toBe('wholeImage');
    expect(prototypes.recall).toBe(prototypes.scorings.wholeImage?.recall);
  });
});
