// MyVLM's personalized-captioning experiment in miniature, from nothing: a
// generated tiny LLaVA pretrained to caption synthetic scenes
// (captioner.ts), generated photos of a concept it has never seen, the
// full teaching pipeline (targets, augmentation, regularized loss, AdamW),
// then greedy captions of held-out photos with the concept token appended
// (its head firing) and of photos without it. Reports the paper's recall and
// checks that outputs without the concept did not change.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EMBEDDING_TRAINING } from '../../config/defaults.ts';
import type { TinyVlmOptions } from '../../onnx/tiny/config.ts';
import { TeachableExport } from '../teachable-export.ts';
import { fillConcept, teachingPrompts } from '../../vlm/prompts.ts';
import { syntheticScene } from './scenes.ts';
import { writeTinyCaptioner } from './captioner.ts';
import { captionTargets, containsWord } from '../targets.ts';
import { trainConceptEmbedding, type TrainingProgress } from '../trainer.ts';

/** Settings of the miniature experiment; defaults in the comments. */
export interface TinyExperimentOptions {
  /** Seed of the model, photos and training (default 0). */
  seed?: number;
  /** Optimization steps (default EMBEDDING_TRAINING.steps, 100). */
  steps?: number;
  /** Held-out photos of the concept (default 10) and photos without it (default 10). */
  heldOut?: number;
  /** Identifier (default 'sks'). */
  identifier?: string;
  /** Sizes of the tiny model (defaults of the tiny factory). */
  model?: TinyVlmOptions;
  /** Pretraining steps of the tiny captioner (default: its own, 400). */
  pretrainSteps?: number;
  /** Folder to generate into (default a temporary folder, removed afterwards). */
  workDir?: string;
  onProgress?: (progress: TrainingProgress) => void;
}

/** What the experiment measured. */
export interface TinyExperimentResult {
  /** 1 - final loss / initial loss (final: mean of the last 5 steps). */
  lossDrop: number;
  /** Share of held-out concept photos whose caption contains the identifier. */
  recall: number;
  /** Share of answers without the concept identical to the untaught model's. */
  unchangedWithoutConcept: number;
  /** Recall of the untaught model on the same photos (the identifier is in the prompt, so it may guess). */
  recallBeforeTeaching: number;
  /** Final pretraining loss of the tiny captioner. */
  pretrainLoss: number;
  initialLoss: number;
  finalLoss: number;
  steps: number;
  trainSeconds: number;
  /** A few generated captions, for the report. */
  samples: { withConcept: string[]; withoutConcept: string[] };
}

/** Number of final steps averaged for the final loss (augmentation makes single steps noisy). */
const FINAL_LOSS_WINDOW = 5;
/** Teaching photos, as in the paper. */
const TRAIN_PHOTOS = 4;
/** Longest generated caption. */
const CAPTION_TOKENS = 12;

/** Runs the experiment (tens of seconds on two cores with the default sizes). */
export async function runTinyTeachExperiment(options: TinyExperimentOptions = {}): Promise<TinyExperimentResult> {
  const seed = options.seed ?? 0;
  const identifier = options.identifier ?? EMBEDDING_TRAINING.defaultObjectIdentifier;
  const heldOut = options.heldOut ?? 10;
  const root = options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'myvlm-teach-')));
  try {
    const captioner = await writeTinyCaptioner(path.join(root, 'tiny-llava'), {
      seed,
      steps: options.pretrainSteps,
      model: options.model,
    });
    const vlm = await TeachableExport.open(captioner.dir, { cacheDir: path.join(root, 'cache') });
    try {
      const photo = (i: number, kind: 'concept' | 'object' | 'person') => syntheticScene(seed * 7919 + i, kind);
      const train = Array.from({ length: TRAIN_PHOTOS }, (_, i) => photo(i, 'concept'));
      const positives = Array.from({ length: heldOut }, (_, i) => photo(100 + i, 'concept'));
      const negatives = Array.from({ length: heldOut }, (_, i) => photo(200 + i, i % 2 === 0 ? 'object' : 'person'));
      const concept = { identifier, name: identifier, kind: 'object' as const };
      const targets = await captionTargets(
        vlm,
        train.map((p) => ({ image: p.image, caption: `${identifier} on the ${p.place}.` })),
        concept,
      );
      const instruction = fillConcept(teachingPrompts().captioning.llava, identifier);

      const features = async (list: typeof positives) => Promise.all(list.map((p) => vlm.imageFeatures(p.image)));
      const positiveFeatures = await features(positives);
      const negativeFeatures = await features(negatives);
      const caption = (image: (typeof positiveFeatures)[number], concepts: Float64Array[] = []) =>
        vlm.answer({ image, instruction, concepts, maxNewTokens: CAPTION_TOKENS });
      const before = await Promise.all([...positiveFeatures, ...negativeFeatures].map((f) => caption(f)));

      const started = Date.now();
      const state = await trainConceptEmbedding(
        vlm,
        targets,
        { steps: options.steps, seed },
        { onProgress: options.onProgress },
      );
      const trainSeconds = (Date.now() - started) / 1000;

      const withConcept: string[] = [];
      for (const f of positiveFeatures) withConcept.push(await caption(f, [state.vector]));
      const after = await Promise.all([...positiveFeatures, ...negativeFeatures].map((f) => caption(f)));
      const initialLoss = state.losses[0];
      const tail = state.losses.slice(-FINAL_LOSS_WINDOW);
      const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
      return {
        lossDrop: 1 - finalLoss / initialLoss,
        recall: withConcept.filter((c) => containsWord(c, identifier)).length / withConcept.length,
        unchangedWithoutConcept: after.filter((c, i) => c === before[i]).length / after.length,
        recallBeforeTeaching: before.slice(0, heldOut).filter((c) => containsWord(c, identifier)).length / heldOut,
        pretrainLoss: captioner.finalLoss,
        initialLoss,
        finalLoss,
        steps: state.step,
        trainSeconds,
        samples: { withConcept: withConcept.slice(0, 3), withoutConcept: after.slice(heldOut, heldOut + 3) },
      };
    } finally {
      await vlm.release();
    }
  } finally {
    if (!options.workDir) await rm(root, { recursive: true, force: true });
  }
}
