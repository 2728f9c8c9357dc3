// One concept-embedding job as files in its own folder, and the work it
// does: build (once) the training targets, train with checkpoints, write the
// result. Everything the job needs is in the folder, so a restarted process
// picks the job up where its last checkpoint left it.
//
//   job.json          the spec (who, which model, settings, photo files)
//   photo-<i>.png     the teaching photos, lossless
//   targets.json      the training targets, built once (model answers vary run to run)
//   checkpoint.json   the latest training state (every 25 steps and at the end)
//   result.json       the finished embedding, until the owner has stored it
//   attempts.json     the owner's record of runs: running now, crashes, set aside (jobs.ts)
//
// The folder is private (0700) and every file in it 0600, like the stored photos.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { InternalError } from '../errors.ts';
import { decodeImage } from '../image/decode.ts';
import type { ConceptEmbedding } from '../memory/concept.ts';
import type { GraphDtypes } from '../onnx/layout.ts';
import type { RuntimeOptions } from '../models/session.ts';
import { sanitizeUserText, type VlmFamily } from '../vlm/families.ts';
import {
  fromCheckpoint,
  readJsonIfPresent,
  toCheckpoint,
  writeJsonAtomic,
  type StoredCheckpoint,
} from './checkpoint.ts';
import type { AttentionDirection } from './loss-graph.ts';
import { captionTargets, vqaTargets, type ConceptToTeach, type PhotoTargets, type TeachingPhoto } from './targets.ts';
import { TeachableExport } from './teachable-export.ts';
import {
  fixedBatchLoss,
  initialTrainingState,
  trainConceptEmbedding,
  type TrainingProgress,
  type TrainingState,
} from './trainer.ts';

/** File names inside a job folder. */
export const JOB_FILES = {
  spec: 'job.json',
  targets: 'targets.json',
  checkpoint: 'checkpoint.json',
  result: 'result.json',
  attempts: 'attempts.json',
  photo: (i: number) => `photo-${i}.png`,
} as const;

/** What to teach, on which model, how. Serializable: it is the job's job.json. */
export interface EmbeddingJobSpec {
  /** Stable id of the job (one per scope, concept and model). */
  id: string;
  scope: string;
  conceptId: string;
  /** Model id the embedding is stored under (ConceptRecord.embeddings key). */
  modelId: string;
  /** Folder of the export. */
  modelDir: string;
  /** The precision of each graph: the files answering runs, so the concept is taught on what it will be read by. */
  dtype: GraphDtypes;
  concept: ConceptToTeach;
  /** Personalized captioning (default) or VQA targets. */
  task: 'caption' | 'vqa';
  training: {
    steps: number;
    lambda: number;
    seed: number;
    augment: boolean;
    checkpointEvery: number;
    direction: AttentionDirection;
  };
  /** Photo files in the job folder with the captions their senders wrote. */
  photos: { file: string; caption: string | null }[];
  /**
   * The concept version and stored photos (sha256s) the lesson learns from;
   * the finished embedding is stored only while the concept still has those
   * example photos. Absent in folders written before it existed.
   */
  learnedFrom?: { conceptVersion: number; photos: string[] };
  createdAt: string;
}

/** The finished embedding, as result.json holds it. */
export interface StoredResult {
  vector: number[];
  steps: number;
  /** Loss of the last training step. */
  finalLoss: number | null;
  /** Fixed-batch loss of the initial and the learned vector (see fixedBatchLoss). */
  lossStart: number;
  lossEnd: number;
  updatedAt: string;
}

/** What a running job reports. */
export type JobEvent =
  | { type: 'preparing'; stage: 'model' | 'targets' }
  | ({ type: 'progress' } & TrainingProgress)
  | { type: 'checkpoint'; step: number }
  | { type: 'done'; steps: number; finalLoss: number | null };

/** Where a job runs: how its sessions are created (the configured provider and threads) and where teaching graphs are cached. */
export interface JobEnvironment {
  runtime: RuntimeOptions;
  cacheDir: string;
}

/** Training settings of the paper for a task and family (captioning lambda 0.0075 for LLaVA, 1.0 for MiniGPT-v2; VQA 10). */
export function defaultTraining(task: 'caption' | 'vqa', family: VlmFamily, seed = 0): EmbeddingJobSpec['training'] {
  return {
    steps: EMBEDDING_TRAINING.steps,
    lambda: task === 'vqa' ? EMBEDDING_TRAINING.attentionLambda.llavaVqa : family.captionLambda,
    seed,
    augment: true,
    checkpointEvery: EMBEDDING_TRAINING.checkpointEvery,
    direction: EMBEDDING_TRAINING.attentionDirection,
  };
}

/** The key a checkpoint must carry to be resumed by this spec (same job, same settings). */
export function runKeyOf(spec: EmbeddingJobSpec): string {
  return JSON.stringify([spec.id, spec.modelId, spec.task, spec.training]);
}

/** A stored result as the concept record's embedding. */
export function embeddingOf(result: StoredResult): ConceptEmbedding {
  return {
    vector: Float32Array.from(result.vector),
    steps: result.steps,
    finalLoss: result.finalLoss,
    updatedAt: result.updatedAt,
  };
}

/** What a lesson learns from, wherever it is kept (a job folder, or the one-shot command's arguments). */
export interface Lesson {
  concept: ConceptToTeach;
  task: 'caption' | 'vqa';
  training: EmbeddingJobSpec['training'];
  photos: readonly TeachingPhoto[];
}

/** Where a lesson keeps what must survive a restart; everything optional. */
export interface LessonHooks {
  /** Targets built by an earlier run (model answers vary run to run), or null. */
  storedTargets?: PhotoTargets['choices'][] | null;
  saveTargets?: (choices: PhotoTargets['choices'][]) => void;
  resume?: TrainingState;
  onCheckpoint?: (state: TrainingState) => void;
  signal?: AbortSignal;
  onEvent?: (event: JobEvent) => void;
}

/** A finished lesson: the training state and the fixed-batch loss (see fixedBatchLoss) of the initial and the learned vector. */
export interface LessonOutcome {
  state: TrainingState;
  lossStart: number;
  lossEnd: number;
}

/** Builds (or reuses) the targets, trains, and measures the loss the vector started and ended at. */
export async function teachLesson(
  vlm: TeachableExport,
  lesson: Lesson,
  hooks: LessonHooks = {},
): Promise<LessonOutcome> {
  const emit = hooks.onEvent ?? (() => {});
  let choices = hooks.storedTargets;
  if (!choices || choices.length !== lesson.photos.length) {
    emit({ type: 'preparing', stage: 'targets' });
    const photos = [...lesson.photos];
    const built =
      lesson.task === 'vqa'
        ? await vqaTargets(vlm, photos, lesson.concept)
        : await captionTargets(vlm, photos, lesson.concept, vlm.model.family.captionPrompt);
    choices = built.map((t) => t.choices);
    hooks.saveTargets?.(choices);
  }
  const targets: PhotoTargets[] = lesson.photos.map((p, i) => ({ image: p.image, choices: choices[i] }));
  const { steps, lambda, seed, augment, checkpointEvery } = lesson.training;
  const lossStart = await fixedBatchLoss(vlm, targets, initialTrainingState(vlm.hiddenSize, seed).vector, lambda);
  const state = await trainConceptEmbedding(
    vlm,
    targets,
    { steps, lambda, seed, augment, checkpointEvery },
    {
      resume: hooks.resume,
      signal: hooks.signal,
      onProgress: (progress) => emit({ type: 'progress', ...progress }),
      onCheckpoint: (s) => {
        hooks.onCheckpoint?.(s);
        emit({ type: 'checkpoint', step: s.step });
      },
    },
  );
  const lossEnd = await fixedBatchLoss(vlm, targets, state.vector, lambda);
  return { state, lossStart, lossEnd };
}

/**
 * Runs (or resumes) the job in `jobDir` to completion: result.json is
 * written when it returns. A set `signal` stops it between steps; the last
 * checkpoint stays for a later resume.
 */
export async function runEmbeddingJob(
  jobDir: string,
  environment: JobEnvironment,
  options: { signal?: AbortSignal; onEvent?: (event: JobEvent) => void } = {},
): Promise<StoredResult> {
  const spec = readJsonIfPresent<EmbeddingJobSpec>(path.join(jobDir, JOB_FILES.spec));
  // EmbeddingJobs writes job.json before it starts a job.
  if (!spec) throw new InternalError(`There is no ${JOB_FILES.spec} in ${jobDir}.`);
  const done = readJsonIfPresent<StoredResult>(path.join(jobDir, JOB_FILES.result));
  if (done) return done;
  const emit = options.onEvent ?? (() => {});

  emit({ type: 'preparing', stage: 'model' });
  // The lesson's own sessions (ONNX Runtime runs block the thread that calls them), made as every session of the process is.
  const vlm = await TeachableExport.open(spec.modelDir, {
    runtime: environment.runtime,
    cacheDir: environment.cacheDir,
    dtype: spec.dtype,
    direction: spec.training.direction,
  });
  try {
    options.signal?.throwIfAborted();
    const photos: TeachingPhoto[] = [];
    for (const p of spec.photos) {
      // A caption is the user's text: chat markers and image placeholders in it must not reach a prompt.
      const caption = p.caption === null ? null : sanitizeUserText(vlm.model.family, p.caption) || null;
      photos.push({ image: await decodeImage(readFileSync(path.join(jobDir, p.file))), caption });
    }
    const targetsFile = path.join(jobDir, JOB_FILES.targets);
    const checkpointFile = path.join(jobDir, JOB_FILES.checkpoint);
    const runKey = runKeyOf(spec);
    const { state, lossStart, lossEnd } = await teachLesson(
      vlm,
      { concept: spec.concept, task: spec.task, training: spec.training, photos },
      {
        storedTargets: readJsonIfPresent<{ choices: PhotoTargets['choices'][] }>(targetsFile)?.choices ?? null,
        saveTargets: (choices) => writeJsonAtomic(targetsFile, { choices }),
        resume: fromCheckpoint(readJsonIfPresent<StoredCheckpoint>(checkpointFile), runKey),
        onCheckpoint: (s) => writeJsonAtomic(checkpointFile, toCheckpoint(s, runKey)),
        signal: options.signal,
        onEvent: emit,
      },
    );
    const finalLoss = state.losses.length > 0 ? state.losses[state.losses.length - 1] : null;
    const result: StoredResult = {
      vector: Array.from(state.vector),
      steps: state.step,
      finalLoss,
      lossStart,
      lossEnd,
      updatedAt: new Date().toISOString(),
    };
    writeJsonAtomic(path.join(jobDir, JOB_FILES.result), result);
    emit({ type: 'done', steps: state.step, finalLoss });
    return result;
  } finally {
    await vlm.release();
  }
}
