// ROUGE-L as coco-caption computes it (pycocoevalcap's Rouge): the longest
// common subsequence with each reference gives a precision and a recall; the
// best precision and the best recall over the references (possibly from
// different references, as coco does) make one F-measure weighted towards
// recall by beta = 1.2. The corpus score is the mean over images.
import type { TokenizedPair } from './tokenize.ts';

/** coco's recall weight ("updated based on discussion with Hovy"). */
const BETA = 1.2;

export interface RougeResult {
  corpus: number;
  perPair: number[];
}

/** Length of the longest common subsequence of two token lists. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const tokenA of a) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      current[j] = tokenA === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    previous = current;
  }
  return previous[b.length];
}

/** ROUGE-L of one candidate against its references; 0 for an empty candidate. */
export function rougeL(candidate: readonly string[], references: readonly (readonly string[])[]): number {
  let bestPrecision = 0;
  let bestRecall = 0;
  for (const reference of references) {
    const common = lcsLength(reference, candidate);
    // An empty caption has nothing in common with anything: coco's split(" ")
    // turns it into one empty token, which never matches a real word.
    if (candidate.length > 0) bestPrecision = Math.max(bestPrecision, common / candidate.length);
    if (reference.length > 0) bestRecall = Math.max(bestRecall, common / reference.length);
  }
  if (bestPrecision === 0 || bestRecall === 0) return 0;
  return ((1 + BETA ** 2) * bestPrecision * bestRecall) / (bestRecall + BETA ** 2 * bestPrecision);
}

/** Corpus (mean) and per-pair ROUGE-L of tokenized pairs. */
export function rouge(pairs: readonly TokenizedPair[]): RougeResult {
  const perPair = pairs.map((pair) => rougeL(pair.candidate, pair.references));
  const corpus = perPair.reduce((total, value) => total + value, 0) / Math.max(1, perPair.length);
  return { corpus, perPair };
}
