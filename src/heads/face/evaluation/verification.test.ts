import { describe, expect, it } from 'vitest';
import type { FaceDataset } from './dataset.ts';
import type { EmbeddedPhoto } from './protocol.ts';
import { pairScores, verificationFigures } from './verification.ts';

describe('verificationFigures', () => {
  it('gives AUC 1 when every genuine pair outscores every impostor pair, 0.5 for indistinguishable ones', () => {
    expect(verificationFigures([0.9, 0.8], [0.1, 0.2, 0.3]).auc).toBe(1);
    expect(verificationFigures([0.5, 0.5], [0.5, 0.5]).auc).toBe(0.5);
    // One of the 2 x 2 orderings is wrong: 3/4.
    expect(verificationFigures([0.9, 0.4], [0.5, 0.1]).auc).toBe(0.75);
  });

  it('sets the TAR threshold so that at most FAR of the impostor pairs get through', () => {
    const impostor = Array.from({ length: 1000 }, (_, i) => i / 1000); // 0 .. 0.999
    const genuine = [0.9985, 0.9995, 0.5];
    const [at1e3, at1e2] = verificationFigures(genuine, impostor).tarAtFar;
    // 1 impostor in 1000 may pass: threshold is the second highest impostor score (0.998).
    expect(at1e3).toEqual({ far: 1e-3, threshold: 0.998, tar: 2 / 3 });
    expect(at1e2.threshold).toBe(0.989);
    expect(at1e2.tar).toBe(2 / 3);
  });
});

describe('pairScores', () => {
  const face = (x: number, size: number, embedding: number[] | null) => ({
    box: { x, y: 0, width: size, height: size },
    score: 1,
    landmarks: [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0.5, 0.5],
    ] as const,
    embedding: embedding ? Float32Array.from(embedding) : null,
  });
  const photo = (...faces: ReturnType<typeof face>[]): EmbeddedPhoto => ({ width: 100, height: 100, faces });
  const dataset: FaceDataset = {
    root: '/',
    identities: [
      { name: 'a', photos: ['a1', 'a2'] },
      { name: 'b', photos: ['b1'] },
    ],
    strangers: ['s1', 's2'],
    groups: [],
  };

  it('pairs the largest embedded face of each photo; stranger-stranger pairs count as neither', () => {
    const photos = new Map<string, EmbeddedPhoto>([
      // The small face in a1 is someone in the background: the large one is who the photo is of.
      ['a1', photo(face(0, 10, [0, 1]), face(50, 40, [1, 0]))],
      ['a2', photo(face(0, 30, [1, 0]))],
      ['b1', photo(face(0, 30, [0, 1]))],
      ['s1', photo(face(0, 30, [0, 1]))],
      ['s2', photo(face(0, 30, null))],
    ]);
    const scores = pairScores(dataset, photos);
    expect(scores.photos).toBe(4);
    expect(scores.genuine).toEqual([1]);
    // a1-b1, a1-s1, a2-b1, a2-s1, b1-s1
    expect(scores.impostor.map((s) => Math.round(s))).toEqual([0, 0, 0, 0, 1]);
  });
});
