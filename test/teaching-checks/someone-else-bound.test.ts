// The "someone else" bound is the recognizer's own measured number: the face
// head uses it on real photos, and a recognizer without one (InsightFace's,
// placed by hand) teaches without the check instead of borrowing another's.
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type DecodedImage } from '../../src/image/decode.ts';
import { FaceHead } from '../../src/heads/face/head.ts';
import type { FaceRecognizerEntry } from '../../src/models/catalog/faces.ts';
import { findModel } from '../../src/models/registry.ts';
import { SessionPool } from '../../src/models/session.ts';
import { SHARED_MODELS, sharedPhoto } from '../support/paths.ts';

const sessions = new SessionPool();
const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-cache-'));

function headFor(recognizer: FaceRecognizerEntry): FaceHead {
  return new FaceHead({
    detector: findModel('face-detection', 'yunet-2023mar'),
    recognizer,
    sessions,
    resolve: { modelsDir: SHARED_MODELS, cacheDir, allowDownload: false },
  });
}

let sarah: DecodedImage[];
let obama: DecodedImage;

beforeAll(async () => {
  const photo = async (...parts: string[]) => decodeImage(await readFile(sharedPhoto(...parts)));
  sarah = await Promise.all([1, 2, 3].map((n) => photo('faceonnx', `sarah_${n}.jpg`)));
  obama = await photo('ageitgey', 'obama.jpg');
});

describe.each(['dlib-resnet-v1', 'mobilefacenet'])('the measured bound of %s', (id) => {
  const recognizer = findModel('face-recognition', id);

  it('is its own number, not a share of the matching threshold', () => {
    expect(recognizer.someoneElseBelow).toEqual(expect.any(Number));
    expect(recognizer.someoneElseEvidence).toMatch(/npm run bench -- teaching-checks/);
  });

  it('sets aside the photo of someone else, and nothing in an honest lesson', async () => {
    const head = headFor(recognizer);
    expect((await head.teach([sarah[0], sarah[1], obama], null)).someoneElse).toEqual([2]);
    expect((await head.teach(sarah, null)).someoneElse).toEqual([]);
    const known = (await head.teach([sarah[0], sarah[1]], null)).params;
    expect((await head.teach([sarah[2], obama], known)).someoneElse).toEqual([1]);
  }, 60_000);
});

describe('a recognizer without a measured bound', () => {
  it('teaches every photo without the check', async () => {
    const unmeasured = { ...findModel('face-recognition', 'mobilefacenet'), someoneElseBelow: null };
    const taught = await headFor(unmeasured).teach([sarah[0], sarah[1], obama], null);
    expect(taught.someoneElse).toEqual([]);
    expect(taught.keysAdded).toBe(3);
    expect(taught.outcomes.map((o) => o.accepted)).toEqual([true, true, true]);
  }, 60_000);
});
