// The people-head evaluation (the paper's Table 5, left): teach every
// identity from N seeded photos, match every photo once against all taught
// people, and count hits, misses, misidentifications and false positives.
// Works on faces embedded once per photo, so thresholds and seeds are cheap.
import { seededRandom, shuffle } from '../../../random.ts';
import { InternalError } from '../../../errors.ts';
import type { FaceHead } from '../head.ts';
import { iou } from '../geometry.ts';
import type { PersonKeys } from '../keys.ts';
import type { PerPersonRule } from '../../../models/catalog/faces.ts';
import type { EmbeddedFace } from '../types.ts';
import type { FaceDataset, GroupPhoto } from './dataset.ts';

/** A photo's faces, embedded once and reused across identities, seeds and thresholds. */
export interface EmbeddedPhoto {
  width: number;
  height: number;
  faces: EmbeddedFace[];
}

export type EmbeddedPhotos = ReadonlyMap<string, EmbeddedPhoto>;

/** IoU at which a detected face is the labelled face of a group photo. */
export const GROUP_BOX_IOU = 0.5;

export interface GroupResult {
  photos: number;
  /** Labelled faces of enrolled identities. */
  enrolledFaces: number;
  /** ...that the detector found (IoU >= 0.5 with a detected face). */
  enrolledFound: number;
  /** ...found and given to the right person. */
  enrolledCorrect: number;
  /** ...found and given to someone else. */
  enrolledWrong: number;
  /** ...found and given to nobody. */
  enrolledUnassigned: number;
  /** Detected faces of people not enrolled (labelled strangers, or every face of an all-stranger photo). */
  strangerFaces: number;
  /** ...that were given to an enrolled person. */
  strangersAssigned: number;
}

export interface IdentityResult {
  name: string;
  teachingPhotos: number;
  keys: number;
  positives: number;
  hits: number;
  negatives: number;
  falsePositives: number;
}

export interface FaceEvalCounts {
  /** (person, photo) trials where the person is in the photo and it was not a teaching photo. */
  positives: number;
  hits: number;
  /** Positive trials where nobody was recognized. */
  missed: number;
  /** Positive trials where someone else, not the person, was recognized. */
  misidentified: number;
  /** (person, photo) trials where the person is absent. */
  negatives: number;
  falsePositives: number;
  /**
   * Negative trials where the person fires when taught alone (a chat that
   * knows only them): no other person can claim the face, so this is the
   * stricter rate a default threshold must keep low.
   */
  aloneFalsePositives: number;
  /**
   * With `pairs`: (person, other person, photo) trials where the person is
   * absent and fires when taught with just that one other person (a chat that
   * knows two people), over every other person; 0 without `pairs`.
   */
  pairTrials: number;
  pairFalsePositives: number;
  /** Identity and stranger photos in which the detector found no face. */
  photosWithoutFace: number;
  groups: GroupResult;
  perIdentity: IdentityResult[];
}

export interface FaceEvalResult extends FaceEvalCounts {
  threshold: number;
  /** The per-person threshold rule matched with, or null (everyone at `threshold`). */
  perPerson: PerPersonRule | null;
  shots: number;
  seeds: number[];
  identities: number;
  recall: number;
  missRate: number;
  misidentificationRate: number;
  falsePositiveRate: number;
  aloneFalsePositiveRate: number;
  /** `pairFalsePositives / pairTrials`; null without `pairs`. */
  pairFalsePositiveRate: number | null;
}

/** Teaching photos per identity: `shots` of them, chosen by a seeded shuffle. */
export function chooseTeachingPhotos(dataset: FaceDataset, shots: number, seed: number): Map<string, Set<string>> {
  const random = seededRandom(seed);
  return new Map(
    dataset.identities.map((identity) => [
      identity.name,
      new Set(shuffle([...identity.photos], random).slice(0, shots)),
    ]),
  );
}

export interface EvaluateOptions {
  shots: number;
  seeds: readonly number[];
  threshold: number;
  /** Match each person at their own threshold by this rule (default: null, everyone at `threshold`). */
  perPerson?: PerPersonRule | null;
  /** Also count false positives in every scope of two people (`pairFalsePositives`): slower, n(n-1) scopes. */
  pairs?: boolean;
  /**
   * Where the teaching photos are drawn from (default: `dataset` itself, its
   * teaching photos then left out of the trials). The report half is taught
   * from the calibration half, so none of its photos shaped the keys or the threshold.
   */
  teachFrom?: FaceDataset;
}

/** Runs the protocol once per seed and sums the counts (identities weigh by their photos). */
export function evaluateFaces(
  head: FaceHead,
  dataset: FaceDataset,
  photos: EmbeddedPhotos,
  options: EvaluateOptions,
): FaceEvalResult {
  const teachFrom = options.teachFrom ?? dataset;
  const match = { threshold: options.threshold, rule: options.perPerson ?? null, pairs: options.pairs ?? false };
  const runs = options.seeds.map((seed) => evaluateOnce(head, dataset, teachFrom, photos, options.shots, seed, match));
  const total = runs.reduce(addCounts);
  const rate = (n: number, d: number) => (d > 0 ? n / d : 0);
  return {
    threshold: options.threshold,
    perPerson: match.rule,
    shots: options.shots,
    seeds: [...options.seeds],
    identities: dataset.identities.length,
    recall: rate(total.hits, total.positives),
    missRate: rate(total.missed, total.positives),
    misidentificationRate: rate(total.misidentified, total.positives),
    falsePositiveRate: rate(total.falsePositives, total.negatives),
    aloneFalsePositiveRate: rate(total.aloneFalsePositives, total.negatives),
    pairFalsePositiveRate: match.pairs ? rate(total.pairFalsePositives, total.pairTrials) : null,
    ...total,
  };
}

function evaluateOnce(
  head: FaceHead,
  dataset: FaceDataset,
  teachFrom: FaceDataset,
  photos: EmbeddedPhotos,
  shots: number,
  seed: number,
  { threshold, rule, pairs }: { threshold: number; rule: PerPersonRule | null; pairs: boolean },
): FaceEvalCounts {
  const teaching = chooseTeachingPhotos(teachFrom, shots, seed);
  const people: PersonKeys[] = [];
  const alone = (person: string, photo: EmbeddedPhoto) => {
    const keys = people.find((p) => p.conceptId === person);
    if (keys === undefined) return false;
    const thresholds = head.personThresholds([keys], threshold, rule);
    return head.matchFaces(photo.faces, photo.width, [keys], threshold, thresholds).sightings.length > 0;
  };
  const perIdentity: IdentityResult[] = [];
  for (const identity of dataset.identities) {
    const chosen = [...(teaching.get(identity.name) ?? [])];
    const taught = head.teachFromFaces(
      chosen.map((p) => embedded(photos, p).faces),
      null,
      threshold,
    );
    if (taught.params.keys.length > 0) people.push({ conceptId: identity.name, params: taught.params });
    perIdentity.push({
      name: identity.name,
      teachingPhotos: chosen.length,
      keys: taught.params.keys.length / taught.params.dims,
      positives: 0,
      hits: 0,
      negatives: 0,
      falsePositives: 0,
    });
  }
  // The scope is complete here: its per-person thresholds hold for every photo of this seed.
  const thresholds = head.personThresholds(people, threshold, rule);
  const pairScopes = pairs
    ? people.map((person) =>
        people
          .filter((other) => other !== person)
          .map((other) => ({
            scope: [person, other],
            thresholds: head.personThresholds([person, other], threshold, rule),
          })),
      )
    : [];
  /** Negative trials of `person` in scopes of two: how many there were, and how many fired. */
  const inPairs = (person: string, photo: EmbeddedPhoto) => {
    const scopes = pairScopes.find((list) => list[0]?.scope[0].conceptId === person) ?? [];
    counts.pairTrials += scopes.length;
    for (const { scope, thresholds: pairThresholds } of scopes)
      if (
        head
          .matchFaces(photo.faces, photo.width, scope, threshold, pairThresholds)
          .sightings.some((s) => s.conceptId === person)
      )
        counts.pairFalsePositives++;
  };
  const byName = new Map(perIdentity.map((r) => [r.name, r]));
  const counts: FaceEvalCounts = {
    positives: 0,
    hits: 0,
    missed: 0,
    misidentified: 0,
    negatives: 0,
    falsePositives: 0,
    aloneFalsePositives: 0,
    pairTrials: 0,
    pairFalsePositives: 0,
    photosWithoutFace: 0,
    groups: emptyGroups(),
    perIdentity,
  };

  const singles = [
    ...dataset.identities.flatMap((identity) => identity.photos.map((path) => ({ path, present: [identity.name] }))),
    ...dataset.strangers.map((path) => ({ path, present: [] as string[] })),
  ];
  for (const { path, present } of singles) {
    const photo = embedded(photos, path);
    if (photo.faces.length === 0) counts.photosWithoutFace++;
    const fired = new Set(
      head.matchFaces(photo.faces, photo.width, people, threshold, thresholds).sightings.map((s) => s.conceptId),
    );
    for (const identity of dataset.identities) {
      const result = byName.get(identity.name) as IdentityResult;
      if (present.includes(identity.name)) {
        if (teaching.get(identity.name)?.has(path)) continue;
        counts.positives++;
        result.positives++;
        if (fired.has(identity.name)) {
          counts.hits++;
          result.hits++;
        } else if (fired.size > 0) counts.misidentified++;
        else counts.missed++;
      } else {
        counts.negatives++;
        result.negatives++;
        if (fired.has(identity.name)) {
          counts.falsePositives++;
          result.falsePositives++;
        }
        if (alone(identity.name, photo)) counts.aloneFalsePositives++;
        inPairs(identity.name, photo);
      }
    }
  }
  for (const group of dataset.groups) {
    const photo = embedded(photos, group.path);
    const match = head.matchFaces(photo.faces, photo.width, people, threshold, thresholds);
    const fired = new Set(match.sightings.map((s) => s.conceptId));
    for (const identity of dataset.identities) {
      if (group.present.includes(identity.name)) continue;
      counts.negatives++;
      (byName.get(identity.name) as IdentityResult).negatives++;
      if (fired.has(identity.name)) {
        counts.falsePositives++;
        (byName.get(identity.name) as IdentityResult).falsePositives++;
      }
      if (alone(identity.name, photo)) counts.aloneFalsePositives++;
      inPairs(identity.name, photo);
    }
    scoreGroup(group, photo.faces, new Map(match.sightings.map((s) => [s.faceIndex, s.conceptId])), counts.groups);
  }
  return counts;
}

/** Pairs labelled boxes with detected faces (best IoU first) and scores each assignment. */
function scoreGroup(
  group: GroupPhoto,
  faces: readonly EmbeddedFace[],
  assigned: ReadonlyMap<number, string>,
  result: GroupResult,
): void {
  result.photos++;
  if (group.everyoneStranger) {
    result.strangerFaces += faces.length;
    result.strangersAssigned += assigned.size;
    return;
  }
  const pairs: Array<{ label: number; face: number; overlap: number }> = [];
  group.faces.forEach((labelled, label) =>
    faces.forEach((face, f) => {
      const overlap = iou(labelled.box, face.box);
      if (overlap >= GROUP_BOX_IOU) pairs.push({ label, face: f, overlap });
    }),
  );
  pairs.sort((a, b) => b.overlap - a.overlap);
  const faceOf = new Map<number, number>();
  const usedFaces = new Set<number>();
  for (const pair of pairs) {
    if (faceOf.has(pair.label) || usedFaces.has(pair.face)) continue;
    faceOf.set(pair.label, pair.face);
    usedFaces.add(pair.face);
  }
  group.faces.forEach((labelled, label) => {
    const face = faceOf.get(label);
    const person = face === undefined ? undefined : assigned.get(face);
    if (labelled.identity === null) {
      if (face === undefined) return;
      result.strangerFaces++;
      if (person !== undefined) result.strangersAssigned++;
      return;
    }
    result.enrolledFaces++;
    if (face === undefined) return;
    result.enrolledFound++;
    if (person === labelled.identity) result.enrolledCorrect++;
    else if (person === undefined) result.enrolledUnassigned++;
    else result.enrolledWrong++;
  });
}

function embedded(photos: EmbeddedPhotos, path: string): EmbeddedPhoto {
  const photo = photos.get(path);
  if (!photo) throw new InternalError(`photo ${path} was not embedded`);
  return photo;
}

function emptyGroups(): GroupResult {
  return {
    photos: 0,
    enrolledFaces: 0,
    enrolledFound: 0,
    enrolledCorrect: 0,
    enrolledWrong: 0,
    enrolledUnassigned: 0,
    strangerFaces: 0,
    strangersAssigned: 0,
  };
}

function addCounts(a: FaceEvalCounts, b: FaceEvalCounts): FaceEvalCounts {
  return {
    positives: a.positives + b.positives,
    hits: a.hits + b.hits,
    missed: a.missed + b.missed,
    misidentified: a.misidentified + b.misidentified,
    negatives: a.negatives + b.negatives,
    falsePositives: a.falsePositives + b.falsePositives,
    aloneFalsePositives: a.aloneFalsePositives + b.aloneFalsePositives,
    pairTrials: a.pairTrials + b.pairTrials,
    pairFalsePositives: a.pairFalsePositives + b.pairFalsePositives,
    photosWithoutFace: a.photosWithoutFace + b.photosWithoutFace,
    groups: sumFields(a.groups, b.groups),
    perIdentity: a.perIdentity.map((r, i) => ({ ...sumFields(r, b.perIdentity[i]), name: r.name })),
  };
}

/** Adds the numeric fields of two records of the same shape. */
function sumFields<T extends object>(a: T, b: T): T {
  const out = { ...a } as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) if (typeof value === 'number') out[key] = (out[key] as number) + value;
  return out as T;
}

/**
 * Thresholds a sweep tries by default: cosine similarity 0.20 to 0.99 in
 * steps of 0.01. Recognizers differ in where their useful range lies:
 * MobileFaceNet's is around 0.3-0.5, dlib's embeddings (not centred) near 0.9.
 */
export function defaultSweepThresholds(): number[] {
  return Array.from({ length: 80 }, (_, i) => Math.round((0.2 + i * 0.01) * 1000) / 1000);
}

/** The false-positive rate a default threshold must keep (the bar: at most 1 in 100). */
export const TARGET_FALSE_POSITIVE_RATE = 0.01;

/** Which false-positive rate a threshold choice constrains. */
export type FalsePositiveMeasure = 'falsePositiveRate' | 'aloneFalsePositiveRate';

/**
 * Of a sweep, the threshold with the best recall whose false-positive rate
 * (`measure`) is at most `maxFpr` (ties go to the stricter threshold); null when none.
 */
export function bestUnderFalsePositiveRate(
  results: readonly FaceEvalResult[],
  maxFpr = TARGET_FALSE_POSITIVE_RATE,
  measure: FalsePositiveMeasure = 'falsePositiveRate',
): FaceEvalResult | null {
  let best: FaceEvalResult | null = null;
  for (const r of results) {
    if (r[measure] > maxFpr) continue;
    if (!best || r.recall > best.recall || (r.recall === best.recall && r.threshold > best.threshold)) best = r;
  }
  return best;
}
