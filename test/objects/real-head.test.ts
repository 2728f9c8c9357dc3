// A real object head on real photos: MobileNetV3-Small features of MyVLM
// concepts, taught from 4 photos against the negatives a user would have.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectHead } from '../../src/heads/object/object-head.ts';
import { photosIn } from '../../src/heads/object/dataset.ts';
import { decodeImage, type DecodedImage } from '../../src/image/decode.ts';
import { SessionPool } from '../../src/models/session.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';

const MYVLM = path.join(SHARED_DATA, 'myvlm');
const CONCEPT = 'bo';

const sessions = new SessionPool();
let objects: ObjectHead;
let teaching: DecodedImage[];
let heldOut: DecodedImage[];
let otherTeaching: DecodedImage[];
let otherTest: DecodedImage[];

const load = (files: string[]) => Promise.all(files.map(async (f) => decodeImage(new Uint8Array(await readFile(f)))));

beforeAll(async () => {
  objects = await ObjectHead.open({
    extractor: 'mobilenet-v3-small-576',
    modelsDir: SHARED_MODELS,
    cacheDir: path.join(SHARED_MODELS, 'no-downloads-here'),
    allowDownload: false,
    sessions,
    genericNegativesDir: path.join(MYVLM, 'random'),
  });
  const own = photosIn(path.join(MYVLM, 'concepts', CONCEPT));
  teaching = await load(own.slice(0, 4));
  heldOut = await load(own.slice(4));
  const others = readdirSync(path.join(MYVLM, 'concepts'))
    .filter((c) => c !== CONCEPT)
    .sort();
  const otherFiles = others.map((c) => photosIn(path.join(MYVLM, 'concepts', c)));
  // The scope's other concepts were taught with their first two photos; their last photo is never seen in training.
  otherTeaching = await load(otherFiles.flatMap((files) => files.slice(0, 2)));
  otherTest = await load(otherFiles.map((files) => files[files.length - 1]));
});

afterAll(async () => {
  await sessions.dispose();
});

describe('ObjectHead on real MyVLM photos', () => {
  it('accepts held-out photos of the concept and rejects photos of other concepts', async () => {
    const result = await objects.teach({ positives: teaching, negatives: { otherConcepts: otherTeaching }, seed: 1 });
    expect(result.method).toBe('trained');
    expect(result.negatives).toEqual({ notIt: 0, otherConcepts: 30, seenInScope: 0, generic: 50 });
    expect(result.params).toMatchObject({
      extractor: 'mobilenet-v3-small-576',
      dims: 576,
      // 80 negative photos, 5 regions each: every region of a negative photo is a negative instance.
      trainedOn: { positives: 4, negatives: 400, steps: 500, seed: 1 },
      scoring: 'regions',
    });
    const heads = [{ conceptId: CONCEPT, params: result.params }];
    for (const photo of heldOut) {
      const match = await objects.match(photo, heads);
      expect(match.fired.map((f) => f.conceptId)).toEqual([CONCEPT]);
    }
    // A photo scores its best region, so one region that looks like Bo is enough: region heads trade some
    // negatives for recall (docs/objects.md). Of the 15 other concepts' unseen photos, at most one fires, barely.
    const others = await Promise.all(otherTest.map((photo) => objects.match(photo, heads)));
    const fired = others.filter((m) => m.fired.length > 0);
    expect(fired.length).toBeLessThanOrEqual(1);
    for (const m of fired) expect(m.fired[0].probability).toBeLessThan(0.6);
  });

  it('trains the same head twice under one seed (features come from the cache the second time)', async () => {
    const a = await objects.teach({ positives: teaching, negatives: { otherConcepts: otherTeaching }, seed: 3 });
    const b = await objects.teach({ positives: teaching, negatives: { otherConcepts: otherTeaching }, seed: 3 });
    expect(Array.from(b.params.weight)).toEqual(Array.from(a.params.weight));
    expect(b.milliseconds).toBeLessThan(a.milliseconds + 1000);
  });

  it('counts a repeated teaching photo once and ignores a negative that is also a positive', async () => {
    const result = await objects.teach({
      positives: [teaching[0], teaching[1], teaching[0]],
      negatives: { notIt: [teaching[1], otherTest[0]] },
      seed: 1,
    });
    expect(result.outcomes.map((o) => o.accepted)).toEqual([true, true, false]);
    expect(result.negatives.notIt).toBe(1);
  });

  it('still yields a usable head on a fresh install with no negative at all (the prototype rule)', async () => {
    const fresh = new ObjectHead(objects.features);
    const result = await fresh.teach({ positives: teaching, seed: 1 });
    expect(result.method).toBe('prototype');
    const heads = [{ conceptId: CONCEPT, params: result.params }];
    const fires = async (photo: DecodedImage) => (await fresh.match(photo, heads)).fired.length > 0;
    for (const photo of teaching) expect(await fires(photo)).toBe(true);
    const accepted = (await Promise.all(heldOut.map(fires))).filter(Boolean).length;
    const rejected = (await Promise.all(otherTest.map(fires))).filter((f) => !f).length;
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(rejected).toBeGreaterThanOrEqual(12);
  });

  it('scores only heads of its own extractor and reports the others', async () => {
    const { params } = await objects.teach({
      positives: teaching,
      negatives: { otherConcepts: otherTeaching },
      seed: 1,
    });
    const match = await objects.match(heldOut[0], [
      { conceptId: CONCEPT, params },
      { conceptId: 'old', params: { ...params, extractor: 'clip-vit-b32' } },
    ]);
    expect(match.skipped).toEqual(['old']);
    expect(match.scores.map((s) => s.conceptId)).toEqual([CONCEPT]);
  });
});
