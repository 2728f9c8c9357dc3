// The object head as the conversation core uses it: teach a concept from a
// few photos and the negatives the scope has, and find which of a scope's
// object concepts are in a new photo, and where. Features are computed once
// per photo region (and per augmented view when teaching) and shared through
// one cache.
import { OBJECT_REGIONS } from '../../config/defaults.ts';
import type { Box } from '../../image/box.ts';
import { moduleLogger } from '../../log.ts';
import { InternalError } from '../../errors.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import type { ResolveOptions } from '../../models/resolve.ts';
import type { SessionPool } from '../../models/session.ts';
import type { PhotoOutcome } from '../types.ts';
import { FeatureCache } from './feature-cache.ts';
import { openImageFeatureExtractor } from './features.ts';
import { fitObjectHead, type HeadMethod } from './fit.ts';
import { HeadBank, type RegionScore, type ScopedHead } from './head-bank.ts';
import { trainMilHead } from './mil.ts';
import { GenericNegatives, withoutLookalikes } from './negatives.ts';
import { DEFAULT_NORMALIZATION, type NormalizationMode } from './normalization.ts';
import { PhotoFeatures, type HashedImage } from './photo-features.ts';
import { regionBox, regionPlan, type Region } from './regions.ts';
import { NEGATIVE_VIEWS, POSITIVE_VIEWS, viewPlan } from './views.ts';

const logger = moduleLogger('object-head');

/** Negatives for one concept, by where they come from. Every list is optional. */
export interface ObjectNegativeSources {
  /** Photos the user said are not this concept. */
  notIt?: readonly HashedImage[];
  /** Teaching photos of the scope's other concepts (people included). */
  otherConcepts?: readonly HashedImage[];
  /** Photos seen in the scope and not taught as this concept; lookalikes of the positives are dropped. */
  seenInScope?: readonly HashedImage[];
}

export interface TeachObjectInput {
  /** Teaching photos (the paper uses 4; one is enough to start). */
  positives: readonly HashedImage[];
  negatives?: ObjectNegativeSources;
  /** Same photos and seed, same head. */
  seed: number;
}

export interface TeachObjectResult {
  params: LinearHeadParams;
  /** Per positive photo: accepted, or why not (a repeated photo). */
  outcomes: PhotoOutcome[];
  /** `prototype` when no negative of any source existed yet (retrain once some do). */
  method: HeadMethod;
  /** Negatives used, by source. */
  negatives: { notIt: number; otherConcepts: number; seenInScope: number; generic: number };
  milliseconds: number;
}

/** A head's score on a photo and where it points: the box of its best region, in the photo's pixels. */
export interface LocatedScore extends RegionScore {
  box: Box;
}

/** Which of a scope's object concepts a photo shows. */
export interface ObjectMatch {
  /** Heads at or above their threshold, most probable first. */
  fired: LocatedScore[];
  /** Every comparable head's score, in the order given. */
  scores: LocatedScore[];
  /** Concepts whose head was trained on another extractor (retrain them from their photos). */
  skipped: string[];
}

export interface ObjectHeadOptions {
  /** Views per positive photo (default POSITIVE_VIEWS, 8). */
  positiveViews?: number;
  /** Views per negative photo (default NEGATIVE_VIEWS, 1) of whole-photo heads; a region head takes each region of a negative photo once. */
  negativeViews?: number;
  normalization?: NormalizationMode;
  /** Region grids (default OBJECT_REGIONS.grids); none trains and scores whole photos only, as before regions. */
  regionGrids?: readonly number[];
  /** A folder of generic photos used as extra negatives (MYVLM_GENERIC_NEGATIVES_DIR), or null. */
  genericNegativesDir?: string | null;
}

export interface OpenObjectHeadOptions extends ResolveOptions, ObjectHeadOptions {
  /** Registry id of the image feature extractor (MYVLM_IMAGE_FEATURES; default clip-vit-b32). */
  extractor: string;
  sessions?: SessionPool;
  /** A folder to keep features across restarts, or null for memory only. */
  featureCacheDir?: string | null;
}

/** Score banks kept for this many scopes at once (the least recently used goes first). */
const BANKS_KEPT = 64;

/**
 * Teaches and recognizes object concepts over one feature extractor.
 *
 * ```ts
 * const objects = await ObjectHead.open({ extractor: 'clip-vit-b32', cacheDir, allowDownload: true });
 * const { params } = await objects.teach({ positives: photos, negatives: { otherConcepts }, seed: 1 });
 * const { fired } = await objects.match(photo, [{ conceptId: 'rex', params }]);
 * ```
 */
export class ObjectHead {
  private readonly banks = new Map<string, HeadBank>();
  private readonly generic: GenericNegatives | null;
  private readonly positiveViews: number;
  private readonly negativeViews: number;
  private readonly normalization: NormalizationMode;
  private readonly regions: Region[];

  constructor(
    readonly features: PhotoFeatures,
    options: ObjectHeadOptions = {},
  ) {
    this.positiveViews = options.positiveViews ?? POSITIVE_VIEWS;
    this.negativeViews = options.negativeViews ?? NEGATIVE_VIEWS;
    this.normalization = options.normalization ?? DEFAULT_NORMALIZATION;
    this.regions = regionPlan(options.regionGrids ?? OBJECT_REGIONS.grids);
    this.generic = options.genericNegativesDir ? new GenericNegatives(options.genericNegativesDir) : null;
  }

  /** Opens the extractor from the registry (locating or downloading its file) with a fresh feature cache. */
  static async open(options: OpenObjectHeadOptions): Promise<ObjectHead> {
    const extractor = await openImageFeatureExtractor(options.extractor, options);
    const cache = new FeatureCache({ directory: options.featureCacheDir ?? null });
    return new ObjectHead(new PhotoFeatures(extractor, cache), options);
  }

  /** Registry id of the extractor every head taught here is trained on. */
  get extractorId(): string {
    return this.features.extractorId;
  }

  /**
   * Fits a concept's head: the paper's trainer against every negative
   * available, or the prototype rule when there is none yet. Repeated photos
   * count once; negatives identical to a positive are ignored.
   */
  async teach(input: TeachObjectInput): Promise<TeachObjectResult> {
    const started = performance.now();
    const seen = new Set<string>();
    const outcomes: PhotoOutcome[] = [];
    const positives: HashedImage[] = [];
    input.positives.forEach((photo, index) => {
      if (seen.has(photo.sha256)) {
        outcomes.push({ index, accepted: false, reason: 'the same photo was sent twice; it counts once' });
        return;
      }
      seen.add(photo.sha256);
      positives.push(photo);
      outcomes.push({ index, accepted: true });
    });
    if (positives.length === 0) throw new InternalError('teach needs at least one positive photo');

    const byRegions = this.regions.length > 1;
    const views = viewPlan(Math.max(this.positiveViews, this.negativeViews));
    const plan = views.slice(0, this.positiveViews);
    const positiveViews = await this.features.views(positives, plan);
    // Per negative photo: its regions (region 0 the whole photo), or without regions its views (view 0 the photo).
    const negativeFeatures = async (photos: readonly HashedImage[] | undefined) => {
      const unique = (photos ?? []).filter((p) => !seen.has(p.sha256));
      return byRegions
        ? this.features.regions(unique, this.regions)
        : this.features.views(unique, views.slice(0, this.negativeViews));
    };
    const notIt = await negativeFeatures(input.negatives?.notIt);
    const otherConcepts = await negativeFeatures(input.negatives?.otherConcepts);
    const seenViews = await negativeFeatures(input.negatives?.seenInScope);
    const kept = new Set(
      withoutLookalikes(
        seenViews.map((v) => v[0]),
        positiveViews.map((v) => v[0]),
      ),
    );
    const seenInScope = seenViews.filter((v) => kept.has(v[0]));
    const generic = this.generic ? await this.generic.features(this.features, this.regions) : [];

    const negativePhotos = [...notIt, ...otherConcepts, ...seenInScope, ...generic];
    // With regions every region of a negative photo is a negative instance (one view each).
    const negatives = byRegions ? negativePhotos.flatMap((regions) => regions.map((f) => [f])) : negativePhotos;
    const training = { extractor: this.features.extractorId, seed: input.seed, normalization: this.normalization };
    const fitted =
      byRegions && negatives.length > 0
        ? await this.fitByRegions(positives, positiveViews, negatives, plan, training)
        : fitObjectHead({ positives: positiveViews, negatives }, training);
    const counts = {
      notIt: notIt.length,
      otherConcepts: otherConcepts.length,
      seenInScope: seenInScope.length,
      generic: generic.length,
    };
    logger.info(
      {
        extractor: this.extractorId,
        positives: positives.length,
        negatives: counts,
        method: fitted.method,
        trainMs: Math.round(fitted.milliseconds),
      },
      'object head fitted',
    );
    return {
      params: fitted.params,
      outcomes,
      method: fitted.method,
      negatives: counts,
      milliseconds: performance.now() - started,
    };
  }

  /** The multiple-instance head over the teaching photos' regions (mil.ts); region 0's views are the photo's own. */
  private async fitByRegions(
    positives: readonly HashedImage[],
    positiveViews: readonly Float32Array[][],
    negatives: readonly Float32Array[][],
    plan: ReturnType<typeof viewPlan>,
    training: { extractor: string; seed: number; normalization: NormalizationMode },
  ): Promise<{ params: LinearHeadParams; method: HeadMethod; milliseconds: number }> {
    const started = performance.now();
    const regions = await this.features.regions(positives, this.regions);
    const { params } = await trainMilHead(
      {
        positives: regions,
        negatives,
        viewsOf: async (photo, region) =>
          region === 0
            ? positiveViews[photo]
            : (await this.features.views([positives[photo]], plan, this.regions[region]))[0],
      },
      training,
    );
    return { params, method: 'trained', milliseconds: performance.now() - started };
  }

  /**
   * Scores every object head of a scope against one photo, as one product
   * over the photo's feature. Pass `scope` to keep that scope's compiled heads
   * between calls; pass each head's `revision` (the record version) to reuse
   * rows when records are reloaded from the store.
   */
  async match(image: HashedImage, objects: readonly ScopedHead[], scope = ''): Promise<ObjectMatch> {
    const comparable = objects.filter(
      (o) => o.params.extractor === this.extractorId && o.params.dims === this.features.dims,
    );
    const skipped = objects.filter((o) => !comparable.includes(o)).map((o) => o.conceptId);
    if (skipped.length > 0)
      logger.warn({ skipped, extractor: this.extractorId }, 'object heads of another extractor were not scored');
    if (comparable.length === 0) return { fired: [], scores: [], skipped };
    const [regions] = await this.features.regions([image], this.regions);
    const bank = this.bankFor(scope);
    bank.sync(comparable);
    const byId = new Map(
      bank
        .scoreRegions(regions)
        .map((s) => [s.conceptId, { ...s, box: regionBox(this.regions[s.region], image.width, image.height) }]),
    );
    const scores = comparable.map((o) => byId.get(o.conceptId) as LocatedScore);
    const fired = scores.filter((s) => s.fires).sort((a, b) => b.probability - a.probability);
    return { fired, scores, skipped };
  }

  private bankFor(scope: string): HeadBank {
    let bank = this.banks.get(scope);
    if (bank) {
      this.banks.delete(scope);
    } else {
      bank = new HeadBank(this.features.dims, this.extractorId);
      if (this.banks.size >= BANKS_KEPT) this.banks.delete(this.banks.keys().next().value as string);
    }
    this.banks.set(scope, bank);
    return bank;
  }
}
