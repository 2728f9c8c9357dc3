// Region scoring on real photos with MobileNetV3-Small: region features pooled
// from the encoder's feature map in the photo's own run, a multiple-instance
// head that points at where the concept is, and heads stored before regions
// (no `scoring`) that keep scoring the whole photo as they did.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photosIn } from '../../src/heads/object/dataset.ts';
import { ObjectHead } from '../../src/heads/object/object-head.ts';
import { coverage, pasteInto } from '../../src/heads/object/region-evaluation.ts';
import { regionPlan, WHOLE_REGION } from '../../src/heads/object/regions.ts';
import { decodeImage, type DecodedImage } from '../../src/image/decode.ts';
import { SessionPool } from '../../src/models/session.ts';
import { seededRandom } from '../../src/random.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';

const MYVLM = path.join(SHARED_DATA, 'myvlm');
const sessions = new SessionPool();
let objects: ObjectHead;
let wholeOnly: ObjectHead;
let teaching: DecodedImage[];
let heldOut: DecodedImage;
let others: DecodedImage[];
let background: DecodedImage;

const load = (files: string[]) => Promise.all(files.map(async (f) => decodeImage(new Uint8Array(await readFile(f)))));

beforeAll(async () => {
  const open = {
    modelsDir: SHARED_MODELS,
    cacheDir: path.join(SHARED_MODELS, 'no-downloads-here'),
    allowDownload: false,
  };
  objects = await ObjectHead.open({ extractor: 'mobilenet-v3-small-576', ...open, sessions });
  // Same features and cache, whole photos only: how heads were taught before regions.
  wholeOnly = new ObjectHead(objects.features, { regionGrids: [] });
  const own = photosIn(path.join(MYVLM, 'concepts', 'colorful_teapot'));
  teaching = await load(own.slice(0, 4));
  [heldOut] = await load([own[6]]);
  others = await load(
    ['billy_dog', 'gengar_toy', 'robot_toy', 'skulls_mug'].flatMap((c) =>
      photosIn(path.join(MYVLM, 'concepts', c)).slice(0, 2),
    ),
  );
  [background] = await load([photosIn(path.join(MYVLM, 'random'))[0]]);
});

afterAll(async () => {
  await sessions.dispose();
});

describe('region features of a real encoder', () => {
  it("pools the whole photo's map to the encoder's own pooled output", async () => {
    const extractor = objects.features.extractor;
    expect(extractor.regionMode).toBe('map');
    const [pooled] = await extractor.extract([heldOut]);
    const regions = await extractor.extractRegions(heldOut, regionPlan([2]));
    expect(regions).toHaveLength(5);
    for (let i = 0; i < pooled.length; i += 37) expect(regions[0][i]).toBeCloseTo(pooled[i], 4);
    // The corner regions differ from the whole photo and from each other.
    expect(regions[1][0]).not.toBeCloseTo(regions[4][0], 4);
  });
});

describe('a multiple-instance head on real photos', () => {
  it('finds the concept in a held-out photo and points at it when it is pasted into another photo', async () => {
    const { params } = await objects.teach({ positives: teaching, negatives: { otherConcepts: others }, seed: 1 });
    expect(params.scoring).toBe('regions');
    const heads = [{ conceptId: 'teapot', params }];
    const held = await objects.match(heldOut, heads);
    expect(held.fired.map((f) => f.conceptId)).toEqual(['teapot']);
    const box = held.fired[0].box;
    expect(box.x + box.width).toBeLessThanOrEqual(heldOut.width);
    expect(box.y + box.height).toBeLessThanOrEqual(heldOut.height);

    // The teapot photo at 2/3 of the background's shorter side in its top-left corner: the box is the top-left region.
    const { image, pasted } = await pasteInto(background, heldOut, 0.6, () => 0);
    expect([pasted.x, pasted.y]).toEqual([0, 0]);
    const composite = await objects.match(image, heads);
    // Feature-map regions are coarse (a 7 x 7 map): the box is a left-hand region, not the whole photo, and holds much of the teapot.
    const { box: found, region } = composite.scores[0];
    expect(region).toBeGreaterThan(0);
    expect(found.x).toBe(0);
    expect(coverage(found, pasted)).toBeGreaterThan(0.4);

    // Pasting the teapot is what raised the score: the background alone scores lower.
    const alone = await objects.match(background, heads);
    expect(alone.scores[0].probability).toBeLessThan(composite.scores[0].probability - 0.02);
  });

  it('keeps scoring a head stored before regions (no scoring field) by the whole photo, as it did', async () => {
    const { params } = await wholeOnly.teach({ positives: teaching, negatives: { otherConcepts: others }, seed: 2 });
    expect('scoring' in params).toBe(false);
    const heads = [{ conceptId: 'old', params }];
    for (const photo of [heldOut, ...others.slice(0, 3)]) {
      const before = (await wholeOnly.match(photo, heads)).scores[0];
      const now = (await objects.match(photo, heads)).scores[0];
      expect(now.probability).toBeCloseTo(before.probability, 5);
      expect(now.fires).toBe(before.fires);
    }
    expect((await wholeOnly.match(heldOut, heads)).scores[0].region).toBe(0);
    expect(regionPlan([])).toEqual([WHOLE_REGION]);
  });
});

describe('pasteInto', () => {
  it('pastes a shrunk photo at a seeded place and leaves the rest of the background as it was', async () => {
    const { image, pasted } = await pasteInto(background, heldOut, 0.33, seededRandom(4));
    expect(Math.max(pasted.width, pasted.height)).toBe(
      Math.round(0.33 * Math.min(background.width, background.height)),
    );
    expect(pasted.x + pasted.width).toBeLessThanOrEqual(background.width);
    const outside = pasted.x > 0 ? 0 : background.width - 1;
    const row = pasted.y > 0 ? 0 : background.height - 1;
    const i = (row * background.width + outside) * 3;
    expect([...image.data.subarray(i, i + 3)]).toEqual([...background.data.subarray(i, i + 3)]);
    expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
