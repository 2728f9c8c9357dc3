// The worker's side of queued lessons (`myvlm worker --lessons`): takes a
// lesson from the BullMQ queue, reads its photos from the concept store,
// writes a local job folder (scratch: it goes when the run ends), resumes
// from the checkpoint the job's data holds, and trains in a worker thread
// exactly as in-process lessons do (lesson-run.ts). The thread keeps this
// thread free, so BullMQ's lock renewals never wait on a training step.
// Each checkpoint goes back into the job's data; a cancel flag in Redis
// (set by /forget) stops the run between steps.
import path from 'node:path';
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { LESSON_QUEUE } from '../config/defaults.ts';
import { decodeImage, type DecodedImage, type ImageLimits } from '../image/decode.ts';
import { logFailure, moduleLogger } from '../log.ts';
import type { ConceptEmbedding } from '../memory/concept.ts';
import type { ConceptStore } from '../memory/store.ts';
import { readJsonIfPresent, writeJsonAtomic, type StoredCheckpoint } from './checkpoint.ts';
import { embeddingOf, JOB_FILES, type EmbeddingJobSpec, type JobEnvironment } from './job.ts';
import { JobFolders } from './job-folders.ts';
import { CANCEL_GRACE_MS, failureError, runLesson } from './lesson-run.ts';
import { cancelKey, queueConnection, type QueuedLesson, type QueuedLessonResult } from './lesson-queue.ts';
import type { PhotoTargets } from './targets.ts';

const logger = moduleLogger('lesson-worker');

/** Options of a lesson worker. */
export interface LessonWorkerOptions {
  /** MYVLM_QUEUE_URL. */
  url: string;
  /** Lock duration and stalled-check interval (MYVLM_QUEUE_STALL_MS). */
  stallMs: number;
  /** Scratch folder for the local job folders. */
  dir: string;
  environment: JobEnvironment;
  /** The concept store the photos are read from (shared with the bot processes). */
  store: ConceptStore;
  imageLimits?: ImageLimits;
  /** Stores a finished embedding (saveLessonEmbedding, as in-process lessons do); false when it stored nothing on purpose. */
  save: (spec: EmbeddingJobSpec, embedding: ConceptEmbedding) => Promise<void | boolean>;
}

type LessonJob = Job<QueuedLesson, QueuedLessonResult>;

/** Consumes lessons from the queue, one at a time. */
export class LessonWorker {
  private readonly worker: Worker<QueuedLesson, QueuedLessonResult>;
  private readonly folders: JobFolders;

  constructor(private readonly options: LessonWorkerOptions) {
    this.folders = new JobFolders(options.dir);
    this.worker = new Worker(LESSON_QUEUE.name, (job: LessonJob) => this.process(job), {
      connection: queueConnection(options.url),
      concurrency: 1,
      lockDuration: options.stallMs,
      stalledInterval: options.stallMs,
      // A stall (a killed worker) is a crash: one fewer than the attempts, so the last stall quarantines the lesson.
      maxStalledCount: LESSON_QUEUE.attempts - 1,
    });
    this.worker.on('error', (error) => logger.warn({ err: error }, 'lesson queue connection error'));
  }

  /** Resolves once the worker listens. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Finishes the lesson in hand, then stops taking lessons. */
  close(): Promise<void> {
    return this.worker.close();
  }

  private async process(job: LessonJob): Promise<QueuedLessonResult> {
    const started = Date.now();
    const queueJobId = job.id as string;
    const { spec } = job.data;
    const context = {
      job: spec.id,
      queueJob: queueJobId,
      scope: spec.scope,
      concept: spec.conceptId,
      attempt: job.attemptsMade + 1,
    };
    const client = await this.worker.client;
    const cancelled = async () => (await client.exists(cancelKey(queueJobId))) === 1;
    if (await cancelled()) return { kind: 'cancelled' };
    const photos = await this.photos(job.data);
    // The concept was forgotten (its photos with it) or re-taught with other photos: nothing to learn for.
    if (photos.length === 0) return { kind: 'not-stored' };
    // Named by the queue job: every run of it, on any worker, has the same checkpoint key (runKeyOf).
    const local = await this.folders.write({ ...spec, id: queueJobId }, photos);
    const folder = this.folders.path(local.id);
    try {
      if (job.data.targets) writeJsonAtomic(path.join(folder, JOB_FILES.targets), { choices: job.data.targets });
      if (job.data.checkpoint) writeJsonAtomic(path.join(folder, JOB_FILES.checkpoint), job.data.checkpoint);
      const resumedAt = job.data.checkpoint?.step ?? 0;
      logger.info({ ...context, resumedAt }, resumedAt > 0 ? 'lesson resumed from its checkpoint' : 'lesson started');
      let data = job.data;
      let saving: Promise<unknown> = Promise.resolve();
      const run = runLesson(folder, {
        environment: this.options.environment,
        threads: 'worker',
        onEvent: (event) => {
          if (event.type === 'checkpoint') {
            // In order, one at a time: each write holds the latest checkpoint (the retry resumes from it).
            saving = saving.then(async () => {
              const checkpoint = readJsonIfPresent<StoredCheckpoint>(path.join(folder, JOB_FILES.checkpoint));
              const targets = readJsonIfPresent<{ choices: PhotoTargets['choices'][] }>(
                path.join(folder, JOB_FILES.targets),
              );
              data = {
                ...data,
                ...(checkpoint ? { checkpoint } : {}),
                ...(targets ? { targets: targets.choices } : {}),
              };
              await job.updateData(data);
            });
            saving.catch((error: unknown) =>
              logger.warn({ err: error, ...context }, 'could not share a lesson checkpoint'),
            );
          } else if (event.type !== 'done') {
            job
              .updateProgress(event)
              .catch((error: unknown) => logger.warn({ err: error, ...context }, 'could not report lesson progress'));
          }
        },
      });
      const poll = setInterval(() => {
        cancelled().then(
          (yes) => yes && run.stop(CANCEL_GRACE_MS),
          (error: unknown) => logger.warn({ err: error, ...context }, 'could not check whether a lesson was cancelled'),
        );
      }, LESSON_QUEUE.cancelPollMs);
      const outcome = await run.ended.finally(() => clearInterval(poll));
      await saving.catch(() => {});
      const seconds = (Date.now() - started) / 1000;
      if (outcome.kind === 'cancelled') {
        logger.info({ ...context, seconds }, 'lesson cancelled');
        return { kind: 'cancelled' };
      }
      if (outcome.kind === 'crashed') {
        logger.warn(
          { ...context, seconds, reason: outcome.reason },
          'lesson crashed; the queue retries it from its last checkpoint',
        );
        throw new Error(`The lesson crashed: ${outcome.reason}`);
      }
      if (outcome.kind === 'failed') {
        logFailure(logger, failureError(outcome.failure), 'teaching job failed', context);
        await job.updateData({ ...data, failure: outcome.failure });
        // A retry would fail the same way (a bad photo, a missing model).
        throw new UnrecoverableError(outcome.failure.message);
      }
      const result = this.folders.result(local.id);
      if (!result) throw new Error(`The lesson finished without writing ${JOB_FILES.result}.`);
      const stored = await this.options.save({ ...spec, photos: local.photos }, embeddingOf(result));
      logger.info({ ...context, seconds, steps: result.steps, stored: stored !== false }, 'lesson finished');
      return stored === false
        ? { kind: 'not-stored' }
        : { kind: 'done', steps: result.steps, finalLoss: result.finalLoss };
    } finally {
      this.folders.remove(local.id);
    }
  }

  /** The lesson's photos from the store, in order; missing or unreadable ones are left out (logged). */
  private async photos(lesson: QueuedLesson): Promise<{ image: DecodedImage; caption: string | null }[]> {
    const photos: { image: DecodedImage; caption: string | null }[] = [];
    for (const { sha256, caption } of lesson.photos) {
      const bytes = await this.options.store.getPhoto(lesson.spec.scope, sha256);
      if (!bytes) {
        logger.warn(
          { job: lesson.spec.id, sha256 },
          'a teaching photo is no longer stored; the lesson goes without it',
        );
        continue;
      }
      try {
        photos.push({ image: await decodeImage(bytes, this.options.imageLimits), caption });
      } catch (error) {
        logger.warn(
          { err: error, job: lesson.spec.id, sha256 },
          'a teaching photo cannot be decoded; the lesson goes without it',
        );
      }
    }
    return photos;
  }
}
