// Meteor 1.5's aligner (edu.cmu.meteor.aligner.Aligner) with its exact and
// stem modules: every candidate word that equals, or shares a Snowball stem
// with, a reference word is a possible match; a beam search over the
// reference words then picks one-to-one matches, preferring more matched
// words, then fewer chunks, then less distance. We keep its quirks because
// they decide ties: the search weighs a stem match as 0 words (Java adds 0.5
// to an int and truncates), and it charges the distance of a tried match to
// the path that skips it.
import { stem } from './stem.ts';

/** Meteor's default beam width. */
const BEAM_SIZE = 40;
/** Module weights the aligner's search uses (not the scorer's): exact 1, any other 0.5. */
const SEARCH_WEIGHTS = [1, 0.5];

export const MODULE_EXACT = 0;
export const MODULE_STEM = 1;

interface Match {
  module: number;
  /** Position in the reference. */
  start: number;
  /** Position in the candidate. */
  matchStart: number;
}

interface Path {
  /** The match chosen at each reference position. */
  matches: (Match | null)[];
  candidateUsed: boolean[];
  referenceUsed: boolean[];
  weighted1: number;
  weighted2: number;
  chunks: number;
  idx: number;
  lastMatchEnd: number;
  distance: number;
}

/** The chosen matches, by reference position, and how many chunks they form. */
export interface Alignment {
  matches: (Match | null)[];
  chunks: number;
}

const copyPath = (path: Path): Path => ({
  ...path,
  matches: [...path.matches],
  candidateUsed: [...path.candidateUsed],
  referenceUsed: [...path.referenceUsed],
});

/** Meteor's ordering: more weighted matches, then fewer chunks, then less distance. */
const comparePaths = (x: Path, y: Path): number => {
  const matchDiff = y.weighted1 + y.weighted2 - (x.weighted1 + x.weighted2);
  if (matchDiff !== 0) return matchDiff > 0 ? 1 : -1;
  return x.chunks - y.chunks || x.distance - y.distance;
};

/** Adds a match to a path's running totals (ints in Java: the weighted sums truncate). */
function take(path: Path, match: Match): void {
  const weight = SEARCH_WEIGHTS[match.module];
  path.weighted1 = Math.trunc(path.weighted1 + weight);
  path.weighted2 = Math.trunc(path.weighted2 + weight);
  if (path.lastMatchEnd !== -1 && match.matchStart !== path.lastMatchEnd) path.chunks++;
  path.idx = match.start + 1;
  path.lastMatchEnd = match.matchStart + 1;
}

function beamSearch(possible: Match[][], start: Path): Path {
  let next: Path[] = [start];
  for (let current = 0; current <= possible.length; current++) {
    const paths = next.sort(comparePaths);
    next = [];
    for (const path of paths.slice(0, BEAM_SIZE)) {
      if (current === possible.length) {
        if (path.lastMatchEnd !== -1) path.chunks++;
        next.push(path);
      } else if (path.referenceUsed[current]) {
        if (current < path.idx) next.push(path);
        else {
          const fixed = path.matches[path.idx];
          if (fixed) {
            take(path, fixed);
            path.distance += Math.abs(fixed.start - fixed.matchStart);
            next.push(path);
          }
        }
      } else {
        for (const match of possible[current]) {
          if (path.referenceUsed[match.start] || path.candidateUsed[match.matchStart]) continue;
          const extended = copyPath(path);
          extended.referenceUsed[match.start] = true;
          extended.candidateUsed[match.matchStart] = true;
          extended.matches[current] = match;
          take(extended, match);
          path.distance += Math.abs(match.start - match.matchStart);
          next.push(extended);
        }
        if (path.lastMatchEnd !== -1) {
          path.chunks++;
          path.lastMatchEnd = -1;
        }
        path.idx++;
        next.push(path);
      }
    }
    if (next.length === 0) next.push(paths[0]);
  }
  return next.sort(comparePaths)[0];
}

/** Chunks of an alignment: runs of matches contiguous and in order in both sentences. */
function countChunks(matches: readonly (Match | null)[]): number {
  let chunks = 0;
  let lastMatchEnd = -1;
  for (const match of matches) {
    if (match === null) {
      if (lastMatchEnd !== -1) chunks++;
      lastMatchEnd = -1;
    } else {
      if (lastMatchEnd !== -1 && match.matchStart !== lastMatchEnd) chunks++;
      lastMatchEnd = match.matchStart + 1;
    }
  }
  return lastMatchEnd !== -1 ? chunks + 1 : chunks;
}

/** Meteor's alignment of a candidate with one reference (both already normalized). */
export function align(candidate: readonly string[], reference: readonly string[]): Alignment {
  const possible: Match[][] = reference.map(() => []);
  const candidateCoverage = new Array<number>(candidate.length).fill(0);
  const referenceCoverage = new Array<number>(reference.length).fill(0);
  const add = (module: number, start: number, matchStart: number): void => {
    possible[start].push({ module, start, matchStart });
    candidateCoverage[matchStart]++;
    referenceCoverage[start]++;
  };
  reference.forEach((word, j) => candidate.forEach((other, i) => word === other && add(MODULE_EXACT, j, i)));
  // Identical sentences need exact matches only; Meteor skips the rest so the beam cannot go astray.
  const identical = candidate.length === reference.length && candidate.every((word, i) => word === reference[i]);
  if (!identical) {
    const candidateStems = candidate.map(stem);
    reference.map(stem).forEach((referenceStem, j) =>
      candidateStems.forEach((candidateStem, i) => {
        if (referenceStem === candidateStem && reference[j] !== candidate[i]) add(MODULE_STEM, j, i);
      }),
    );
  }
  const start: Path = {
    matches: reference.map(() => null),
    candidateUsed: candidate.map(() => false),
    referenceUsed: reference.map(() => false),
    weighted1: 0,
    weighted2: 0,
    chunks: 0,
    idx: 0,
    lastMatchEnd: -1,
    distance: 0,
  };
  // A match that is the only one for both of its words is certain.
  possible.forEach((matches, j) => {
    const only = matches.length === 1 ? matches[0] : undefined;
    if (only && referenceCoverage[j] === 1 && candidateCoverage[only.matchStart] === 1) {
      start.matches[j] = only;
      start.referenceUsed[j] = true;
      start.candidateUsed[only.matchStart] = true;
    }
  });
  const best = beamSearch(possible, start);
  return { matches: best.matches, chunks: countChunks(best.matches) };
}
