// The object head as the conversation core uses it: teach a concept from a
// few photos and the negatives the scope has, and find which of a scope's
// object concepts are in a new photo. Features are computed once per photo
// (and per augmented view when teaching) and shared through one cache.
import { moduleLogger } from '../../log.ts';
import { InternalError } from '../../errors.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import type { ResolveOptions } from '../../models/resolve.ts';
import type { SessionPool } from '../../models/session.ts';
import type { PhotoOutcome } from '../types.ts';
import { FeatureCache } from './feature-cache.ts';
import { openImageFeatureExtractor } from './features.ts';
import { fitObjectHead, type HeadMethod } from './fit.ts';
import { HeadBank, type HeadScore, type ScopedHead } from './head-bank.ts';
import { GenericNegatives, withoutLookalikes } from './negatives.ts';
import { DEFAULT_NORMALIZATION, type NormalizationMode } from './normalization.ts';
import { PhotoFeatures, type HashedImage } from './photo-features.ts';
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

/** Which of a scope's object concepts a photo shows. */
export interface ObjectMatch {
  /** Heads at or above their threshold, most probable first. */
  fired: HeadScore[];
  /** Every comparable head's score, in the order given. */
  scores: HeadScore[];
  /** Concepts whose head was trained on another extractor (retrain them from their photos). */
  skipped: string[];
}

export interface ObjectHeadOptions {
  /** Views per positive photo (default POSITIVE_VIEWS, 8). */
  positiveViews?: number;
  /** Views per negative photo (default NEGATIVE_VIEWS, 1). */
  negativeViews?: number;
  normalization?: NormalizationMode;
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

  constructor(
    readonly features: PhotoFeatures,
    options: ObjectHeadOptions = {},
  ) {
    this.positiveViews = options.positiveViews ?? POSITIVE_VIEWS;
    this.negativeViews = options.negativeViews ?? NEGATIVE_VIEWS;
    this.normalization = options.normalization ?? DEFAULT_NORMALIZATION;
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

    const plan = viewPlan(Math.max(this.positiveViews, this.negativeViews));
    const positiveViews = await this.features.views(positives, plan.slice(0, this.positiveViews));
    const negativeFeatures = async (photos: readonly HashedImage[] | undefined) => {
      const unique = (photos ?? []).filter((p) => !seen.has(p.sha256));
      return this.features.views(unique, plan.slice(0, this.negativeViews));
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
    const generic = this.generic ? (await this.generic.features(this.features)).map((f) => [f]) : [];

    const negatives = [...notIt, ...otherConcepts, ...seenInScope, ...generic];
    const fitted = fitObjectHead(
      { positives: positiveViews, negatives },
      { extractor: this.features.extractorId, seed: input.seed, normalization: this.normalization },
    );
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
    const [feature] = await this.features.of([image]);
    const bank = this.bankFor(scope);
    bank.sync(comparable);
    const byId = new Map(bank.score(feature).map((s) => [s.conceptId, s]));
    const scores = comparable.map((o) => byId.get(o.conceptId) as HeadScore);
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
