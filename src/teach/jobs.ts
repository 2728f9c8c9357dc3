// Background teaching: `/teach` answers at once (the concept head works
// immediately) and the embedding trains here, in a worker thread, so no
// conversation waits on it. Jobs live as folders (job-folders.ts), so a
// restart resumes each from its last checkpoint; `/forget` cancels them.
//
//   const jobs = new EmbeddingJobs({ dir: 'concepts/jobs', environment, save: async (spec, embedding) => { ...store it... } });
//   jobs.onUpdate((u) => adapter.editStatus(u));   // step, loss, done
//   await jobs.resumePending();                     // at startup
//   await jobs.start({ scope, conceptId, modelId, modelDir, dtype, family, concept, photos });
//   await jobs.cancelConcept(scope, conceptId);     // on /forget
//
// A lesson cannot take the assistant down with it. Its worker runs under heap
// limits (lesson-run.ts), so a runaway dies alone. A crash (the worker dying
// without reporting an outcome, or the whole process dying while the lesson
// ran, found at the next start through the running mark in attempts.json,
// which every orderly outcome clears) is retried once from the last
// checkpoint; a second crash sets the lesson aside: it is reported once to
// its chat, logged with its folder, not resumed at restarts, and its folder
// stays until `/forget` erases it or a new `/teach` replaces it.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { InternalError } from '../errors.ts';
import type { RgbImage } from '../image/decode.ts';
import { logFailure, moduleLogger } from '../log.ts';
import type { ConceptEmbedding } from '../memory/concept.ts';
import type { GraphDtypes } from '../onnx/layout.ts';
import type { VlmFamily } from '../vlm/families.ts';
import {
  defaultTraining,
  embeddingOf,
  JOB_FILES,
  type EmbeddingJobSpec,
  type JobEnvironment,
  type JobEvent,
} from './job.ts';
import { CRASHES_BEFORE_SET_ASIDE, JobFolders, type JobAttempts } from './job-folders.ts';
import { CANCEL_GRACE_MS, failureError, lessonFailure, runLesson, type RunOutcome } from './lesson-run.ts';
import type { ConceptToTeach } from './targets.ts';
import { changeOf, JobUpdates, setAsideMessage, type JobChange, type JobUpdate } from './job-updates.ts';

const logger = moduleLogger('teach-jobs');

/** Options of the job runner; defaults in the comments. */
export interface EmbeddingJobsOptions {
  /** Folder holding one sub-folder per job (created if needed, mode 0700). */
  dir: string;
  /**
   * Stores a finished embedding, e.g. as ConceptRecord.embeddings[spec.modelId]
   * in one versioned store update; resolves false when it stored nothing on
   * purpose (the concept is gone or was re-taught). Called again after a
   * crash between finishing and storing, so it must tolerate repeats.
   */
  save: (spec: EmbeddingJobSpec, embedding: ConceptEmbedding) => Promise<void | boolean>;
  /** Jobs trained at once (default 1: one job already keeps the CPU busy). */
  concurrency?: number;
  /** Run jobs in worker threads (default) or on this thread (scripts that have nothing else to do). */
  threads?: 'worker' | 'inline';
  /** Limits of each worker (default LESSON_RESOURCE_LIMITS). */
  resourceLimits?: ResourceLimits;
  /** How the lessons' sessions are made and where teaching graphs are cached (the process's own settings). */
  environment: JobEnvironment;
}

/** A request to teach one concept's embedding on one model. */
export interface TeachRequest {
  scope: string;
  conceptId: string;
  modelId: string;
  modelDir: string;
  /** The precision of each graph answering runs. */
  dtype: GraphDtypes;
  /** The model's family (its captioning prompt and attention weight). */
  family: VlmFamily;
  concept: ConceptToTeach;
  /** Default 'caption'. */
  task?: 'caption' | 'vqa';
  /** At most EMBEDDING_TRAINING.maxPhotosPerStep are used. */
  photos: { image: RgbImage; caption: string | null }[];
  /** Which stored concept version and photos these are (see EmbeddingJobSpec.learnedFrom). */
  learnedFrom?: EmbeddingJobSpec['learnedFrom'];
  /** Overrides of the paper's settings (steps, lambda, seed, ...). */
  training?: Partial<EmbeddingJobSpec['training']>;
}

/**
 * Where lessons run, as the assistant sees it: in this process
 * (EmbeddingJobs) or on `myvlm worker` processes fed by a BullMQ queue
 * (QueuedLessons, chosen by MYVLM_QUEUE_URL). Job ids are jobId(scope, concept, model).
 */
export interface LessonJobs {
  /** Queues the lesson (replacing one of the same concept and model); resolves with its job id. */
  start(request: TeachRequest): Promise<string>;
  /** Cancels every lesson of a concept, queued, running or set aside; resolves with how many. */
  cancelConcept(scope: string, conceptId: string): Promise<number>;
  /** Subscribes to updates (see EmbeddingJobs.onUpdate); returns the unsubscribe function. */
  onUpdate(listener: (update: JobUpdate) => void, options?: { replay?: boolean }): () => void;
  /** The latest update of every lesson in progress. */
  list(): JobUpdate[];
  /** Whether this process knows of the job (queued, running, or left to resume). */
  has(jobId: string): boolean;
  /** Picks up the lessons an earlier process left; resolves with their ids. */
  resumePending(): Promise<string[]>;
  /** Resolves when none of this process's lessons is queued or running. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

/** The spec of a request's job (its photos apart): the paper's settings for its task and family, with the request's overrides. */
export function specOf(request: TeachRequest): Omit<EmbeddingJobSpec, 'photos'> {
  const task = request.task ?? 'caption';
  return {
    id: EmbeddingJobs.jobId(request.scope, request.conceptId, request.modelId),
    scope: request.scope,
    conceptId: request.conceptId,
    modelId: request.modelId,
    modelDir: path.resolve(request.modelDir),
    dtype: request.dtype,
    concept: request.concept,
    task,
    training: { ...defaultTraining(task, request.family), ...request.training },
    ...(request.learnedFrom
      ? { learnedFrom: { conceptVersion: request.learnedFrom.conceptVersion, photos: [...request.learnedFrom.photos] } }
      : {}),
    createdAt: new Date().toISOString(),
  };
}

interface Running {
  spec: EmbeddingJobSpec;
  cancelled: boolean;
  stop: () => void;
  finished: Promise<void>;
}

/** Runs teaching jobs in the background, one folder per job. */
export class EmbeddingJobs implements LessonJobs {
  private readonly folders: JobFolders;
  private readonly queue: EmbeddingJobSpec[] = [];
  private readonly running = new Map<string, Running>();
  /** Jobs whose folder `start` is writing, so cancelling waits for them and clean-up spares their staging folder. */
  private readonly starting = new Map<string, { scope: string; conceptId: string; work: Promise<unknown> }>();
  private readonly updates = new JobUpdates();
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: EmbeddingJobsOptions) {
    this.folders = new JobFolders(options.dir);
  }

  /** The id of the job for a concept on a model (one job per pair; re-teaching replaces it). */
  static jobId(scope: string, conceptId: string, modelId: string): string {
    return createHash('sha256')
      .update(JSON.stringify([scope, conceptId, modelId]))
      .digest('hex')
      .slice(0, 20);
  }

  /**
   * Subscribes to updates; returns the unsubscribe function. With `replay`,
   * the listener first hears what it missed: the latest update of every job
   * still queued or running, and the reports of lessons this process set
   * aside (a lesson found crashed twice at start is reported before any
   * messenger has subscribed).
   */
  onUpdate(listener: (update: JobUpdate) => void, options: { replay?: boolean } = {}): () => void {
    return this.updates.subscribe(listener, options);
  }

  /** The latest update of every job still known (running, queued, or just finished). */
  list(): JobUpdate[] {
    return this.updates.list();
  }

  /** Whether the job exists in any form: being written, queued, running, or a folder (pending, or set aside). */
  has(jobId: string): boolean {
    return (
      this.starting.has(jobId) ||
      this.running.has(jobId) ||
      this.queue.some((s) => s.id === jobId) ||
      this.folders.exists(jobId)
    );
  }

  /**
   * Saves the photos and settings as a job folder and queues it; resolves
   * with the job id once the folder is safely written. A job of the same
   * concept and model (running, pending or set aside) is cancelled first.
   */
  async start(request: TeachRequest): Promise<string> {
    // Callers pick the photos and start only with some (see EmbeddingLessons).
    if (request.photos.length === 0) throw new InternalError(`A lesson of ${request.concept.name} needs photos.`);
    const id = EmbeddingJobs.jobId(request.scope, request.conceptId, request.modelId);
    const previous = this.starting.get(id)?.work;
    const entry = { scope: request.scope, conceptId: request.conceptId, work: Promise.resolve() as Promise<unknown> };
    entry.work = (async () => {
      await previous?.catch(() => {});
      await this.cancelNow(id);
      const spec = await this.folders.write(specOf(request), request.photos);
      this.enqueue(spec);
    })();
    this.starting.set(id, entry);
    try {
      await entry.work;
      return id;
    } finally {
      if (this.starting.get(id) === entry) this.starting.delete(id);
    }
  }

  /** Cancels a job and deletes its folder (set-aside ones too); false when there was none. */
  async cancel(jobId: string): Promise<boolean> {
    // A folder being written would otherwise appear after the cancel.
    await this.starting.get(jobId)?.work.catch(() => {});
    return this.cancelNow(jobId);
  }

  /** Cancels every job of a concept (all models, set-aside ones included), e.g. when it is forgotten. */
  async cancelConcept(scope: string, conceptId: string): Promise<number> {
    const ids = new Set<string>();
    for (const spec of [...this.queue, ...[...this.running.values()].map((r) => r.spec)])
      if (spec.scope === scope && spec.conceptId === conceptId) ids.add(spec.id);
    for (const [id, s] of this.starting) if (s.scope === scope && s.conceptId === conceptId) ids.add(id);
    for (const spec of this.folders.specs((id) => this.starting.has(id)))
      if (spec.scope === scope && spec.conceptId === conceptId) ids.add(spec.id);
    for (const id of ids) await this.cancel(id);
    return ids.size;
  }

  /**
   * Queues every job folder left by an earlier process (after a restart) and
   * returns their ids. A job whose running mark is still set was running
   * when that process died: one crash; at the second it is set aside (and
   * reported) instead. Set-aside jobs are never queued.
   */
  resumePending(): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of this.folders.specs((id) => this.starting.has(id))) {
      if (this.running.has(spec.id) || this.queue.some((s) => s.id === spec.id) || this.starting.has(spec.id)) continue;
      this.folders.makePrivate(spec.id); // folders written before they were private
      let attempts = this.folders.attempts(spec.id);
      if (attempts.setAside) {
        if (!attempts.setAside.reported) this.report(spec, attempts);
        continue;
      }
      if (attempts.running) {
        attempts = this.recordCrash(
          spec,
          attempts,
          `the process stopped while the lesson ran (pid ${attempts.running.pid}, running since ${attempts.running.since})`,
        );
        if (attempts.setAside) continue;
      }
      this.enqueue(spec);
      ids.push(spec.id);
    }
    return Promise.resolve(ids);
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops every worker; job folders stay (running marks cleared), so the next process resumes them. */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    const running = [...this.running.values()];
    for (const r of running) r.stop();
    await Promise.all(running.map((r) => r.finished));
  }

  private async cancelNow(jobId: string): Promise<boolean> {
    this.updates.forget(jobId);
    const queued = this.queue.findIndex((s) => s.id === jobId);
    if (queued >= 0) {
      const [spec] = this.queue.splice(queued, 1);
      this.folders.remove(jobId);
      this.publish(spec, { state: 'cancelled' });
      this.settle();
      return true;
    }
    const running = this.running.get(jobId);
    if (running) {
      running.cancelled = true;
      running.stop();
      await running.finished;
      return true;
    }
    if (this.folders.exists(jobId)) {
      this.folders.remove(jobId);
      return true;
    }
    return false;
  }

  /** Counts one crash; the second sets the lesson aside and reports it. Returns the new record. */
  private recordCrash(spec: EmbeddingJobSpec, attempts: JobAttempts, reason: string): JobAttempts {
    const now = new Date().toISOString();
    const crashes = [...attempts.crashes, { at: now, reason }];
    const folder = this.folders.path(spec.id);
    if (crashes.length < CRASHES_BEFORE_SET_ASIDE) {
      const next: JobAttempts = { running: null, crashes, setAside: null };
      this.folders.writeAttempts(spec.id, next);
      logger.warn(
        { job: spec.id, scope: spec.scope, concept: spec.conceptId, folder, reason },
        'lesson crashed; retrying it from its last checkpoint',
      );
      return next;
    }
    const next: JobAttempts = { running: null, crashes, setAside: { at: now, reported: false } };
    this.folders.writeAttempts(spec.id, next);
    logger.error(
      {
        job: spec.id,
        scope: spec.scope,
        concept: spec.conceptId,
        name: spec.concept.name,
        model: spec.modelId,
        folder,
        crashes,
      },
      `lesson set aside after ${crashes.length} crashes; its folder is kept for inspection until the concept is taught again or forgotten`,
    );
    this.report(spec, next);
    return next;
  }

  /** Tells the lesson's chat, once, that it was set aside. */
  private report(spec: EmbeddingJobSpec, attempts: JobAttempts): void {
    // Teaching again is the user's way to retry.
    this.publish(spec, { state: 'failed', message: setAsideMessage(spec.concept.name), actor: 'user', setAside: true });
    try {
      this.folders.writeAttempts(spec.id, {
        ...attempts,
        setAside: { at: attempts.setAside?.at ?? new Date().toISOString(), reported: true },
      });
    } catch (error) {
      logger.warn({ err: error, job: spec.id }, 'could not record that a set-aside lesson was reported');
    }
  }

  /** Logs a failure by who must act on it and tells the lesson's listeners (the chat sees only what describeUpdate says). */
  private fail(spec: EmbeddingJobSpec, error: unknown, what: string): void {
    logFailure(logger, error, what, { job: spec.id, scope: spec.scope, concept: spec.conceptId });
    const { message, actor, hint } = lessonFailure(error);
    this.publish(spec, { state: 'failed', message, actor, ...(hint ? { hint } : {}) });
  }

  private publish(spec: EmbeddingJobSpec, change: JobChange): JobUpdate {
    return this.updates.publish(spec, change);
  }

  private enqueue(spec: EmbeddingJobSpec): void {
    if (this.closing) return;
    this.queue.push(spec);
    this.publish(spec, { state: 'queued' });
    this.pump();
  }

  private pump(): void {
    const limit = Math.max(1, this.options.concurrency ?? 1);
    while (!this.closing && this.running.size < limit && this.queue.length > 0) {
      const spec = this.queue.shift() as EmbeddingJobSpec;
      try {
        this.folders.markRunning(spec.id);
      } catch (error) {
        this.fail(spec, error, 'could not start a lesson: its folder cannot be written');
        continue;
      }
      try {
        this.running.set(spec.id, this.launch(spec));
      } catch (error) {
        // The worker could not even be created (not a crash of the lesson).
        this.folders.clearMark(spec.id);
        this.fail(spec, error, 'could not start a lesson');
      }
    }
    this.settle();
  }

  private settle(): void {
    if (this.queue.length === 0 && this.running.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private onEvent(spec: EmbeddingJobSpec, event: JobEvent): void {
    const change = changeOf(event);
    if (change) this.publish(spec, change);
  }

  private launch(spec: EmbeddingJobSpec): Running {
    const run = runLesson(this.folders.path(spec.id), {
      environment: this.options.environment,
      threads: this.options.threads ?? 'worker',
      resourceLimits: this.options.resourceLimits,
      onEvent: (event) => this.onEvent(spec, event),
    });
    const running: Running = {
      spec,
      cancelled: false,
      stop: () => run.stop(this.closing ? 0 : CANCEL_GRACE_MS),
      finished: Promise.resolve(),
    };
    running.finished = run.ended.then((outcome) => this.conclude(running, outcome));
    return running;
  }

  private async conclude(running: Running, outcome: RunOutcome): Promise<void> {
    const { spec } = running;
    let retry = false;
    try {
      if (running.cancelled) {
        this.folders.remove(spec.id);
        this.publish(spec, { state: 'cancelled' });
      } else if (this.closing && outcome.kind !== 'finished') {
        // Shutting down (close() stops the workers): an orderly outcome. The folder and its checkpoint stay for the next process.
        this.folders.clearMark(spec.id);
      } else if (outcome.kind === 'finished') {
        // The lesson itself is over (result.json written): dying while storing is not a crash of it; a restart just stores again.
        this.folders.clearMark(spec.id);
        const result = this.folders.result(spec.id);
        if (!result) throw new InternalError(`The lesson finished without writing ${JOB_FILES.result}.`);
        const stored = await this.options.save(spec, embeddingOf(result));
        this.folders.remove(spec.id);
        // Stored nothing on purpose (the concept was forgotten or re-taught): the lesson simply ends.
        if (stored === false) this.publish(spec, { state: 'cancelled' });
        else this.publish(spec, { state: 'done', steps: result.steps, finalLoss: result.finalLoss });
      } else if (outcome.kind === 'crashed') {
        const attempts = this.recordCrash(spec, this.folders.attempts(spec.id), outcome.reason);
        retry = attempts.setAside === null;
      } else {
        this.folders.remove(spec.id);
        this.fail(
          spec,
          outcome.kind === 'failed'
            ? failureError(outcome.failure)
            : new InternalError('The lesson stopped without a result while nobody had cancelled it.'),
          'teaching job failed',
        );
      }
    } catch (error) {
      // Storing failed: keep the folder (result.json included) so a restart stores it again.
      this.folders.clearMark(spec.id);
      this.fail(spec, error, 'storing the taught embedding failed');
    } finally {
      this.running.delete(spec.id);
      // Retried from its last checkpoint (the job resumes from its folder), after its old run has left `running`.
      if (retry) this.enqueue(spec);
      this.pump();
    }
  }
}
