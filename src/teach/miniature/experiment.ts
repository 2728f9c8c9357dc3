// MyVLM's personalized-captioning experiment in miniature, from nothing: a
// generated tiny LLaVA pretrained to caption synthetic scenes and to name a
// thing after its prompt only when the extra visual row shows that thing
// (captioner.ts), generated photos of a concept it has never seen, the
// product's teaching (targets, augmentation, regularized loss, AdamW), then
// greedy captions of new held-out scenes. Beside recall it measures every
// control a skeptic asks for: the same captions with a random vector and with
// none, the identifier's rate on photos of other things and people with the
// taught vector, a random one and none, and the whole caption against the
// expected one.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EMBEDDING_TRAINING } from '../../config/defaults.ts';
import { UsageError } from '../../errors.ts';
import type { RgbImage } from '../../image/decode.ts';
import type { TinyVlmOptions } from '../../onnx/tiny/config.ts';
import { normal, seededRandom } from '../../random.ts';
import { fillConcept, teachingPrompts } from '../../vlm/prompts.ts';
import { TeachableExport } from '../teachable-export.ts';
import { captionTargets, containsWord } from '../targets.ts';
import { trainConceptEmbedding, type TrainingProgress } from '../trainer.ts';
import { HELD_OUT_IDENTIFIERS, namedCaption, sceneCaption, writeTinyCaptioner } from './captioner.ts';
import { SCENE_COLORS, SCENE_OBJECTS, syntheticScene, type SyntheticScene } from './scenes.ts';

/** Settings of the miniature experiment; defaults in the comments. */
export interface TinyExperimentOptions {
  /** Seed of the model, photos and training (default 0). */
  seed?: number;
  /** Optimization steps (default EMBEDDING_TRAINING.steps, 100). */
  steps?: number;
  /** Held-out photos of the concept, and of other things and people (default 30 each). */
  heldOut?: number;
  /** Identifier, one of HELD_OUT_IDENTIFIERS (default 'sks'). */
  identifier?: string;
  /** Sizes of the tiny model (defaults of the tiny factory). */
  model?: TinyVlmOptions;
  /** Pretraining steps of the tiny captioner (default: its own). */
  pretrainSteps?: number;
  /** Pretraining examples of the tiny captioner (default: its own). */
  pretrainScenes?: number;
  /** Folder to generate into (default a temporary folder, removed afterwards). */
  workDir?: string;
  onProgress?: (progress: TrainingProgress) => void;
}

/** Rates over one set of held-out photos, with the taught vector, a random vector of the same norm, and none. */
export interface InjectionRates {
  taught: number;
  random: number;
  none: number;
}

/** What the experiment measured. */
export interface TinyExperimentResult {
  identifier: string;
  /** Share of held-out concept photos whose caption contains the identifier (the paper's recall, first row). */
  recall: InjectionRates;
  /** Share of held-out concept photos captioned exactly "<identifier> on the <place>.". */
  exactCaption: InjectionRates;
  /** Share of photos of other things and people whose caption contains the identifier. */
  otherIdentifier: InjectionRates;
  /** Share of photos of other things and people captioned exactly as they should be ("a red ball on the grass."). */
  otherExactCaption: InjectionRates;
  /** 1 - final loss / initial loss (final: mean of the last 5 steps). */
  lossDrop: number;
  initialLoss: number;
  finalLoss: number;
  /** Final pretraining loss of the tiny captioner. */
  pretrainLoss: number;
  steps: number;
  trainSeconds: number;
  /** Whether the taught vector steers: recall and exact caption high, the random vector and no vector low (TINY_BARS). */
  steers: boolean;
  /** Whether it is specific: the identifier rarely appears on other photos with the taught vector (TINY_BARS.otherWithVector). */
  specific: boolean;
  /** A few generated captions, for the report. */
  samples: { concept: string[]; other: string[] };
}

/**
 * What a run must show, fixed before seeds 0-9 were run (the experiment's
 * settings were chosen on seed 100 alone). Steering: the taught vector makes
 * held-out captions name the concept in the right form, while a random
 * vector and no vector do not. Specificity (otherWithVector): the taught
 * vector leaves photos of other things and people alone.
 */
export const TINY_BARS = {
  recall: 0.8,
  exactCaption: 0.6,
  randomRecall: 0.2,
  untaughtRecall: 0.1,
  otherWithVector: 0.2,
} as const;

/** Number of final steps averaged for the final loss (augmentation makes single steps noisy). */
const FINAL_LOSS_WINDOW = 5;
/** Teaching photos, as in the paper. */
const TRAIN_PHOTOS = 4;
/** Longest generated caption. */
const CAPTION_TOKENS = 12;
/** The pretraining object closest to the concept: blue checkered with white, as a ball. */
const LOOKALIKE = {
  color: SCENE_COLORS.findIndex((c) => c.word === 'blue'),
  object: SCENE_OBJECTS.indexOf('ball'),
  checks: SCENE_COLORS.findIndex((c) => c.word === 'white'),
};

/** Whether the taught vector steers the captions (TINY_BARS, every bar but specificity). */
function steers(r: Omit<TinyExperimentResult, 'steers' | 'specific'>): boolean {
  return (
    r.recall.taught >= TINY_BARS.recall &&
    r.exactCaption.taught >= TINY_BARS.exactCaption &&
    r.recall.random <= TINY_BARS.randomRecall &&
    r.recall.none <= TINY_BARS.untaughtRecall
  );
}

function share<T>(items: readonly T[], test: (item: T, index: number) => boolean): number {
  return items.filter(test).length / items.length;
}

function contentHash(image: RgbImage): string {
  return createHash('sha256').update(image.data).digest('hex');
}

/** A random direction with the taught vector's norm (injection rescales it anyway: only the direction matters). */
function randomVectorLike(vector: Float64Array, seed: number): Float64Array {
  const random = seededRandom((seed ^ 0x7a11d) >>> 0);
  const out = Float64Array.from(vector, () => normal(random));
  const scale = Math.hypot(...vector) / Math.hypot(...out);
  return out.map((v) => v * scale);
}

/** Runs the experiment (about half a minute per seed on two cores with the default sizes). */
export async function runTinyTeachExperiment(options: TinyExperimentOptions = {}): Promise<TinyExperimentResult> {
  const seed = options.seed ?? 0;
  const identifier = options.identifier ?? EMBEDDING_TRAINING.defaultObjectIdentifier;
  if (!(HELD_OUT_IDENTIFIERS as readonly string[]).includes(identifier))
    throw new UsageError(
      `The miniature can teach only an identifier its captioner never saw: ${HELD_OUT_IDENTIFIERS.join(' or ')} (got "${identifier}").`,
    );
  const heldOut = options.heldOut ?? 30;
  const root = options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'myvlm-teach-')));
  try {
    const captioner = await writeTinyCaptioner(path.join(root, 'tiny-llava'), {
      seed,
      steps: options.pretrainSteps,
      scenes: options.pretrainScenes,
      model: options.model,
    });
    const vlm = await TeachableExport.open(captioner.dir, { cacheDir: path.join(root, 'cache') });
    try {
      const photo = (i: number, kind: 'concept' | 'object' | 'person') => syntheticScene(seed * 7919 + i, kind);
      const train = Array.from({ length: TRAIN_PHOTOS }, (_, i) => photo(i, 'concept'));
      const concept = Array.from({ length: heldOut }, (_, i) => photo(100 + i, 'concept'));
      // Other photos: a third ordinary objects, a third people, a third the pretraining object closest to the concept.
      const other: SyntheticScene[] = Array.from({ length: heldOut }, (_, i) =>
        i % 3 === 0
          ? photo(1000 + i, 'object')
          : i % 3 === 1
            ? photo(1000 + i, 'person')
            : syntheticScene(seed * 7919 + 1000 + i, 'object', 64, LOOKALIKE),
      );
      // Held-out photos are new scenes: none repeats a teaching photo.
      const taughtHashes = new Set(train.map((p) => contentHash(p.image)));
      if (concept.some((p) => taughtHashes.has(contentHash(p.image))))
        throw new RangeError('a held-out photo repeats a teaching photo');

      const lesson = { identifier, name: identifier, kind: 'object' as const };
      const targets = await captionTargets(
        vlm,
        train.map((p) => ({ image: p.image, caption: namedCaption(p, identifier) })),
        lesson,
      );
      const instruction = fillConcept(teachingPrompts().captioning.llava, identifier);
      const started = Date.now();
      const state = await trainConceptEmbedding(
        vlm,
        targets,
        { steps: options.steps, seed },
        { onProgress: options.onProgress },
      );
      const trainSeconds = (Date.now() - started) / 1000;

      const vectors = { taught: state.vector, random: randomVectorLike(state.vector, seed), none: null };
      type Which = keyof typeof vectors;
      const captions = async (scenes: readonly SyntheticScene[], which: Which) => {
        const out: string[] = [];
        const vector = vectors[which];
        for (const scene of scenes)
          out.push(
            await vlm.answer({
              image: await vlm.imageFeatures(scene.image),
              instruction,
              concepts: vector ? [vector] : [],
              maxNewTokens: CAPTION_TOKENS,
            }),
          );
        return out;
      };
      const rates = async (scenes: readonly SyntheticScene[], score: (caption: string, i: number) => boolean) => {
        const out = {} as InjectionRates & { captions: Record<Which, string[]> };
        out.captions = {} as Record<Which, string[]>;
        for (const which of ['taught', 'random', 'none'] as const) {
          out.captions[which] = await captions(scenes, which);
          out[which] = share(out.captions[which], score);
        }
        return out;
      };
      const named = (c: string) => containsWord(c, identifier);
      const conceptRuns = await rates(concept, named);
      const otherRuns = await rates(other, named);
      const exact = (
        scenes: readonly SyntheticScene[],
        runs: Record<Which, string[]>,
        expected: (s: SyntheticScene) => string,
      ) => ({
        taught: share(runs.taught, (c, i) => c === expected(scenes[i])),
        random: share(runs.random, (c, i) => c === expected(scenes[i])),
        none: share(runs.none, (c, i) => c === expected(scenes[i])),
      });

      const initialLoss = state.losses[0];
      const tail = state.losses.slice(-FINAL_LOSS_WINDOW);
      const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
      const result = {
        identifier,
        recall: { taught: conceptRuns.taught, random: conceptRuns.random, none: conceptRuns.none },
        exactCaption: exact(concept, conceptRuns.captions, (s) => namedCaption(s, identifier)),
        otherIdentifier: { taught: otherRuns.taught, random: otherRuns.random, none: otherRuns.none },
        otherExactCaption: exact(other, otherRuns.captions, sceneCaption),
        lossDrop: 1 - finalLoss / initialLoss,
        initialLoss,
        finalLoss,
        pretrainLoss: captioner.finalLoss,
        steps: state.step,
        trainSeconds,
        samples: { concept: conceptRuns.captions.taught.slice(0, 3), other: otherRuns.captions.taught.slice(0, 3) },
      };
      return {
        ...result,
        steers: steers(result),
        specific: result.otherIdentifier.taught <= TINY_BARS.otherWithVector,
      };
    } finally {
      await vlm.release();
    }
  } finally {
    if (!options.workDir) await rm(root, { recursive: true, force: true });
  }
}
