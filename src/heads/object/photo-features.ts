// Features of photos, of their regions and of their augmented views, computed
// once: every request first looks in the feature cache, then renders and
// encodes only the missing (photo, region, view) triples, and stores them.
import type { RgbImage } from '../../image/decode.ts';
import { FeatureCache } from './feature-cache.ts';
import type { ImageFeatureExtractor } from './features.ts';
import { WHOLE_REGION, type Region } from './regions.ts';
import { IDENTITY_VIEW, renderView, viewTag, type ViewSpec } from './views.ts';

/** A photo with the sha256 of its bytes, the key of its cached features (DecodedImage is one). */
export interface HashedImage extends RgbImage {
  sha256: string;
}

/** Missing views rendered and encoded together; bounds the pixels held at once. */
const RENDER_CHUNK = 32;

/**
 * The feature source for object heads: an extractor plus a cache. Use one per
 * process and extractor so that every head, teach and match shares the cache.
 */
export class PhotoFeatures {
  constructor(
    readonly extractor: ImageFeatureExtractor,
    readonly cache: FeatureCache = new FeatureCache(),
  ) {}

  get extractorId(): string {
    return this.extractor.id;
  }

  get dims(): number {
    return this.extractor.dims;
  }

  /** The feature of each photo as it is. */
  async of(photos: readonly HashedImage[]): Promise<Float32Array[]> {
    return (await this.views(photos, [IDENTITY_VIEW])).map((views) => views[0]);
  }

  /** The features of every view of every photo (of one region of it, the whole photo by default): `result[photo][view]`. */
  async views(
    photos: readonly HashedImage[],
    views: readonly ViewSpec[],
    region: Region = WHOLE_REGION,
  ): Promise<Float32Array[][]> {
    return this.compute(
      photos,
      views.map((view) => ({ region, view })),
    );
  }

  /** The features of every region of every photo as it is (one encoder call per chunk): `result[photo][region]`. */
  async regions(photos: readonly HashedImage[], regions: readonly Region[]): Promise<Float32Array[][]> {
    return this.compute(
      photos,
      regions.map((region) => ({ region, view: IDENTITY_VIEW })),
    );
  }

  /** Missing (region, view) features are computed per (photo, view): the view is rendered once and all its regions encoded together. */
  private async compute(
    photos: readonly HashedImage[],
    items: ReadonlyArray<{ region: Region; view: ViewSpec }>,
  ): Promise<Float32Array[][]> {
    const result: Float32Array[][] = photos.map(() => new Array<Float32Array>(items.length));
    const missing = new Map<string, { photo: number; view: ViewSpec; items: number[] }>();
    for (let p = 0; p < photos.length; p++) {
      for (let i = 0; i < items.length; i++) {
        const hit = await this.cache.get(this.key(photos[p], items[i]), this.dims);
        if (hit) {
          result[p][i] = hit;
          continue;
        }
        const group = `${p}/${viewTag(items[i].view)}`;
        const entry = missing.get(group) ?? { photo: p, view: items[i].view, items: [] };
        entry.items.push(i);
        missing.set(group, entry);
      }
    }
    const groups = [...missing.values()];
    const wholeOnly = groups.filter((g) => g.items.every((i) => items[i].region.tag === WHOLE_REGION.tag));
    // Whole photos are encoded in batches; a photo's regions in one call each.
    for (let start = 0; start < wholeOnly.length; start += RENDER_CHUNK) {
      const chunk = wholeOnly.slice(start, start + RENDER_CHUNK);
      const vectors = await this.extractor.extract(chunk.map((g) => renderView(photos[g.photo], g.view)));
      for (let k = 0; k < chunk.length; k++) await this.store(photos, items, result, chunk[k], [vectors[k]]);
    }
    for (const group of groups.filter((g) => !wholeOnly.includes(g))) {
      const rendered = renderView(photos[group.photo], group.view);
      const vectors = await this.extractor.extractRegions(
        rendered,
        group.items.map((i) => items[i].region),
      );
      await this.store(photos, items, result, group, vectors);
    }
    return result;
  }

  private async store(
    photos: readonly HashedImage[],
    items: ReadonlyArray<{ region: Region; view: ViewSpec }>,
    result: Float32Array[][],
    group: { photo: number; items: number[] },
    vectors: readonly Float32Array[],
  ): Promise<void> {
    for (let k = 0; k < group.items.length; k++) {
      const item = group.items[k];
      result[group.photo][item] = vectors[k];
      await this.cache.set(this.key(photos[group.photo], items[item]), vectors[k]);
    }
  }

  /**
   * The whole photo keeps its old key (`id`, `fr30`), so caches written before
   * regions stay valid; a region's key says how it was made (`g2-0-1.map_id`,
   * `g2-0-1.crop_fr30`): pooled from the feature map or encoded as a crop.
   * A region of a view is that region of the rendered view.
   */
  private key(photo: HashedImage, { region, view }: { region: Region; view: ViewSpec }) {
    const tag =
      region.tag === WHOLE_REGION.tag ? viewTag(view) : `${region.tag}.${this.extractor.regionMode}_${viewTag(view)}`;
    return { extractor: this.extractor.id, sha256: photo.sha256, view: tag };
  }
}
