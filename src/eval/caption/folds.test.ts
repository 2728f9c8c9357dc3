import { describe, expect, it } from 'vitest';
import { conceptFolds } from './folds.ts';

const photos = Array.from({ length: 12 }, (_, i) => `p${i}`);

describe('conceptFolds', () => {
  it('draws shots teaching photos per fold and tests on exactly the rest', () => {
    const folds = conceptFolds(photos, 'rex', 4, 5, 0);
    expect(folds).toHaveLength(5);
    for (const fold of folds) {
      expect(fold.train).toHaveLength(4);
      expect(fold.test).toHaveLength(8);
      expect(new Set([...fold.train, ...fold.test])).toEqual(new Set(photos));
    }
    // Five seeds, five different draws (the paper's folds).
    expect(new Set(folds.map((f) => [...f.train].sort().join()))).toHaveProperty('size', 5);
  });

  it('depends only on the seed, the concept and the fold', () => {
    expect(conceptFolds(photos, 'rex', 4, 2, 0)).toEqual(conceptFolds(photos, 'rex', 4, 2, 0));
    expect(conceptFolds(photos, 'rex', 4, 2, 0)[1]).toEqual(conceptFolds(photos, 'rex', 4, 5, 0)[1]);
    expect(conceptFolds(photos, 'rex', 4, 1, 0)[0].train).not.toEqual(conceptFolds(photos, 'rex', 4, 1, 1)[0].train);
    expect(conceptFolds(photos, 'rex', 4, 1, 0)[0].train).not.toEqual(conceptFolds(photos, 'mug', 4, 1, 0)[0].train);
  });
});
