import { describe, expect, it } from 'vitest';
import { bleu } from './bleu.ts';

const pair = (candidate: string, ...references: string[]) => ({
  id: candidate,
  candidate: candidate ? candidate.split(' ') : [],
  references: references.map((reference) => reference.split(' ')),
});

// Expected values worked out by hand from pycocoevalcap's bleu_scorer.py
// formula (epsilons tiny = 1e-15 on matches, small = 1e-9 on counts).
describe('BLEU', () => {
  it('is 1 (up to coco epsilons) for a candidate identical to its reference', () => {
    const { corpus } = bleu([pair('a man rides a red bike', 'a man rides a red bike')]);
    // BLEU-1 = r exp(1 - 1/r) with r = (6 + 1e-15) / (6 + 1e-9): coco's epsilons make the length ratio just below 1.
    const r = (6 + 1e-15) / (6 + 1e-9);
    expect(corpus[0]).toBeCloseTo(r * Math.exp(1 - 1 / r), 15);
    for (const score of corpus) expect(score).toBeGreaterThan(1 - 1e-9);
  });

  it('clips repeated words and penalizes a candidate shorter than every reference', () => {
    // 2 of 3 unigrams count (the word "the" at most once), length 3 vs the closest reference 4.
    const { perPair } = bleu([pair('the the dog', 'the dog runs fast', 'a dog is running now')]);
    expect(perPair[0][0]).toBeCloseTo(((2 + 1e-15) / (3 + 1e-9)) * Math.exp(1 - (4 + 1e-9) / (3 + 1e-15)), 15);
  });

  it('sums counts over the corpus before dividing, and picks the shorter reference on a length tie', () => {
    // "a dog" is 1 word from both "dog" and "a big dog": the shorter (1) counts. References 1 + 4 = 5 < 6 candidate words.
    const { corpus } = bleu([pair('a dog', 'dog', 'a big dog'), pair('a cat on mats', 'a cat on mats')]);
    expect(corpus[0]).toBeCloseTo((6 + 1e-15) / (6 + 1e-9), 15);
    // Had the longer reference (3) counted, 6 < 3 + 4 would have cost a brevity penalty.
    expect(corpus[0]).toBeGreaterThan(0.999);
  });

  it('gives an empty candidate 0', () => {
    expect(bleu([pair('', 'a dog')]).perPair[0]).toEqual([0, 0, 0, 0]);
  });
});
