// Features of photos and of their augmented views, computed once: every
// request first looks in the feature cache, then renders and encodes only the
// missing (photo, view) pairs, in batches, and stores them.
import type { RgbImage } from '../../image/decode.ts';
import { FeatureCache } from './feature-cache.ts';
import type { ImageFeatureExtractor } from './features.ts';
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

  /** The features of every view of every photo: `result[photo][view]`. */
  async views(photos: readonly HashedImage[], views: readonly ViewSpec[]): Promise<Float32Array[][]> {
    const result: Float32Array[][] = photos.map(() => new Array<Float32Array>(views.length));
    const missing: Array<{ photo: number; view: number }> = [];
    for (let p = 0; p < photos.length; p++) {
      for (let v = 0; v < views.length; v++) {
        const hit = await this.cache.get(this.key(photos[p], views[v]), this.dims);
        if (hit) result[p][v] = hit;
        else missing.push({ photo: p, view: v });
      }
    }
    for (let start = 0; start < missing.length; start += RENDER_CHUNK) {
      const chunk = missing.slice(start, start + RENDER_CHUNK);
      const rendered = chunk.map(({ photo, view }) => renderView(photos[photo], views[view]));
      const vectors = await this.extractor.extract(rendered);
      for (let i = 0; i < chunk.length; i++) {
        const { photo, view } = chunk[i];
        result[photo][view] = vectors[i];
        await this.cache.set(this.key(photos[photo], views[view]), vectors[i]);
      }
    }
    return result;
  }

  private key(photo: HashedImage, view: ViewSpec) {
    return { extractor: this.extractor.id, sha256: photo.sha256, view: viewTag(view) };
  }
}
