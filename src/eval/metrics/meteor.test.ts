import { describe, expect, it } from 'vitest';
import { bestStats, meteor, meteorScore } from './meteor.ts';

const words = (text: string): string[] => (text ? text.split(' ') : []);
const pair = (candidate: string, ...references: string[]) => ({
  id: candidate,
  candidate: words(candidate),
  references: references.map(words),
});

// Expected values worked out by hand from Meteor 1.5's formula: weighted
// precision P and recall R (content words weigh 0.75, function words 0.25;
// exact matches 1, stem matches 0.6), Fmean = PR / (0.85 P + 0.15 R), times
// 1 - 0.6 (chunks / matches)^0.2.
describe('METEOR', () => {
  it('is 1 for identical captions (one chunk, no penalty)', () => {
    expect(meteor([pair('a man rides a red bike', 'a man rides a red bike')]).perPair[0]).toBe(1);
  });

  it('charges the fragmentation penalty per chunk', () => {
    // All 6 words match, in 2 chunks ("on the grass", "a dog runs"): 1 - 0.6 (2/6)^0.2.
    expect(meteor([pair('on the grass a dog runs', 'a dog runs on the grass')]).perPair[0]).toBeCloseTo(
      1 - 0.6 * (1 / 3) ** 0.2,
      15,
    );
  });

  it('weighs a stem match 0.6 and a function word 0.25', () => {
    // "dogs run" vs "the dog runs": 2 stem matches in 1 chunk; "the" is a function word.
    const stats = bestStats(words('dogs run'), [words('the dog runs')]);
    expect(stats.candidateContent).toEqual([0, 2]);
    const precision = (2 * 0.6 * 0.75) / (2 * 0.75);
    const recall = (2 * 0.6 * 0.75) / (2 * 0.75 + 0.25);
    const fMean = (precision * recall) / (0.85 * precision + 0.15 * recall);
    expect(meteorScore(stats)).toBeCloseTo(fMean * (1 - 0.6 * (1 / 2) ** 0.2), 15);
  });

  it('keeps the best reference, and sums statistics for the corpus score', () => {
    const result = meteor([pair('a dog', 'a cat', 'a dog'), pair('cow', 'bird')]);
    expect(result.perPair).toEqual([1, 0]);
    // Corpus: 2 of 3 candidate and reference words match; the perfect pair's chunk is not counted (Meteor's rule).
    const matched = 0.25 + 0.75; // "a" is a function word, "dog" not
    const length = 0.25 + 0.75 + 0.75;
    expect(result.corpus).toBeCloseTo(matched / length, 15);
  });

  it('scores an empty candidate 0', () => {
    expect(meteor([pair('', 'a dog')]).perPair[0]).toBe(0);
  });
});
