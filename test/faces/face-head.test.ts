// The face head on the shared real models (YuNet, MobileFaceNet) and real
// photos: detection, teaching with group photos, matching and refusals.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelMissingError, operatorMessage } from '../../src/errors.ts';
import { decodeImage, type DecodedImage } from '../../src/image/decode.ts';
import { findModel } from '../../src/models/registry.ts';
import { SessionPool } from '../../src/models/session.ts';
import { alignFace } from '../../src/heads/face/align.ts';
import { FaceHead } from '../../src/heads/face/head.ts';
import { keyCount, type PersonKeys } from '../../src/heads/face/keys.ts';
import { OnnxFaceRecognizer } from '../../src/heads/face/recognizer.ts';
import { SHARED_DATA, SHARED_MODELS, sharedPhoto } from '../support/paths.ts';

const sessions = new SessionPool();
const detector = findModel('face-detection', 'yunet-s-dynamic');
const recognizer = findModel('face-recognition', 'mobilefacenet');
const head = new FaceHead({
  detector,
  recognizer,
  sessions,
  resolve: { modelsDir: SHARED_MODELS, cacheDir: path.join(SHARED_MODELS, 'no-cache'), allowDownload: false },
});

const photo = async (...parts: string[]): Promise<DecodedImage> => decodeImage(await readFile(sharedPhoto(...parts)));

let twoPeople: DecodedImage;
let obamaAndBiden: DecodedImage;
let obama: PersonKeys;
let biden: PersonKeys;

beforeAll(async () => {
  twoPeople = await photo('ageitgey', 'two_people.jpg');
  obamaAndBiden = await photo('ageitgey', 'test__obama_and_biden.jpg');
  obama = {
    conceptId: 'obama',
    params: (await head.teach([await photo('ageitgey', 'obama.jpg'), await photo('ageitgey', 'obama2.jpg')], null))
      .params,
  };
  biden = { conceptId: 'biden', params: (await head.teach([await photo('ageitgey', 'biden.jpg')], null)).params };
});

afterAll(() => sessions.dispose());

describe('FaceHead on real photos', () => {
  it('finds both faces in two_people.jpg, left and right, with landmarks inside the boxes', async () => {
    const faces = await head.detect(twoPeople);
    expect(faces).toHaveLength(2);
    const byX = [...faces].sort((a, b) => a.box.x - b.box.x);
    expect(byX[0].box.x + byX[0].box.width).toBeLessThan(twoPeople.width / 2);
    expect(byX[1].box.x).toBeGreaterThan(twoPeople.width / 2);
    for (const face of faces) {
      expect(face.score).toBeGreaterThan(0.8);
      expect(face.box.width).toBeGreaterThan(100);
      for (const [x, y] of face.landmarks) {
        expect(x).toBeGreaterThan(face.box.x);
        expect(x).toBeLessThan(face.box.x + face.box.width);
        expect(y).toBeGreaterThan(face.box.y);
        expect(y).toBeLessThan(face.box.y + face.box.height);
      }
    }
  });

  it('recognizes the same people in new photos and says where they are', async () => {
    const match = await head.match(twoPeople, [obama, biden]);
    expect(match.faces).toHaveLength(2);
    expect(match.sightings.map((s) => [s.conceptId, s.position]).sort()).toEqual([
      ['biden', 'right'],
      ['obama', 'left'],
    ]);
    for (const s of match.sightings) expect(s.similarity).toBeGreaterThanOrEqual(head.threshold);
    const again = await head.match(await photo('ageitgey', 'obama3.jpg'), [obama, biden]);
    expect(again.sightings.map((s) => s.conceptId)).toEqual(['obama']);
  });

  it('keeps different people apart, even when they are the only person taught', async () => {
    const brad = {
      conceptId: 'brad',
      params: (await head.teach([await photo('faceonnx', 'brad_1.jpg'), await photo('faceonnx', 'brad_2.jpg')], null))
        .params,
    };
    expect(keyCount(brad.params)).toBe(2);
    for (const other of [
      ['faceonnx', 'nicole_1.jpg'],
      ['faceonnx', 'sarah_2.jpg'],
      ['ageitgey', 'obama3.jpg'],
      ['ageitgey', 'rose_leslie__img1.jpg'],
    ]) {
      const match = await head.match(await photo(...other), [brad]);
      expect(match.faces.length).toBeGreaterThan(0);
      expect(match.sightings).toEqual([]);
    }
    const bidenAlone = await head.match(await photo('ageitgey', 'biden.jpg'), [obama]);
    expect(bidenAlone.sightings).toEqual([]);
  });

  it("teaches from a group photo by keeping the face that matches the person's single-face photos", async () => {
    const taught = await head.teach([await photo('ageitgey', 'obama.jpg'), obamaAndBiden], null);
    expect(taught.outcomes.map((o) => o.accepted)).toEqual([true, true]);
    expect(taught.outcomes[1].facesFound).toBeGreaterThanOrEqual(2);
    expect(keyCount(taught.params)).toBe(2);
    // The key taken from the group photo is Obama's face (centre), not Biden's.
    const groupKey = {
      conceptId: 'obama',
      params: { ...taught.params, keys: taught.params.keys.slice(recognizer.dims) },
    };
    const match = await head.match(obamaAndBiden, [groupKey]);
    expect(match.sightings).toHaveLength(1);
    expect(match.sightings[0].similarity).toBeGreaterThan(0.99);
    const obamaFace = match.faces[match.sightings[0].faceIndex];
    const bidenMatch = await head.match(obamaAndBiden, [biden]);
    expect(bidenMatch.sightings).toHaveLength(1);
    expect(match.faces[bidenMatch.sightings[0].faceIndex].box.x).toBeLessThan(obamaFace.box.x);
  });

  it('refuses a group photo without a single-face reference, and a photo without a face, with reasons; more photos add keys', async () => {
    const alone = await head.teach([obamaAndBiden], null);
    expect(alone.outcomes[0].accepted).toBe(false);
    expect(alone.outcomes[0].reason).toMatch(/photo where they are alone/);
    expect(keyCount(alone.params)).toBe(0);
    const stranger = await head.teach([await photo('faceonnx', 'brad_1.jpg'), obamaAndBiden], null);
    expect(stranger.outcomes.map((o) => o.accepted)).toEqual([true, false]);
    expect(stranger.outcomes[1].reason).toMatch(/none of them looks like/);
    // With Biden's single-face photo as the reference, the same group photo is accepted for him.
    const forBiden = await head.teach([obamaAndBiden, await photo('ageitgey', 'biden.jpg')], null);
    expect(forBiden.outcomes.map((o) => o.accepted)).toEqual([true, true]);

    const noFace = await decodeImage(
      await readFile(path.join(SHARED_DATA, 'myvlm', 'concepts', 'cat_statue', 'cat_statue_10.jpg')),
    );
    const result = await head.teach([noFace], obama.params);
    expect(result.outcomes[0]).toMatchObject({ accepted: false, facesFound: 0 });
    expect(result.outcomes[0].reason).toMatch(/could not find a face/);
    expect(keyCount(result.params)).toBe(keyCount(obama.params));

    const more = await head.teach([await photo('ageitgey', 'obama3.jpg')], obama.params);
    expect(more.keysAdded).toBe(1);
    expect(keyCount(more.params)).toBe(keyCount(obama.params) + 1);
    const same = await head.teach([await photo('ageitgey', 'obama.jpg')], obama.params);
    expect(same.outcomes[0].accepted).toBe(true);
    expect(same.keysAdded).toBe(0);
  });

  it('computes the features of a photo once, in one batched recognizer run, whatever the number of people', async () => {
    const detectorSession = await sessions.get(path.join(SHARED_MODELS, detector.directory, detector.files[0].path));
    const recognizerSession = await sessions.get(
      path.join(SHARED_MODELS, recognizer.directory, recognizer.files[0].path),
    );
    const detectorRuns = vi.spyOn(detectorSession, 'run');
    const recognizerRuns = vi.spyOn(recognizerSession, 'run');
    const people = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ conceptId: id, params: obama.params }));
    const match = await head.match(obamaAndBiden, [...people, biden]);
    expect(detectorRuns).toHaveBeenCalledTimes(1);
    expect(recognizerRuns).toHaveBeenCalledTimes(1);
    const batch = recognizerRuns.mock.calls[0][0] as Record<string, { dims: readonly number[] }>;
    expect(Object.values(batch)[0].dims[0]).toBe(match.faces.length * (recognizer.flipAverage ? 2 : 1));
    // Five people share Obama's keys: only one of them fires, and Biden fires once.
    expect(match.sightings.filter((s) => s.conceptId === 'biden')).toHaveLength(1);
    expect(match.sightings).toHaveLength(2);
    detectorRuns.mockRestore();
    recognizerRuns.mockRestore();
  });

  it('counts faces too small to recognize but neither embeds nor matches them', async () => {
    const crowd = await decodeImage(
      await readFile(path.join(SHARED_DATA, 'faces', '_groups', 'opencvcourse_group_1.jpg')),
    );
    const match = await head.match(crowd, [obama, biden]);
    expect(match.faces.length).toBeGreaterThan(10);
    const tiny = match.faces.filter((f) => Math.min(f.box.width, f.box.height) < head.minRecognizableFace);
    expect(tiny.length).toBeGreaterThan(10);
    for (const face of tiny) expect(face.embedding).toBeNull();
    for (const s of match.sightings) expect(match.faces[s.faceIndex].embedding).not.toBeNull();
  });

  it('skips people taught with another recognizer instead of comparing incomparable keys', async () => {
    const foreign = { conceptId: 'old', params: { ...obama.params, recognizer: 'arcface-r50-buffalo-l' } };
    const match = await head.match(twoPeople, [foreign, biden]);
    expect(match.incomparable).toEqual(['old']);
    expect(match.sightings.map((s) => s.conceptId)).toEqual(['biden']);
  });

  it('says plainly when its model files are missing', async () => {
    const missing = new FaceHead({
      detector,
      recognizer: findModel('face-recognition', 'arcface-r50-buffalo-l'),
      sessions,
      resolve: { modelsDir: SHARED_MODELS, cacheDir: path.join(SHARED_MODELS, 'no-cache'), allowDownload: false },
    });
    const problem = await missing.availability();
    expect(problem).toBeInstanceOf(ModelMissingError);
    const told = operatorMessage(problem as ModelMissingError);
    expect(told).toMatch(/w600k_r50\.onnx/);
    expect(told).toMatch(/buffalo_l/);
    expect(await head.availability()).toBeNull();
  });
});

describe('OnnxFaceRecognizer', () => {
  it('averages a face with its mirror image, so a face and its mirror embed the same; without flipping they differ', async () => {
    const session = await sessions.get(path.join(SHARED_MODELS, recognizer.directory, recognizer.files[0].path));
    const [face] = await head.detect(await photo('ageitgey', 'obama.jpg'));
    const crop = alignFace(await photo('ageitgey', 'obama.jpg'), face.landmarks);
    const mirrored = { ...crop, data: new Uint8Array(crop.data.length) };
    for (let y = 0; y < 112; y++)
      for (let x = 0; x < 112; x++)
        mirrored.data.set(crop.data.subarray((y * 112 + x) * 3, (y * 112 + x) * 3 + 3), (y * 112 + 111 - x) * 3);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    const flipped = new OnnxFaceRecognizer(recognizer, session, true);
    const [a, b] = await flipped.embed([crop, mirrored]);
    expect(dot(a, a)).toBeCloseTo(1, 5);
    expect(dot(a, b)).toBeCloseTo(1, 5);
    const plain = new OnnxFaceRecognizer(recognizer, session, false);
    const [c, d] = await plain.embed([crop, mirrored]);
    expect(dot(c, d)).toBeLessThan(0.999);
    expect(dot(c, a)).toBeGreaterThan(0.9);
  });
});
