// BLEU-1..4 as coco-caption computes it (pycocoevalcap's Bleu(4), option
// "closest"): clipped n-gram matches and candidate n-gram counts are summed
// over the whole corpus before dividing, and the brevity penalty compares the
// summed candidate length with the summed "closest" reference lengths. The two
// epsilons are coco's own, kept so that a zero count gives coco's tiny
// numbers rather than 0/0: they decide the per-image scores of short captions.
import { ngramCounts, ngramOrder } from './ngrams.ts';
import type { TokenizedPair } from './tokenize.ts';

const MAX_N = 4;
/** Added to every match count, so that no match gives a tiny positive ratio (coco's `tiny`). */
const TINY = 1e-15;
/** Added to every denominator, so that an empty candidate does not divide by zero (coco's `small`). */
const SMALL = 1e-9;

/** BLEU-1..4 (index 0 is BLEU-1). */
export type BleuScores = [number, number, number, number];

export interface BleuResult {
  corpus: BleuScores;
  perPair: BleuScores[];
}

interface PairCounts {
  candidateLength: number;
  /** The reference length closest to the candidate's; the shorter one on a tie. */
  referenceLength: number;
  /** Candidate n-grams of each order (index n-1). */
  guessed: number[];
  /** Candidate n-grams of each order, each clipped by its most frequent count in any one reference. */
  correct: number[];
}

function countPair(pair: TokenizedPair): PairCounts {
  const maxInReferences = new Map<string, number>();
  for (const reference of pair.references) {
    for (const [key, count] of ngramCounts(reference, MAX_N))
      maxInReferences.set(key, Math.max(maxInReferences.get(key) ?? 0, count));
  }
  const candidateLength = pair.candidate.length;
  let referenceLength = Infinity;
  for (const { length } of pair.references) {
    const better = Math.abs(length - candidateLength) - Math.abs(referenceLength - candidateLength);
    if (better < 0 || (better === 0 && length < referenceLength)) referenceLength = length;
  }
  const guessed = Array.from({ length: MAX_N }, (_, k) => Math.max(0, candidateLength - k));
  const correct = new Array<number>(MAX_N).fill(0);
  for (const [key, count] of ngramCounts(pair.candidate, MAX_N))
    correct[ngramOrder(key) - 1] += Math.min(maxInReferences.get(key) ?? 0, count);
  return { candidateLength, referenceLength, guessed, correct };
}

/** BLEU-1..4 from summed counts: geometric means of the precisions, times the brevity penalty. */
function bleuFrom(
  correct: readonly number[],
  guessed: readonly number[],
  candidateLength: number,
  referenceLength: number,
): BleuScores {
  const scores: number[] = [];
  let product = 1;
  for (let k = 0; k < MAX_N; k++) {
    product *= (correct[k] + TINY) / (guessed[k] + SMALL);
    scores.push(product ** (1 / (k + 1)));
  }
  const ratio = (candidateLength + TINY) / (referenceLength + SMALL);
  const brevity = ratio < 1 ? Math.exp(1 - 1 / ratio) : 1;
  return scores.map((score) => score * brevity) as BleuScores;
}

/** Corpus and per-pair BLEU-1..4 of tokenized pairs; each pair needs at least one reference. */
export function bleu(pairs: readonly TokenizedPair[]): BleuResult {
  const counts = pairs.map(countPair);
  const sum = (pick: (c: PairCounts) => number): number => counts.reduce((total, c) => total + pick(c), 0);
  const corpus = bleuFrom(
    Array.from({ length: MAX_N }, (_, k) => sum((c) => c.correct[k])),
    Array.from({ length: MAX_N }, (_, k) => sum((c) => c.guessed[k])),
    sum((c) => c.candidateLength),
    sum((c) => c.referenceLength),
  );
  const perPair = counts.map((c) => bleuFrom(c.correct, c.guessed, c.candidateLength, c.referenceLength));
  return { corpus, perPair };
}
