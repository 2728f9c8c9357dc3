// The default recognizer, dlib's ResNet, converted from the npm package that
// `npm install` put in node_modules (no network), on real photos: people
// taught from calibration-half photos are recognized in report-half photos
// at the registry threshold, and told apart from the others.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { findModel } from '../../src/models/registry.ts';
import { ensurePackagedModel } from '../../src/models/packaged.ts';
import { SessionPool } from '../../src/models/session.ts';
import { FaceHead } from '../../src/heads/face/head.ts';
import { cosine, unpackKeys } from '../../src/heads/face/keys.ts';
import { loadFaceDataset } from '../../src/heads/face/evaluation/dataset.ts';
import { splitByContent } from '../../src/heads/face/evaluation/split.ts';
import { FACE } from '../../src/config/defaults.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';

const recognizer = findModel('face-recognition', 'dlib-resnet-v1');
const cacheDir = mkdtempSync(path.join(tmpdir(), 'dlib-recognizer-'));
const sessions = new SessionPool();
const head = new FaceHead({
  detector: findModel('face-detection', 'yunet-2023mar'),
  recognizer,
  sessions,
  resolve: { modelsDir: SHARED_MODELS, cacheDir, allowDownload: false },
});
// The first three identities by name (no choosing), three report photos each.
const PEOPLE = 3;
const REPORT_PHOTOS = 3;
const { calibration, report } = splitByContent(loadFaceDataset(path.join(SHARED_DATA, 'faces')));
const people = calibration.identities.slice(0, PEOPLE);

const keys = new Map<string, Float32Array[]>();
/** Per report photo: whose it is, and its main face's similarity to each taught person's closest key. */
const trials: Array<{ who: string; best: Map<string, number> }> = [];

beforeAll(async () => {
  if (!recognizer.packaged) throw new Error('dlib-resnet-v1 is not packaged');
  ensurePackagedModel(recognizer, recognizer.packaged, cacheDir);
  const image = async (file: string) => decodeImage(await readFile(file));
  for (const person of people) {
    const taught = await head.teach(await Promise.all(person.photos.slice(0, 2).map(image)), null);
    keys.set(person.name, unpackKeys(taught.params));
  }
  for (const person of report.identities.slice(0, PEOPLE)) {
    for (const file of person.photos.slice(0, REPORT_PHOTOS)) {
      const faces = (await head.embedFaces(await image(file))).filter((f) => f.embedding !== null);
      const main = faces.reduce((a, b) => (a.box.width * a.box.height >= b.box.width * b.box.height ? a : b));
      const embedding = main.embedding as Float32Array;
      const best = new Map([...keys].map(([name, k]) => [name, Math.max(...k.map((key) => cosine(embedding, key)))]));
      trials.push({ who: person.name, best });
    }
  }
}, 120_000);

afterAll(async () => {
  await sessions.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('dlib-resnet-v1 from the installed package', () => {
  it('uses the threshold measured on the calibration half, from the FACE defaults', () => {
    expect(head.threshold).toBe(FACE.dlibResnet.threshold);
    expect(recognizer.licenceUse).toBe('permissive');
    expect(trials).toHaveLength(PEOPLE * REPORT_PHOTOS);
  });

  it('puts the same person above the threshold in report photos none of which it was taught from', () => {
    const same = trials.map((t) => ({ who: t.who, similarity: t.best.get(t.who) as number }));
    for (const { similarity } of same) expect(similarity).toBeGreaterThanOrEqual(head.threshold);
  });

  it('keeps different people below the threshold', () => {
    for (const trial of trials)
      for (const [name, similarity] of trial.best)
        if (name !== trial.who) expect(similarity).toBeLessThan(head.threshold);
  });
});
