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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage } from '../src/image/decode.ts';
import { FaceHead } from '../src/heads/face/head.ts';
import { facesOfSomeoneElse } from '../src/heads/face/teach.ts';
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

export default async function teachingChecksBenchmark(): Promise<BenchSection> {
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
  return {
    title: 'Teaching checks: the "someone else" bound per recognizer',
    markdown: [
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
    ].join('\n'),
  };
}
