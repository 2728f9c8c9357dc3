// METEOR as coco-caption runs it (Meteor 1.5, `-l en -norm`, per image the
// best of its references, the corpus score from the summed statistics of all
// images), with only the exact and stem modules.
//
// NOT JAVA METEOR'S NUMBER: usually lower. Java Meteor 1.5 also matches
// WordNet synonyms (weight 0.8) and paraphrases from a 60 MB table (weight
// 0.6); we ship neither, so a word only those modules would match counts as
// unmatched here. On 190 caption pairs of our concepts, Java Meteor with
// synonyms (paraphrases could not be run) scored the corpus 0.4003 where this
// scores 0.3874 (-0.013); 59 images scored lower here (by up to 0.116), 5
// higher (by up to 0.034: with more possible matches the alignment search can
// settle on a worse-scoring alignment). With exact and stem only, it agrees
// with Java Meteor to 1e-15.
// Everything else (parameters, function words, alignment search, chunks,
// fragmentation penalty, aggregation) follows Meteor 1.5.
import { align, type Alignment } from './meteor-align.ts';
import { meteorWords } from './meteor-normalize.ts';
import type { TokenizedPair } from './tokenize.ts';

/** Meteor 1.5's English parameters (task "rank"): precision/recall balance, penalty shape and weight, content-word weight. */
const ALPHA = 0.85;
const BETA = 0.2;
const GAMMA = 0.6;
const DELTA = 0.75;
/** Scoring weight of each module's matches: exact, stem. */
const MODULE_WEIGHTS = [1.0, 0.6];

/** Meteor 1.5's English function words (resources/function/english.words): they weigh 1 - DELTA. */
const FUNCTION_WORDS = new Set(
  (
    'the , . to of and a in that for " is on \'s it with was as said at he by be from have has are his but an this not i will \u2019 they ) -rrb- ( ' +
    '-lrb- who their had we which were been more or s its would about new one after you : also up when there than $ all out her people she ' +
    "year two - can if last first \u201c over other \u201d into some what so -- no time years could ? 't \u2014 '"
  ).split(' '),
);

/** Meteor's sufficient statistics for one (candidate, reference) alignment; they add up over a corpus. */
export interface MeteorStats {
  candidateLength: number;
  referenceLength: number;
  candidateFunctionWords: number;
  referenceFunctionWords: number;
  /** Matched words per module (index: exact, stem), content and function words apart, on each side. */
  candidateContent: number[];
  candidateFunction: number[];
  referenceContent: number[];
  referenceFunction: number[];
  chunks: number;
}

export interface MeteorResult {
  corpus: number;
  perPair: number[];
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

function statsOf(candidate: readonly string[], reference: readonly string[], alignment: Alignment): MeteorStats {
  const modules = MODULE_WEIGHTS.length;
  const stats: MeteorStats = {
    candidateLength: candidate.length,
    referenceLength: reference.length,
    candidateFunctionWords: candidate.filter((word) => FUNCTION_WORDS.has(word)).length,
    referenceFunctionWords: reference.filter((word) => FUNCTION_WORDS.has(word)).length,
    candidateContent: new Array<number>(modules).fill(0),
    candidateFunction: new Array<number>(modules).fill(0),
    referenceContent: new Array<number>(modules).fill(0),
    referenceFunction: new Array<number>(modules).fill(0),
    chunks: alignment.chunks,
  };
  for (const match of alignment.matches) {
    if (match === null) continue;
    if (FUNCTION_WORDS.has(candidate[match.matchStart])) stats.candidateFunction[match.module]++;
    else stats.candidateContent[match.module]++;
    if (FUNCTION_WORDS.has(reference[match.start])) stats.referenceFunction[match.module]++;
    else stats.referenceContent[match.module]++;
  }
  return stats;
}

const matchedWords = (content: readonly number[], functionWords: readonly number[]): number =>
  sum(content) + sum(functionWords);

/** Whether every word of both sentences is matched in one chunk: such a pair gets no fragmentation penalty. */
const isPerfect = (s: MeteorStats): boolean =>
  matchedWords(s.candidateContent, s.candidateFunction) === s.candidateLength &&
  matchedWords(s.referenceContent, s.referenceFunction) === s.referenceLength &&
  s.chunks === 1;

/** The METEOR score of (summed) statistics: a recall-heavy F-mean, less the fragmentation penalty. */
export function meteorScore(s: MeteorStats): number {
  const weighted = (content: readonly number[], functionWords: readonly number[]): number =>
    sum(content.map((count, m) => count * MODULE_WEIGHTS[m] * DELTA)) +
    sum(functionWords.map((count, m) => count * MODULE_WEIGHTS[m] * (1 - DELTA)));
  const weightedLength = (length: number, functionWords: number): number =>
    DELTA * (length - functionWords) + (1 - DELTA) * functionWords;
  const precision =
    weighted(s.candidateContent, s.candidateFunction) / weightedLength(s.candidateLength, s.candidateFunctionWords);
  const recall =
    weighted(s.referenceContent, s.referenceFunction) / weightedLength(s.referenceLength, s.referenceFunctionWords);
  const fMean = 1 / ((1 - ALPHA) / precision + ALPHA / recall);
  const averageMatches =
    (matchedWords(s.candidateContent, s.candidateFunction) + matchedWords(s.referenceContent, s.referenceFunction)) / 2;
  const fragmentation = isPerfect(s) ? 0 : s.chunks / averageMatches;
  const score = fMean * (1 - GAMMA * fragmentation ** BETA);
  return Number.isNaN(score) ? 0 : Math.max(score, 0);
}

/** The statistics of the reference that scores best with the candidate (the first on a tie). */
export function bestStats(candidate: readonly string[], references: readonly (readonly string[])[]): MeteorStats {
  const words = meteorWords(candidate);
  let best: { stats: MeteorStats; score: number } | undefined;
  for (const reference of references) {
    const referenceWords = meteorWords(reference);
    const stats = statsOf(words, referenceWords, align(words, referenceWords));
    const score = meteorScore(stats);
    if (best === undefined || score > best.score) best = { stats, score };
  }
  if (best === undefined) throw new RangeError('METEOR needs at least one reference.');
  return best.stats;
}

/** Adds statistics as Meteor does over a corpus: a perfect pair's single chunk is not counted. */
function addStats(total: MeteorStats, s: MeteorStats): MeteorStats {
  const plus = (a: readonly number[], b: readonly number[]): number[] => a.map((value, m) => value + b[m]);
  return {
    candidateLength: total.candidateLength + s.candidateLength,
    referenceLength: total.referenceLength + s.referenceLength,
    candidateFunctionWords: total.candidateFunctionWords + s.candidateFunctionWords,
    referenceFunctionWords: total.referenceFunctionWords + s.referenceFunctionWords,
    candidateContent: plus(total.candidateContent, s.candidateContent),
    candidateFunction: plus(total.candidateFunction, s.candidateFunction),
    referenceContent: plus(total.referenceContent, s.referenceContent),
    referenceFunction: plus(total.referenceFunction, s.referenceFunction),
    chunks: total.chunks + (isPerfect(s) ? 0 : s.chunks),
  };
}

/** Corpus (from summed statistics, as coco's Meteor reports) and per-pair METEOR of tokenized pairs. */
export function meteor(pairs: readonly TokenizedPair[]): MeteorResult {
  const perPairStats = pairs.map((pair) => bestStats(pair.candidate, pair.references));
  const zeros = (): number[] => MODULE_WEIGHTS.map(() => 0);
  const empty: MeteorStats = {
    candidateLength: 0,
    referenceLength: 0,
    candidateFunctionWords: 0,
    referenceFunctionWords: 0,
    candidateContent: zeros(),
    candidateFunction: zeros(),
    referenceContent: zeros(),
    referenceFunction: zeros(),
    chunks: 0,
  };
  return { corpus: meteorScore(perPairStats.reduce(addStats, empty)), perPair: perPairStats.map(meteorScore) };
}
