// What the evaluation adds for region scoring: whole-image, region and
// combined scores side by side, the time to recognize one photo each way, and
// a localization check. The data has no boxes, so the check makes its own: a
// held-out photo of the concept, shrunk, pasted at a seeded random place into
// a held-out random photo; the head's box "covers" it when at least half of
// the pasted rectangle lies inside the box. That measures whether the best
// region is where the concept's pixels are; it does not measure boxes on real
// scenes (a pasted photo has a sharp edge, its own background and lighting).
import { readFile } from 'node:fs/promises';
import type { Box } from '../../image/box.ts';
import { decodeImage, sha256Hex, type RgbImage } from '../../image/decode.ts';
import { resizeRgb } from '../../image/tensor.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import { bestRegion } from './mil.ts';
import type { HashedImage, PhotoFeatures } from './photo-features.ts';
import { regionBox, WHOLE_REGION, type Region } from './regions.ts';

/** How a photo's score is read from a head's region scores. */
export type Scoring = 'wholeImage' | 'region' | 'combined';

/** One scoring's results at the head's threshold. */
export interface ScoringSummary {
  recall: number;
  negativeAccuracy: number;
  positives: { correct: number; total: number };
  negatives: { correct: number; total: number };
  /** Median milliseconds to compute one photo's features (not cached) and score it. */
  msPerPhoto: number;
}

/** Scores of the held-out photos under one scoring. */
export interface ScoreLists {
  positives: number[];
  negatives: number[];
}

/** A summary at `threshold` (firing at p >= threshold, as heads do). */
export function summarize(lists: ScoreLists, threshold: number, msPerPhoto: number): ScoringSummary {
  const accepted = lists.positives.filter((p) => p >= threshold).length;
  const rejected = lists.negatives.filter((p) => p < threshold).length;
  return {
    recall: lists.positives.length === 0 ? 0 : accepted / lists.positives.length,
    negativeAccuracy: lists.negatives.length === 0 ? 0 : rejected / lists.negatives.length,
    positives: { correct: accepted, total: lists.positives.length },
    negatives: { correct: rejected, total: lists.negatives.length },
    msPerPhoto,
  };
}

/**
 * A photo's score under each scoring, from one head's probability of each
 * region (region 0 the whole photo): `region` is the best region's,
 * `combined` the mean of the whole photo's and the best region's.
 */
export function scoresOf(regionProbabilities: readonly number[]): Record<Exclude<Scoring, 'wholeImage'>, number> {
  const best = Math.max(...regionProbabilities);
  return { region: best, combined: (regionProbabilities[0] + best) / 2 };
}

/**
 * Median milliseconds to recognize a photo from its decoded pixels: encode
 * the regions (one batch) and score them. `regions` of one (the whole photo)
 * is the whole-image path.
 */
export async function msPerPhoto(
  features: PhotoFeatures,
  photos: readonly RgbImage[],
  regions: readonly Region[],
  head: LinearHeadParams,
): Promise<number> {
  const times: number[] = [];
  for (const photo of photos) {
    const started = performance.now();
    const vectors =
      regions.length === 1
        ? await features.extractor.extract([photo])
        : await features.extractor.extractRegions(photo, regions);
    bestRegion(head, vectors);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

/** One pasted composite and where the head pointed. */
export interface LocalizationSample {
  concept: string;
  image: RgbImage;
  /** Where the concept's photo was pasted. */
  pasted: Box;
  /** The head's best region. */
  box: Box;
  probability: number;
  /** The best region was the whole photo. */
  whole: boolean;
  covered: boolean;
}

export interface LocalizationResult {
  composites: number;
  /** Composites whose best region holds at least half of the pasted photo. */
  covered: number;
  /** Composites where the head also fired. */
  fired: number;
  /** Composites where the best region was the whole photo (it covers by construction; not counted as covered). */
  wholePhoto: number;
  /** Share of the non-whole regions that cover the pasted photo, averaged: what a region picked at random scores. */
  chance: number;
  /** Side of the pasted photo, as a share of the background's shorter side. */
  pastedSide: number;
}

/** Side of a pasted concept photo, as a share of the background's shorter side: about a tenth of the scene's area. */
export const PASTED_SIDE = 0.33;

/** Share of the pasted rectangle that must lie inside the box for the box to cover it. */
export const COVER_SHARE = 0.5;

/** Pastes `photo`, its longer side `side` of the background's shorter side, at a seeded random place. */
export async function pasteInto(
  background: RgbImage,
  photo: RgbImage,
  side: number,
  random: () => number,
): Promise<{ image: HashedImage; pasted: Box }> {
  const longest = Math.max(2, Math.round(side * Math.min(background.width, background.height)));
  const scale = longest / Math.max(photo.width, photo.height);
  const width = Math.max(1, Math.round(photo.width * scale));
  const height = Math.max(1, Math.round(photo.height * scale));
  const small = await resizeRgb(photo, width, height);
  const x = Math.floor(random() * (background.width - width + 1));
  const y = Math.floor(random() * (background.height - height + 1));
  const data = Uint8Array.from(background.data);
  for (let row = 0; row < height; row++) {
    const from = row * width * 3;
    data.set(small.data.subarray(from, from + width * 3), ((y + row) * background.width + x) * 3);
  }
  const image = { width: background.width, height: background.height, data, sha256: sha256Hex(data) };
  return { image, pasted: { x, y, width, height } };
}

/** Share of `inner`'s area inside `outer`. */
export function coverage(outer: Box, inner: Box): number {
  const w = Math.min(outer.x + outer.width, inner.x + inner.width) - Math.max(outer.x, inner.x);
  const h = Math.min(outer.y + outer.height, inner.y + inner.height) - Math.max(outer.y, inner.y);
  const area = inner.width * inner.height;
  return area > 0 ? (Math.max(0, w) * Math.max(0, h)) / area : 0;
}

/** One composite scored by a region head: pasted, encoded by region, the best region's box checked. */
export async function localizeOne(
  features: PhotoFeatures,
  regions: readonly Region[],
  head: LinearHeadParams,
  concept: string,
  files: { photo: string; background: string },
  random: () => number,
): Promise<{ sample: LocalizationSample; chance: number }> {
  const [photo, background] = await Promise.all(
    [files.photo, files.background].map(async (f) => decodeImage(new Uint8Array(await readFile(f)))),
  );
  const { image, pasted } = await pasteInto(background, photo, PASTED_SIDE, random);
  const [vectors] = await features.regions([image], regions);
  const best = bestRegion(head, vectors);
  const box = regionBox(regions[best.region], image.width, image.height);
  const covers = (r: Region) => coverage(regionBox(r, image.width, image.height), pasted) >= COVER_SHARE;
  const crops = regions.filter((r) => r.tag !== WHOLE_REGION.tag);
  return {
    sample: {
      concept,
      image,
      pasted,
      box,
      probability: best.probability,
      whole: best.region === 0,
      covered: best.region !== 0 && covers(regions[best.region]),
    },
    chance: crops.length === 0 ? 0 : crops.filter(covers).length / crops.length,
  };
}

/** Tallies composites into a result. */
export function localizationResult(
  runs: ReadonlyArray<{ sample: LocalizationSample; chance: number }>,
  threshold: number,
): LocalizationResult {
  return {
    composites: runs.length,
    covered: runs.filter((r) => r.sample.covered).length,
    fired: runs.filter((r) => r.sample.probability >= threshold).length,
    wholePhoto: runs.filter((r) => r.sample.whole).length,
    chance: runs.length === 0 ? 0 : runs.reduce((a, r) => a + r.chance, 0) / runs.length,
    pastedSide: PASTED_SIDE,
  };
}
