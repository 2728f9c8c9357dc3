// Negatives a real user has, gathered for one object head:
// - photos the user marked "not it" (the strongest: same-category lookalikes),
// - the teaching photos of the scope's other concepts,
// - photos seen in the scope that were not taught as this concept (they may
//   show it untaught, so obvious lookalikes of the positives are dropped),
// - an optional folder of generic photos (MYVLM_GENERIC_NEGATIVES_DIR).
// How much each source helps is measured in docs/objects.md.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { decodeImage } from '../../image/decode.ts';
import { moduleLogger } from '../../log.ts';
import { seededRandom, shuffle } from '../../random.ts';
import { photosIn } from './dataset.ts';
import { inverseNorm } from './normalization.ts';
import type { PhotoFeatures } from './photo-features.ts';
import type { Region } from './regions.ts';

const logger = moduleLogger('object-negatives');

/**
 * Most generic photos used per head. The paper trains on about 75 negatives
 * (half of about 150); 200 generic photos add breadth without making teaching
 * slow on the first run (their features are cached afterwards).
 */
export const MAX_GENERIC_NEGATIVES = 200;

/** Photos decoded at a time while reading the generic folder (bounds memory for large photos). */
const GENERIC_CHUNK = 8;

/**
 * A folder of generic photos, read lazily: the first head that needs it
 * decodes a seeded sample of at most MAX_GENERIC_NEGATIVES photos and keeps
 * only their features (per extractor). Unreadable files are skipped.
 */
export class GenericNegatives {
  private readonly loaded = new Map<string, Promise<Float32Array[][]>>();

  constructor(
    readonly directory: string,
    private readonly limit: number = MAX_GENERIC_NEGATIVES,
  ) {}

  /** Checks the folder exists and holds photos; a ConfigError names the setting otherwise. */
  files(): string[] {
    let files: string[];
    try {
      files = photosIn(this.directory);
    } catch (cause) {
      throw new ConfigError(
        'MYVLM_GENERIC_NEGATIVES_DIR',
        `cannot read the folder ${this.directory} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
      );
    }
    if (files.length === 0)
      throw new ConfigError('MYVLM_GENERIC_NEGATIVES_DIR', `${this.directory} holds no JPEG, PNG or WebP photos`);
    // A fixed seed: the same folder always gives the same sample, so cached features are reused.
    return shuffle(files, seededRandom(0)).slice(0, this.limit);
  }

  /** Features of each region of the sampled photos for one extractor, computed once: `result[photo][region]`. */
  features(source: PhotoFeatures, regions: readonly Region[]): Promise<Float32Array[][]> {
    const key = `${source.extractorId}/${regions.map((r) => r.tag).join(',')}`;
    let pending = this.loaded.get(key);
    if (!pending) {
      pending = this.compute(source, regions);
      pending.catch(() => this.loaded.delete(key));
      this.loaded.set(key, pending);
    }
    return pending;
  }

  private async compute(source: PhotoFeatures, regions: readonly Region[]): Promise<Float32Array[][]> {
    const files = this.files();
    const out: Float32Array[][] = [];
    for (let start = 0; start < files.length; start += GENERIC_CHUNK) {
      const decoded = await Promise.all(
        files.slice(start, start + GENERIC_CHUNK).map(async (file) => {
          try {
            return await decodeImage(new Uint8Array(await readFile(file)));
          } catch (error) {
            logger.warn({ file, err: error }, 'skipping an unreadable generic negative');
            return null;
          }
        }),
      );
      const images = decoded.filter((d) => d !== null);
      out.push(...(await source.regions(images, regions)));
    }
    logger.info(
      { directory: this.directory, photos: out.length, extractor: source.extractorId },
      'generic negatives ready',
    );
    return out;
  }
}

/**
 * Drops features that look like the positives: any candidate at least as
 * similar to the positives' mean as the least similar positive is. Used for
 * photos seen in the scope, which may show the concept before it was taught.
 */
export function withoutLookalikes(
  candidates: readonly Float32Array[],
  positives: readonly Float32Array[],
): Float32Array[] {
  if (positives.length === 0 || candidates.length === 0) return [...candidates];
  const dims = positives[0].length;
  const mean = new Float64Array(dims);
  for (const p of positives) {
    const s = inverseNorm(p);
    for (let i = 0; i < dims; i++) mean[i] += p[i] * s;
  }
  const cosine = (x: Float32Array) => {
    let dot = 0;
    let norm = 0;
    for (let i = 0; i < dims; i++) {
      dot += mean[i] * x[i];
      norm += mean[i] * mean[i];
    }
    return (dot * inverseNorm(x)) / Math.sqrt(norm || 1);
  };
  const floor = Math.min(...positives.map(cosine));
  return candidates.filter((c) => cosine(c) < floor);
}
