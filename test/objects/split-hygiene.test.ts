// No photo sits on both sides of a split of the real MyVLM folder: for every
// (concept, fold), nothing a head could train on (any negative source) is
// among its test photos, compared by content (sha256, recomputed here from
// the files), and the calibration and test halves share no photo.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObjectDataset, splitForCalibration, type ObjectDataset } from '../../src/heads/object/dataset.ts';
import { foldSplit } from '../../src/heads/object/folds.ts';
import { contentHash as hashOfFile } from '../../src/image/content-hash.ts';
import { SHARED_DATA } from '../support/paths.ts';

const MYVLM = path.join(SHARED_DATA, 'myvlm');
const SHOTS = 4;
const FOLDS = 5;
const memo = new Map<string, string>();
/** The file's sha256, read from disk here rather than trusted from the loader. */
function contentHash(file: string): string {
  let hash = memo.get(file);
  if (hash === undefined) memo.set(file, (hash = hashOfFile(file)));
  return hash;
}

function allFiles(dataset: ObjectDataset): string[] {
  return [
    ...dataset.concepts.flatMap((c) => c.photos),
    ...[...dataset.hardNegatives.values()].flat(),
    ...dataset.random,
  ];
}

/** Training and test contents that meet in some (concept, fold); and how many test photos were checked. */
function overlaps(dataset: ObjectDataset): { shared: string[]; tested: number } {
  const shared: string[] = [];
  let tested = 0;
  for (const concept of dataset.concepts) {
    for (let fold = 0; fold < FOLDS; fold++) {
      const split = foldSplit(dataset, concept.name, fold, { shots: SHOTS, seed: 0 });
      const train = new Set(
        [...split.trainPositives, ...Object.values(split.trainNegatives).flat()].map((f) => contentHash(f)),
      );
      const tests = [...split.testPositives, ...split.testNegatives.map(([, f]) => f)];
      tested += tests.length;
      for (const file of tests) if (train.has(contentHash(file))) shared.push(`${concept.name}/${fold}: ${file}`);
      // Each test photo is counted once per (concept, fold), even when several folders list it.
      expect(new Set(tests.map((f) => contentHash(f))).size).toBe(tests.length);
    }
  }
  return { shared, tested };
}

describe('content hygiene of the object evaluation on ../shared/data/myvlm', () => {
  const dataset = loadObjectDataset(MYVLM, { shots: SHOTS });
  const { calibration, test } = splitForCalibration(dataset);

  it('holds every content once and says that 14 hard negatives are listed under several concepts', () => {
    const files = allFiles(dataset);
    const hashes = new Set(files.map((f) => contentHash(f)));
    expect(new Set(files).size).toBe(hashes.size);
    expect(dataset.concepts).toHaveLength(16);
    expect(dataset.random).toHaveLength(50);
    expect(dataset.warnings).toEqual([
      '14 photo(s) are in more than one negatives/ folder: each counts once, as an own hard negative of every concept that lists it.',
    ]);
    // 000000107922.jpg is in the cat_statue, ceramic_head and small_penguin folders: one path, listed by all three.
    const copy = dataset.hardNegatives.get('cat_statue')?.find((f) => f.endsWith('000000107922.jpg'));
    expect(copy).toBeDefined();
    expect(dataset.hardNegatives.get('ceramic_head')).toContain(copy);
    expect(dataset.hardNegatives.get('small_penguin')).toContain(copy);
  });

  it('never tests a (concept, fold) on a photo it could train on, in the whole set and in each half', () => {
    for (const part of [dataset, calibration, test]) {
      const { shared, tested } = overlaps(part);
      expect(shared).toEqual([]);
      expect(tested).toBeGreaterThan(1000);
    }
  });

  it('splits whole concepts into halves that share no photo', () => {
    expect(calibration.concepts.map((c) => c.name)).toEqual([
      'cat_statue',
      'colorful_teapot',
      'elephant_statue',
      'gengar_toy',
      'minion_toy',
      'red_piggy_bank',
      'robot_toy',
      'running_shoes',
    ]);
    expect(test.concepts.map((c) => c.name)).toEqual([
      'billy_dog',
      'bo',
      'ceramic_head',
      'espresso_cup',
      'maeve_dog',
      'sheep_plush',
      'skulls_mug',
      'small_penguin',
    ]);
    const calibrationHashes = new Set(allFiles(calibration).map((f) => contentHash(f)));
    const testHashes = allFiles(test).map((f) => contentHash(f));
    expect(testHashes.filter((h) => calibrationHashes.has(h))).toEqual([]);
    expect(calibration.random).toHaveLength(25);
    expect(test.random).toHaveLength(25);
    // Every distinct photo lands in exactly one half.
    expect(calibrationHashes.size + new Set(testHashes).size).toBe(new Set(allFiles(dataset)).size);
  });
});
