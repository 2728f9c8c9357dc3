// CIDEr-D as coco-caption computes it (pycocoevalcap's Cider: n = 1..4,
// sigma = 6). Each caption becomes, per n-gram order, a vector of term counts
// times an inverse document frequency learned from the references of the
// corpus being scored, so CIDEr depends on the whole corpus: a corpus of one
// image scores 0 (every idf is log 1). Candidate weights are clipped by the
// reference's, and a Gaussian penalty on the length difference keeps long
// captions from gaming the cosine. coco's length is, by a quirk of its code,
// the number of bigrams rather than of words; we keep that quirk so the
// numbers agree (it only matters for captions of zero or one word).
import { ngramCounts, ngramOrder } from './ngrams.ts';
import type { TokenizedPair } from './tokenize.ts';

const MAX_N = 4;
/** Spread of the Gaussian length penalty, in words. */
const SIGMA = 6;
/** coco scales CIDEr-D by 10 so that good captions land near 1. */
const SCALE = 10;

export interface CiderResult {
  corpus: number;
  perPair: number[];
}

interface CaptionVector {
  /** tf-idf weight of each n-gram, split by order (index n-1). */
  weights: Map<string, number>[];
  norms: number[];
  /** coco's "length": the number of bigrams. */
  length: number;
}

function toVector(
  counts: Map<string, number>,
  logDocuments: number,
  documentFrequency: Map<string, number>,
): CaptionVector {
  const weights = Array.from({ length: MAX_N }, () => new Map<string, number>());
  const squares = new Array<number>(MAX_N).fill(0);
  let length = 0;
  for (const [key, count] of counts) {
    const order = ngramOrder(key) - 1;
    const weight = count * (logDocuments - Math.log(Math.max(1, documentFrequency.get(key) ?? 0)));
    weights[order].set(key, weight);
    squares[order] += weight * weight;
    if (order === 1) length += count;
  }
  return { weights, norms: squares.map(Math.sqrt), length };
}

/** Per-order clipped cosine between a candidate and one reference, times the length penalty. */
function similarity(candidate: CaptionVector, reference: CaptionVector): number[] {
  const delta = candidate.length - reference.length;
  const penalty = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
  return candidate.weights.map((weights, order) => {
    let dot = 0;
    for (const [key, weight] of weights) {
      const referenceWeight = reference.weights[order].get(key) ?? 0;
      dot += Math.min(weight, referenceWeight) * referenceWeight;
    }
    const norms = candidate.norms[order] * reference.norms[order];
    return (norms !== 0 ? dot / norms : dot) * penalty;
  });
}

/** Corpus (mean) and per-pair CIDEr-D of tokenized pairs; each pair needs at least one reference. */
export function cider(pairs: readonly TokenizedPair[]): CiderResult {
  const referenceCounts = pairs.map((pair) => pair.references.map((reference) => ngramCounts(reference, MAX_N)));
  // Document frequency: in how many images' reference sets an n-gram occurs.
  const documentFrequency = new Map<string, number>();
  for (const references of referenceCounts) {
    const seen = new Set<string>();
    for (const counts of references) for (const key of counts.keys()) seen.add(key);
    for (const key of seen) documentFrequency.set(key, (documentFrequency.get(key) ?? 0) + 1);
  }
  const logDocuments = Math.log(pairs.length);
  const perPair = pairs.map((pair, index) => {
    const candidate = toVector(ngramCounts(pair.candidate, MAX_N), logDocuments, documentFrequency);
    const summed = new Array<number>(MAX_N).fill(0);
    for (const counts of referenceCounts[index]) {
      const perOrder = similarity(candidate, toVector(counts, logDocuments, documentFrequency));
      perOrder.forEach((value, order) => (summed[order] += value));
    }
    const meanOverOrders = summed.reduce((total, value) => total + value, 0) / MAX_N;
    return (meanOverOrders / referenceCounts[index].length) * SCALE;
  });
  const corpus = perPair.reduce((total, value) => total + value, 0) / Math.max(1, perPair.length);
  return { corpus, perPair };
}
