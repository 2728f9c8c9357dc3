// Where each recognizer's "someone else" bound comes from (src/heads/face/teach.ts,
// `facesOfSomeoneElse`; the registry's `someoneElseBelow`). Every single-face
// photo of ../shared/data/faces is embedded once per recognizer; the photos are
// split in halves by content hash (the split `myvlm eval faces` chooses
// thresholds on). On each half, lessons of 2, 3 and 4 photos are drawn: honest
// ones (one person) and mixed ones (all but one photo of one person, the last
// of another). The bound is the largest whose honest lessons are refused at
// most 5% of the time on the calibration half (mean over the three sizes); the
// held-out half then says what it does to lessons it never saw. Every
// recognizer of the registry whose files are here is measured (InsightFace's
// only where its files were put into ../shared/models).
//
// Part two: where the person-or-pet scores come from (HUMAN_FACE_SCORES and
// judgeKind in src/heads/face/teach.ts). Photos of people, pets and objects,
// labelled by hand in teaching-checks.labels.json, are split in halves by
// content hash; each photo's best YuNet face score gives its evidence under
// the thresholds in the product, counted per class and half, and lessons of
// 1-4 held-out photos of one concept are judged as `guessKind` judges them.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage } from '../src/image/decode.ts';
import { FaceHead } from '../src/heads/face/head.ts';
import {
  facesOfSomeoneElse,
  HUMAN_FACE_SCORES,
  judgeKind,
  photoKindEvidence,
  type PhotoKindEvidence,
} from '../src/heads/face/teach.ts';
import { loadFaceDataset, type IdentityPhotos } from '../src/heads/face/evaluation/dataset.ts';
import { splitByContent } from '../src/heads/face/evaluation/split.ts';
import { FACE_RECOGNIZERS } from '../src/models/catalog/faces.ts';
import { findModel } from '../src/models/registry.ts';
import { SessionPool } from '../src/models/session.ts';
import { seededRandom } from '../src/random.ts';
import { SHARED_DATA, SHARED_MODELS } from '../test/support/paths.ts';
import { table, type BenchSection } from './harness.ts';

const DETECTOR = 'yunet-2023mar';
const LESSON_SIZES = [2, 3, 4];
/** Lessons drawn per size, kind (honest, mixed) and half. */
const DRAWS = 2000;
const SEED = 3;
/** The most honest lessons the check may refuse on the calibration half. */
const MAX_HONEST_REFUSED = 0.05;
/** Candidate bounds: cosine similarity 0.00 to 1.00 in steps of 0.01. */
const BOUNDS = Array.from({ length: 101 }, (_, i) => i / 100);

/** A drawn lesson: one embedding per photo; in a mixed lesson the last one shows someone else. */
type Lesson = Float32Array[];

interface Rates {
  honestRefused: number;
  mixedCaught: number;
  /** Mixed lessons where exactly the odd photo was named (both photos, for two). */
  oddNamed: number;
}

/** The embedding of every photo that shows exactly one recognizable face, per identity with enough photos. */
async function teachingFaces(head: FaceHead, identities: readonly IdentityPhotos[]): Promise<Float32Array[][]> {
  const people: Float32Array[][] = [];
  for (const identity of identities) {
    const faces: Float32Array[] = [];
    for (const file of identity.photos) {
      const found = await head.embedFaces(await decodeImage(new Uint8Array(readFileSync(file))));
      const embedding = found.length === 1 ? found[0].embedding : null;
      if (embedding) faces.push(embedding);
    }
    if (faces.length >= Math.max(...LESSON_SIZES)) people.push(faces);
  }
  return people;
}

function sample<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items];
  return Array.from({ length: count }, () => pool.splice(Math.floor(random() * pool.length), 1)[0]);
}

function drawLessons(people: readonly Float32Array[][], size: number, random: () => number) {
  const honest: Lesson[] = [];
  const mixed: Lesson[] = [];
  for (let d = 0; d < DRAWS; d++) {
    const a = Math.floor(random() * people.length);
    honest.push(sample(people[a], size, random));
    const b = (a + 1 + Math.floor(random() * (people.length - 1))) % people.length;
    mixed.push([...sample(people[a], size - 1, random), ...sample(people[b], 1, random)]);
  }
  return { honest, mixed };
}

function rates(lessons: { honest: Lesson[]; mixed: Lesson[] }, bound: number): Rates {
  const share = (hits: number) => hits / DRAWS;
  let refused = 0;
  let caught = 0;
  let named = 0;
  for (const lesson of lessons.honest) if (facesOfSomeoneElse(lesson, [], bound).length > 0) refused++;
  for (const lesson of lessons.mixed) {
    const odd = facesOfSomeoneElse(lesson, [], bound);
    if (odd.length > 0) caught++;
    const expected = lesson.length === 2 ? [0, 1] : [lesson.length - 1];
    if (odd.length === expected.length && odd.every((i, k) => i === expected[k])) named++;
  }
  return { honestRefused: share(refused), mixedCaught: share(caught), oddNamed: share(named) };
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Part one: the "someone else" bound of every recognizer, as markdown. */
async function someoneElseBound(): Promise<string> {
  const split = splitByContent(loadFaceDataset(path.join(SHARED_DATA, 'faces')));
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-checks-'));
  const sessions = new SessionPool();
  const summary: (string | number)[][] = [];
  const detail: (string | number)[][] = [];
  try {
    for (const recognizer of FACE_RECOGNIZERS) {
      const id = recognizer.id;
      const head = new FaceHead({
        detector: findModel('face-detection', DETECTOR),
        recognizer,
        sessions,
        resolve: { modelsDir: SHARED_MODELS, cacheDir, allowDownload: false },
      });
      const missing = await head.availability();
      if (missing) {
        summary.push([
          id,
          'not measured: model files not here',
          recognizer.someoneElseBelow?.toFixed(2) ?? 'none',
          '',
          '',
        ]);
        continue;
      }
      const halves = {
        calibration: await teachingFaces(head, split.calibration.identities),
        heldOut: await teachingFaces(head, split.report.identities),
      };
      const random = seededRandom(SEED);
      const lessons = Object.fromEntries(
        Object.entries(halves).map(([half, people]) => [
          half,
          LESSON_SIZES.map((size) => drawLessons(people, size, random)),
        ]),
      ) as Record<keyof typeof halves, ReturnType<typeof drawLessons>[]>;
      const meanRefused = (bound: number) =>
        lessons.calibration.reduce((s, l) => s + rates(l, bound).honestRefused, 0) / LESSON_SIZES.length;
      const chosen = BOUNDS.filter((bound) => meanRefused(bound) <= MAX_HONEST_REFUSED).at(-1) ?? 0;
      const photos = (people: Float32Array[][]) => people.reduce((s, p) => s + p.length, 0);
      summary.push([
        id,
        chosen.toFixed(2),
        recognizer.someoneElseBelow?.toFixed(2) ?? 'none',
        `${halves.calibration.length} / ${photos(halves.calibration)}`,
        `${halves.heldOut.length} / ${photos(halves.heldOut)}`,
      ]);
      for (const [i, size] of LESSON_SIZES.entries()) {
        const cal = rates(lessons.calibration[i], chosen);
        const held = rates(lessons.heldOut[i], chosen);
        detail.push([
          id,
          String(size),
          percent(cal.honestRefused),
          percent(held.honestRefused),
          percent(cal.mixedCaught),
          percent(held.mixedCaught),
          percent(held.oddNamed),
        ]);
      }
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return [
    '### The "someone else" bound per recognizer',
    '',
    `Single-face photos of ../shared/data/faces (detector ${DETECTOR}), split in halves by content hash; ` +
      `${DRAWS} lessons per size, kind and half (seed ${SEED}). Chosen: the largest bound (steps of 0.01) whose honest ` +
      `lessons are refused at most ${percent(MAX_HONEST_REFUSED)} of the time on the calibration half, mean over sizes.`,
    '',
    table(
      ['recognizer', 'measured bound', 'in the registry', 'calibration people / photos', 'held-out people / photos'],
      summary,
    ),
    '',
    table(
      [
        'recognizer',
        'photos per lesson',
        'honest refused (cal)',
        'honest refused (held-out)',
        'mixed caught (cal)',
        'mixed caught (held-out)',
        'odd photo named (held-out)',
      ],
      detail,
    ),
  ].join('\n');
}

/** What a photo shows, by hand (teaching-checks.labels.json). */
type PhotoClass = 'person' | 'pet' | 'object';
const CLASSES: readonly PhotoClass[] = ['person', 'pet', 'object'];

interface KindLabels {
  /** Folders under ../shared/data in the order their photos are read; `concept`: lessons are drawn from it. */
  folders: { path: string; label: PhotoClass; concept: boolean }[];
  /** Photos whose label is not their folder's, by content; `excluded` says why a photo is left out. */
  photos: { path: string; sha256: string; label: PhotoClass; excluded?: string; note?: string }[];
}

interface KindPhoto {
  label: PhotoClass;
  /** The folder, when it is one concept. */
  concept: string | null;
  evidence: PhotoKindEvidence;
}

const KIND_LESSON_SIZES = [1, 2, 3, 4];
/** Lessons drawn per concept and size. */
const KIND_DRAWS = 200;
const KIND_SEED = 7;

/** Every distinct labelled photo (first folder wins for copies) with the evidence its best YuNet face gives. */
async function kindPhotos(
  head: FaceHead,
  labels: KindLabels,
): Promise<{ photos: Map<string, KindPhoto>; excluded: number }> {
  const byHash = new Map(labels.photos.map((p) => [p.sha256, p]));
  const photos = new Map<string, KindPhoto>();
  const seen = new Set<string>();
  let excluded = 0;
  for (const folder of labels.folders) {
    const dir = path.join(SHARED_DATA, folder.path);
    for (const file of readdirSync(dir).sort()) {
      if (!/\.(jpe?g|png)$/i.test(file)) continue;
      const image = await decodeImage(new Uint8Array(readFileSync(path.join(dir, file))));
      if (seen.has(image.sha256)) continue;
      seen.add(image.sha256);
      const labelled = byHash.get(image.sha256);
      if (labelled?.excluded) {
        excluded++;
        continue;
      }
      const faces = await head.detect(image);
      photos.set(image.sha256, {
        label: labelled?.label ?? folder.label,
        concept: folder.concept ? folder.path : null,
        evidence: photoKindEvidence(
          faces.map((f) => f.score),
          DETECTOR,
        ),
      });
    }
  }
  // A label whose photo was not read would silently fall back to its folder's: the data moved.
  const missing = labels.photos.filter((p) => !seen.has(p.sha256)).map((p) => p.path);
  if (missing.length > 0) throw new Error(`labelled photos not found by content: ${missing.join(', ')}`);
  return { photos, excluded };
}

/** Calibration half: the first byte of the content hash is even (the split HUMAN_FACE_SCORES was chosen on). */
const inCalibration = (sha256: string) => parseInt(sha256.slice(0, 2), 16) % 2 === 0;

/** Part two: how the detector's face scores tell person photos from pet and object photos, as markdown. */
async function personOrPet(): Promise<string> {
  const labels = JSON.parse(
    readFileSync(new URL('./teaching-checks.labels.json', import.meta.url), 'utf8'),
  ) as KindLabels;
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-kind-'));
  // Only the detector's scores count; the recognizer is loaded with it but never run.
  const head = new FaceHead({
    detector: findModel('face-detection', DETECTOR),
    recognizer: findModel('face-recognition', 'mobilefacenet'),
    sessions: new SessionPool(),
    resolve: { modelsDir: SHARED_MODELS, cacheDir, allowDownload: false },
  });
  let read: Awaited<ReturnType<typeof kindPhotos>>;
  try {
    read = await kindPhotos(head, labels);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const entries = [...read.photos.entries()];
  const halves = {
    calibration: entries.filter(([hash]) => inCalibration(hash)).map(([, p]) => p),
    'held-out': entries.filter(([hash]) => !inCalibration(hash)).map(([, p]) => p),
  };

  const counts: (string | number)[][] = [];
  for (const [half, photos] of Object.entries(halves)) {
    for (const label of CLASSES) {
      const of = photos.filter((p) => p.label === label);
      const count = (e: PhotoKindEvidence) => of.filter((p) => p.evidence === e).length;
      counts.push([
        label,
        half,
        String(of.length),
        String(count('face')),
        String(count('maybe-face')),
        String(count('no-face')),
      ]);
    }
  }

  // Lessons of one concept's held-out photos, judged as guessKind judges them.
  const concepts = new Map<string, KindPhoto[]>();
  for (const photo of halves['held-out']) {
    if (photo.concept) concepts.set(photo.concept, [...(concepts.get(photo.concept) ?? []), photo]);
  }
  const random = seededRandom(KIND_SEED);
  const lessons: (string | number)[][] = [];
  for (const size of KIND_LESSON_SIZES) {
    const verdicts = new Map<PhotoClass, { person: number; object: number; unsure: number; concepts: number }>();
    for (const photos of concepts.values()) {
      if (photos.length < size) continue;
      const tally = verdicts.get(photos[0].label) ?? { person: 0, object: 0, unsure: 0, concepts: 0 };
      tally.concepts++;
      for (let d = 0; d < KIND_DRAWS; d++) tally[judgeKind(sample(photos, size, random).map((p) => p.evidence))]++;
      verdicts.set(photos[0].label, tally);
    }
    for (const label of CLASSES) {
      const tally = verdicts.get(label);
      if (!tally) continue;
      const share = (n: number) => percent(n / (tally.concepts * KIND_DRAWS));
      lessons.push([
        label,
        String(size),
        String(tally.concepts),
        share(tally.unsure),
        share(tally.person),
        share(tally.object),
      ]);
    }
  }
  lessons.sort((a, b) => CLASSES.indexOf(a[0] as PhotoClass) - CLASSES.indexOf(b[0] as PhotoClass));

  const { human, faceLike } = HUMAN_FACE_SCORES[DETECTOR];
  return [
    '### Person or pet: human face scores',
    '',
    `${read.photos.size} distinct photos of ../shared/data labelled by hand (bench/teaching-checks.labels.json; ` +
      `${read.excluded} pet and object photos that also show a real person left out), split in halves by content hash ` +
      `(first byte even: calibration). A photo's best ${DETECTOR} face scoring ${human} or more is a face, under ${faceLike} ` +
      `(or no face) none, in between doubtful (HUMAN_FACE_SCORES, src/heads/face/teach.ts).`,
    '',
    table(['photos', 'half', 'count', 'face', 'doubtful', 'none'], counts),
    '',
    `Held-out lessons: ${KIND_DRAWS} draws of 1-${Math.max(...KIND_LESSON_SIZES)} photos from each concept folder ` +
      `(seed ${KIND_SEED}), judged by judgeKind.`,
    '',
    table(['concept', 'photos per lesson', 'concepts', 'asked', 'taken for a person', 'taken for an object'], lessons),
  ].join('\n');
}

export default async function teachingChecksBenchmark(): Promise<BenchSection> {
  return {
    title: 'Teaching checks: the "someone else" bound and person or pet',
    markdown: [await someoneElseBound(), '', await personOrPet()].join('\n'),
  };
}
