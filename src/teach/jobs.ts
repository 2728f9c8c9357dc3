// Background teaching: `/teach` answers at once (the concept head works
// immediately) and the embedding trains here, in a worker thread, so no
// conversation waits on it. Jobs live as folders (job.ts), so a restart
// resumes each from its last checkpoint; `/forget` cancels them.
//
//   const jobs = new EmbeddingJobs({ dir: 'concepts/jobs', save: async (spec, embedding) => { ...store it... } });
//   jobs.onUpdate((u) => adapter.editStatus(u));   // step, loss, done
//   await jobs.resumePending();                     // at startup
//   await jobs.start({ scope, conceptId, modelId, modelDir, concept, photos });
//   await jobs.cancelConcept(scope, conceptId);     // on /forget
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.ts';
import { encodePng, type RgbImage } from '../image/decode.ts';
import { moduleLogger } from '../log.ts';
import type { ConceptEmbedding } from '../memory/concept.ts';
import { readJsonIfPresent, writeFileAtomic, writeJsonAtomic } from './checkpoint.ts';
import type { OwnerMessage, WorkerMessage } from './embedding-worker.ts';
import { defaultTraining, embeddingOf, JOB_FILES, runEmbeddingJob, type EmbeddingJobSpec, type JobEnvironment, type JobEvent, type StoredResult } from './job.ts';
import type { GraphDtypes } from '../models/catalog/vlm.ts';
import type { VlmFamily } from '../vlm/families.ts';
import type { ConceptToTeach } from './targets.ts';

const logger = moduleLogger('teach-jobs');

/** How long a cancelled worker may take to finish its step before it is stopped. */
const CANCEL_GRACE_MS = 10_000;

/** Options of the job runner; defaults in the comments. */
export interface EmbeddingJobsOptions {
  /** Folder holding one sub-folder per job (created if needed). */
  dir: string;
  /**
   * Stores a finished embedding, e.g. as ConceptRecord.embeddings[spec.modelId]
   * in one versioned store update. Called again after a crash between
   * finishing and storing, so it must tolerate repeats.
   */
  save: (spec: EmbeddingJobSpec, embedding: ConceptEmbedding) => Promise<void>;
  /** Jobs trained at once (default 1: one job already keeps the CPU busy). */
  concurrency?: number;
  /** Run jobs in worker threads (default) or on this thread (scripts that have nothing else to do). */
  threads?: 'worker' | 'inline';
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
  /** Overrides of the paper's settings (steps, lambda, seed, ...). */
  training?: Partial<EmbeddingJobSpec['training']>;
}

/** What adapters show: one update per change of a job. */
export type JobUpdate = { jobId: string; scope: string; conceptId: string; modelId: string; name: string } & (
  | { state: 'queued' }
  | { state: 'preparing'; stage: 'model' | 'targets' }
  | { state: 'training'; step: number; steps: number; loss: number }
  | { state: 'done'; steps: number; finalLoss: number | null }
  | { state: 'failed'; message: string; userFacing: boolean }
  | { state: 'cancelled' }
);

/** One line for a status message, e.g. "Learning Rex: step 25 of 100 (loss 0.84)". */
export function describeUpdate(update: JobUpdate): string {
  switch (update.state) {
    case 'queued': return `Learning ${update.name}: about to start…`;
    case 'preparing': return update.stage === 'model' ? `Learning ${update.name}: loading the model…` : `Learning ${update.name}: writing practice captions…`;
    case 'training': return `Learning ${update.name}: step ${update.step} of ${update.steps} (loss ${update.loss.toFixed(3)})`;
    case 'done': return `Learned how to talk about ${update.name}.`;
    case 'failed': return `I could not finish learning to talk about ${update.name}${update.userFacing ? `: ${update.message}` : '.'}`;
    case 'cancelled': return `Stopped learning ${update.name}.`;
  }
}

interface Running {
  spec: EmbeddingJobSpec;
  cancelled: boolean;
  stop: () => void;
  finished: Promise<void>;
}

/** Runs teaching jobs in the background, one folder per job. */
export class EmbeddingJobs {
  private readonly queue: EmbeddingJobSpec[] = [];
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Set<(update: JobUpdate) => void>();
  private readonly latest = new Map<string, JobUpdate>();
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: EmbeddingJobsOptions) {
    mkdirSync(options.dir, { recursive: true });
  }

  /** The id of the job for a concept on a model (one job per pair; re-teaching replaces it). */
  static jobId(scope: string, conceptId: string, modelId: string): string {
    return createHash('sha256').update(JSON.stringify([scope, conceptId, modelId])).digest('hex').slice(0, 20);
  }

  /** Subscribes to updates; returns the unsubscribe function. */
  onUpdate(listener: (update: JobUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest update of every job still known (running, queued, or just finished). */
  list(): JobUpdate[] {
    return [...this.latest.values()];
  }

  /**
   * Saves the photos and settings as a job folder and queues it; resolves
   * with the job id once the folder is safely written. A job of the same
   * concept and model is cancelled first.
   */
  async start(request: TeachRequest): Promise<string> {
    if (request.photos.length === 0) throw new UserError(`There are no photos of ${request.concept.name} to learn from.`);
    const id = EmbeddingJobs.jobId(request.scope, request.conceptId, request.modelId);
    await this.cancel(id);
    const task = request.task ?? 'caption';
    const jobDir = this.jobDir(id);
    const staging = `${jobDir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const photos: EmbeddingJobSpec['photos'] = [];
    for (const [i, photo] of request.photos.entries()) {
      writeFileAtomic(path.join(staging, JOB_FILES.photo(i)), await encodePng(photo.image));
      photos.push({ file: JOB_FILES.photo(i), caption: photo.caption });
    }
    const spec: EmbeddingJobSpec = {
      id,
      scope: request.scope,
      conceptId: request.conceptId,
      modelId: request.modelId,
      modelDir: path.resolve(request.modelDir),
      dtype: request.dtype,
      concept: request.concept,
      task,
      training: { ...defaultTraining(task, request.family), ...request.training },
      photos,
      createdAt: new Date().toISOString(),
    };
    writeJsonAtomic(path.join(staging, JOB_FILES.spec), spec);
    // The folder appears whole or not at all: a crash before this rename leaves only a staging folder.
    rmSync(jobDir, { recursive: true, force: true });
    renameSync(staging, jobDir);
    this.enqueue(spec);
    return id;
  }

  /** Cancels a job and deletes its folder; false when there was none. */
  async cancel(jobId: string): Promise<boolean> {
    const queued = this.queue.findIndex((s) => s.id === jobId);
    if (queued >= 0) {
      const [spec] = this.queue.splice(queued, 1);
      rmSync(this.jobDir(jobId), { recursive: true, force: true });
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
    if (existsSync(this.jobDir(jobId))) {
      rmSync(this.jobDir(jobId), { recursive: true, force: true });
      return true;
    }
    return false;
  }

  /** Cancels every job of a concept (all models), e.g. when it is forgotten. */
  async cancelConcept(scope: string, conceptId: string): Promise<number> {
    const ids = new Set<string>();
    for (const spec of [...this.queue, ...[...this.running.values()].map((r) => r.spec)]) if (spec.scope === scope && spec.conceptId === conceptId) ids.add(spec.id);
    for (const spec of this.pendingSpecs()) if (spec.scope === scope && spec.conceptId === conceptId) ids.add(spec.id);
    for (const id of ids) await this.cancel(id);
    return ids.size;
  }

  /** Queues every job folder left by an earlier process (after a restart); returns their ids. */
  async resumePending(): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of this.pendingSpecs()) {
      if (this.running.has(spec.id) || this.queue.some((s) => s.id === spec.id)) continue;
      this.enqueue(spec);
      ids.push(spec.id);
    }
    return ids;
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops every worker; job folders stay, so the next process resumes them. */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    const running = [...this.running.values()];
    for (const r of running) r.stop();
    await Promise.all(running.map((r) => r.finished));
  }

  private jobDir(id: string): string {
    return path.join(this.options.dir, id);
  }

  private pendingSpecs(): EmbeddingJobSpec[] {
    const specs: EmbeddingJobSpec[] = [];
    for (const entry of readdirSync(this.options.dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name.endsWith('.staging')) {
        rmSync(path.join(this.options.dir, entry.name), { recursive: true, force: true });
        continue;
      }
      try {
        const spec = readJsonIfPresent<EmbeddingJobSpec>(path.join(this.options.dir, entry.name, JOB_FILES.spec));
        if (spec?.id === entry.name) specs.push(spec);
      } catch (error) {
        logger.warn({ err: error, job: entry.name }, 'unreadable job folder skipped');
      }
    }
    return specs;
  }

  private publish(spec: EmbeddingJobSpec, change: DistributiveOmit<JobUpdate, 'jobId' | 'scope' | 'conceptId' | 'modelId' | 'name'>): void {
    const update = { jobId: spec.id, scope: spec.scope, conceptId: spec.conceptId, modelId: spec.modelId, name: spec.concept.name, ...change } as JobUpdate;
    if (update.state === 'done' || update.state === 'failed' || update.state === 'cancelled') this.latest.delete(spec.id);
    else this.latest.set(spec.id, update);
    for (const listener of this.listeners) {
      try {
        listener(update);
      } catch (error) {
        logger.warn({ err: error }, 'job update listener failed');
      }
    }
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
      this.running.set(spec.id, this.launch(spec));
    }
  }

  private settle(): void {
    if (this.queue.length === 0 && this.running.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private onEvent(spec: EmbeddingJobSpec, event: JobEvent): void {
    if (event.type === 'preparing') this.publish(spec, { state: 'preparing', stage: event.stage });
    else if (event.type === 'progress') this.publish(spec, { state: 'training', step: event.step, steps: event.steps, loss: event.loss });
  }

  private launch(spec: EmbeddingJobSpec): Running {
    const jobDir = this.jobDir(spec.id);
    let outcome: { kind: 'finished' } | { kind: 'cancelled' } | { kind: 'failed'; message: string; userFacing: boolean } | undefined;
    let stop: () => void;
    let ended: Promise<void>;
    if ((this.options.threads ?? 'worker') === 'inline') {
      const controller = new AbortController();
      stop = () => controller.abort(new Error('stopped'));
      ended = runEmbeddingJob(jobDir, this.options.environment, { signal: controller.signal, onEvent: (e) => this.onEvent(spec, e) }).then(
        () => void (outcome = { kind: 'finished' }),
        (error: unknown) => {
          outcome = controller.signal.aborted ? { kind: 'cancelled' } : { kind: 'failed', message: error instanceof Error ? error.message : String(error), userFacing: error instanceof UserError };
        },
      );
    } else {
      const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { jobDir, environment: this.options.environment, entry: new URL('./embedding-worker.ts', import.meta.url).href } });
      let timer: NodeJS.Timeout | undefined;
      stop = () => {
        worker.postMessage({ type: 'cancel' } satisfies OwnerMessage);
        timer ??= setTimeout(() => void worker.terminate(), this.closing ? 0 : CANCEL_GRACE_MS);
      };
      ended = new Promise<void>((resolve) => {
        worker.on('message', (message: WorkerMessage) => {
          if (message.type === 'event') this.onEvent(spec, message.event);
          else if (message.type === 'finished') outcome = { kind: 'finished' };
          else if (message.type === 'cancelled') outcome = { kind: 'cancelled' };
          else outcome = { kind: 'failed', message: message.message, userFacing: message.userFacing };
        });
        worker.on('error', (error) => (outcome ??= { kind: 'failed', message: error.message, userFacing: false }));
        worker.on('exit', () => {
          if (timer) clearTimeout(timer);
          resolve();
        });
      });
    }
    const running: Running = { spec, cancelled: false, stop: () => stop(), finished: Promise.resolve() };
    running.finished = ended.then(() => this.conclude(running, outcome));
    return running;
  }

  private async conclude(running: Running, outcome: { kind: 'finished' } | { kind: 'cancelled' } | { kind: 'failed'; message: string; userFacing: boolean } | undefined): Promise<void> {
    const { spec } = running;
    const jobDir = this.jobDir(spec.id);
    try {
      if (running.cancelled) {
        rmSync(jobDir, { recursive: true, force: true });
        this.publish(spec, { state: 'cancelled' });
      } else if (this.closing && outcome?.kind !== 'finished') {
        // Shutting down: the folder and its checkpoint stay for the next process.
      } else if (outcome?.kind === 'finished') {
        const result = readJsonIfPresent<StoredResult>(path.join(jobDir, JOB_FILES.result));
        if (!result) throw new Error('the job finished without a result file');
        await this.options.save(spec, embeddingOf(result));
        rmSync(jobDir, { recursive: true, force: true });
        this.publish(spec, { state: 'done', steps: result.steps, finalLoss: result.finalLoss });
      } else {
        const failure = outcome?.kind === 'failed' ? outcome : { message: 'the worker stopped unexpectedly', userFacing: false };
        logger.error({ job: spec.id, concept: spec.conceptId, message: failure.message }, 'teaching job failed');
        rmSync(jobDir, { recursive: true, force: true });
        this.publish(spec, { state: 'failed', message: failure.message, userFacing: failure.userFacing });
      }
    } catch (error) {
      // Storing failed: keep the folder (result.json included) so a restart stores it again.
      logger.error({ err: error, job: spec.id }, 'storing the taught embedding failed');
      this.publish(spec, { state: 'failed', message: error instanceof Error ? error.message : String(error), userFacing: error instanceof UserError });
    } finally {
      this.running.delete(spec.id);
      this.pump();
      this.settle();
    }
  }
}

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
