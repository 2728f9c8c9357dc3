import { describe, expect, it } from 'vitest';
import { findModel } from '../../../models/registry.ts';
import { SessionPool } from '../../../models/session.ts';
import { FaceHead } from '../head.ts';
import type { EmbeddedFace } from '../types.ts';
import type { FaceDataset } from './dataset.ts';
import { bestUnderFalsePositiveRate, chooseTeachingPhotos, evaluateFaces, type EmbeddedPhoto } from './protocol.ts';

// Hand-made embeddings in 128-d: each person a direction; photos are that direction slightly perturbed.
const recognizer = findModel('face-recognition', 'mobilefacenet');
const head = new FaceHead({
  detector: findModel('face-detection', 'yunet-2023mar'),
  recognizer,
  sessions: new SessionPool(),
  resolve: { cacheDir: '/nonexistent', allowDownload: false },
});

function direction(axis: number, tilt = 0, towards = (axis + 1) % 128): Float32Array {
  const v = new Float32Array(128);
  v[axis] = Math.cos(tilt);
  v[towards] = Math.sin(tilt);
  return v;
}

function face(embedding: Float32Array, x = 0): EmbeddedFace {
  return {
    box: { x, y: 0, width: 40, height: 40 },
    score: 0.9,
    landmarks: [
      [0, 0],
      [1, 0],
      [0, 1],
      [0, 2],
      [1, 2],
    ],
    embedding,
  };
}

const photo = (...faces: EmbeddedFace[]): EmbeddedPhoto => ({ width: 300, height: 100, faces });

const dataset: FaceDataset = {
  root: '/set',
  identities: [
    { name: 'anna', photos: ['a1', 'a2', 'a3', 'a4'] },
    { name: 'bob', photos: ['b1', 'b2', 'b3'] },
  ],
  strangers: ['s1', 's2'],
  groups: [
    {
      path: 'g1',
      present: ['anna', 'bob'],
      faces: [
        { box: { x: 0, y: 0, width: 40, height: 40 }, identity: 'anna' },
        { box: { x: 200, y: 0, width: 40, height: 40 }, identity: 'bob' },
      ],
      everyoneStranger: false,
    },
    { path: 'g2', present: [], faces: [], everyoneStranger: true },
  ],
};

const photos = new Map<string, EmbeddedPhoto>([
  ['a1', photo(face(direction(0, 0.1)))],
  ['a2', photo(face(direction(0, 0.2)))],
  ['a3', photo(face(direction(0, -0.1, 5)))],
  ['a4', photo(face(direction(1, 0.4, 0)))], // looks more like bob than anna: a misidentification at low thresholds
  ['b1', photo(face(direction(1, 0.1)))],
  ['b2', photo(face(direction(1, 0.2)))],
  ['b3', photo()], // no face found: a miss
  ['s1', photo(face(direction(9)))],
  ['s2', photo(face(direction(0, 1.2, 9)))], // a stranger at cos 0.36 of anna
  ['g1', photo(face(direction(0, 0.05), 0), face(direction(1, 0.05), 200))],
  ['g2', photo(face(direction(20)), face(direction(21)))],
]);

/** Seeds whose one-shot choice teaches anna from a1..a3 and bob from b1..b2, so the counts below are known. */
const SEEDS = Array.from({ length: 200 }, (_, seed) => seed).filter((seed) => {
  const teaching = chooseTeachingPhotos(dataset, 1, seed);
  return (
    ['a1', 'a2', 'a3'].includes([...(teaching.get('anna') ?? [])][0]) &&
    ['b1', 'b2'].includes([...(teaching.get('bob') ?? [])][0])
  );
});

describe('evaluateFaces', () => {
  it('chooses the teaching photos by seed, the same every time', () => {
    const first = chooseTeachingPhotos(dataset, 2, 7);
    expect([...(first.get('anna') ?? [])]).toEqual([...(chooseTeachingPhotos(dataset, 2, 7).get('anna') ?? [])]);
    expect(first.get('anna')?.size).toBe(2);
    expect(first.get('bob')?.size).toBe(2);
  });

  it('counts hits, misses, misidentifications, false positives and group assignments', () => {
    expect(SEEDS.length).toBeGreaterThan(2);
    const strict = evaluateFaces(head, dataset, photos, { shots: 1, seeds: [SEEDS[0]], threshold: 0.9 });
    expect(strict.positives).toBe(3 + 2);
    // a4 goes to bob (misidentified), b3 has no face (missed); the rest are hits
    expect(strict.hits).toBe(3);
    expect(strict.misidentified).toBe(1);
    expect(strict.missed).toBe(1);
    expect(strict.recall).toBeCloseTo(3 / 5, 10);
    expect(strict.recall + strict.missRate + strict.misidentificationRate).toBeCloseTo(1, 10);
    // negatives: anna absent from 3 bob photos + 2 strangers + g2; bob absent from 4 anna photos + 2 strangers + g2
    expect(strict.negatives).toBe(6 + 7);
    expect(strict.falsePositives).toBe(1); // bob fires on a4
    expect(strict.photosWithoutFace).toBe(1);
    expect(strict.groups).toEqual({
      photos: 2,
      enrolledFaces: 2,
      enrolledFound: 2,
      enrolledCorrect: 2,
      enrolledWrong: 0,
      enrolledUnassigned: 0,
      strangerFaces: 2,
      strangersAssigned: 0,
    });

    const loose = evaluateFaces(head, dataset, photos, { shots: 1, seeds: [SEEDS[0]], threshold: 0.3 });
    expect(loose.falsePositives).toBeGreaterThan(strict.falsePositives); // the stranger s2 now passes as anna
    expect(loose.aloneFalsePositives).toBeGreaterThanOrEqual(loose.falsePositives);
  });

  it('sums counts over seeds and picks the best threshold under a false-positive rate', () => {
    const two = evaluateFaces(head, dataset, photos, { shots: 1, seeds: [1, 2], threshold: 0.9 });
    const one = [1, 2].map((seed) => evaluateFaces(head, dataset, photos, { shots: 1, seeds: [seed], threshold: 0.9 }));
    expect(two.positives).toBe(one[0].positives + one[1].positives);
    expect(two.hits).toBe(one[0].hits + one[1].hits);
    expect(two.perIdentity[0].hits).toBe(one[0].perIdentity[0].hits + one[1].perIdentity[0].hits);
    const sweep = [0.3, 0.9, 0.99].map((threshold) =>
      evaluateFaces(head, dataset, photos, { shots: 1, seeds: [SEEDS[1]], threshold }),
    );
    const best = bestUnderFalsePositiveRate(sweep, 0.1);
    expect(best?.threshold).toBe(0.9);
    expect(bestUnderFalsePositiveRate(sweep, -1)).toBeNull();
  });
});
