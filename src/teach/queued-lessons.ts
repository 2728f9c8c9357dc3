// Lessons on a BullMQ queue (MYVLM_QUEUE_URL): the bot process enqueues,
// `myvlm worker` processes train (lesson-worker.ts), and the workers'
// progress comes back through QueueEvents as the same updates in-process
// lessons give (job-updates.ts), so messengers show one status message
// either way. A process reports the lessons it enqueued (or found queued at
// its start), so two bot processes never both tell a chat.
//
// Crashes: a worker that dies (SIGKILL, power cut) stops renewing its lock;
// BullMQ's stalled check puts the lesson back on the queue, and another
// worker resumes it from the checkpoint in the job's data. A lesson thread
// that crashes inside a living worker is retried with exponential backoff.
// After LESSON_QUEUE.attempts runs the lesson stays in the failed set
// (quarantined) and its chat gets the set-aside notice.
import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { LESSON_QUEUE } from '../config/defaults.ts';
import { InternalError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { specOf, type LessonJobs, type TeachRequest } from './jobs.ts';
import { changeOf, JobUpdates, setAsideMessage, type JobUpdate } from './job-updates.ts';
import {
  cancelKey,
  queueConnection,
  type QueuedLesson,
  type QueuedLessonProgress,
  type QueuedLessonResult,
} from './lesson-queue.ts';

const logger = moduleLogger('lesson-queue');

/** Queue states a lesson can be cancelled in (failed: quarantined, erased like a set-aside folder). */
const CANCELLABLE = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'failed'] as const;
/** Queue states of a lesson still to run. */
const PENDING = ['waiting', 'active', 'delayed', 'prioritized', 'paused'] as const;

type LessonJob = Job<QueuedLesson, QueuedLessonResult>;

/** The bot process's side of queued lessons. */
export class QueuedLessons implements LessonJobs {
  private readonly queue: Queue<QueuedLesson, QueuedLessonResult>;
  private readonly events: QueueEvents;
  private readonly ready: Promise<unknown>;
  private readonly updates = new JobUpdates();
  /** This process's lessons still in progress, by queue job id. */
  private readonly known = new Map<string, QueuedLesson['spec']>();
  private idleWaiters: (() => void)[] = [];

  constructor(url: string) {
    this.queue = new Queue(LESSON_QUEUE.name, { connection: queueConnection(url) });
    this.events = new QueueEvents(LESSON_QUEUE.name, { connection: queueConnection(url) });
    this.events.on('progress', ({ jobId, data }) => this.onProgress(jobId, data as QueuedLessonProgress));
    this.events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    // Events are read from the moment the listener is ready: a lesson enqueued before would go unheard.
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  onUpdate(listener: (update: JobUpdate) => void, options: { replay?: boolean } = {}): () => void {
    return this.updates.subscribe(listener, options);
  }

  list(): JobUpdate[] {
    return this.updates.list();
  }

  has(jobId: string): boolean {
    return [...this.known.values()].some((spec) => spec.id === jobId);
  }

  async start(request: TeachRequest): Promise<string> {
    const spec = specOf(request);
    const hashes = request.learnedFrom?.photos;
    // EmbeddingLessons names the stored photos of every lesson: a worker elsewhere reads them from the store.
    if (!hashes || hashes.length !== request.photos.length)
      throw new InternalError(`A queued lesson of ${spec.concept.name} needs the hashes of its stored photos.`);
    await this.ready;
    await this.cancelConcept(spec.scope, spec.conceptId, spec.modelId);
    const queueJobId = `${spec.id}-${randomUUID()}`;
    const data: QueuedLesson = {
      spec,
      photos: hashes.map((sha256, i) => ({ sha256, caption: request.photos[i].caption })),
    };
    this.known.set(queueJobId, spec);
    this.updates.publish(spec, { state: 'queued' });
    await this.queue.add('lesson', data, {
      jobId: queueJobId,
      attempts: LESSON_QUEUE.attempts,
      backoff: { type: 'exponential', delay: LESSON_QUEUE.backoffMs },
      removeOnComplete: true,
      // Quarantine: a lesson that crashed every attempt stays for inspection until /forget or a new /teach.
      removeOnFail: false,
    });
    const depth = await this.queue.getJobCounts(...PENDING);
    logger.info({ job: spec.id, queueJob: queueJobId, scope: spec.scope, depth }, 'lesson queued');
    return spec.id;
  }

  /** Cancels the concept's lessons (on one model, or all): removes queued ones, and asks running ones to stop. */
  async cancelConcept(scope: string, conceptId: string, modelId?: string): Promise<number> {
    await this.ready;
    const jobs = (await this.queue.getJobs([...CANCELLABLE])).filter(
      (job): job is LessonJob =>
        job !== undefined &&
        job.data.spec.scope === scope &&
        job.data.spec.conceptId === conceptId &&
        (modelId === undefined || job.data.spec.modelId === modelId),
    );
    await Promise.all(jobs.map((job) => this.cancel(job)));
    for (const job of jobs) this.updates.forget(job.data.spec.id);
    return jobs.length;
  }

  /** Adopts the lessons still queued (a restarted bot process reports them again); resolves with their ids. */
  async resumePending(): Promise<string[]> {
    await this.ready;
    const ids: string[] = [];
    for (const job of await this.queue.getJobs([...PENDING])) {
      if (!job?.id || this.known.has(job.id)) continue;
      this.known.set(job.id, job.data.spec);
      ids.push(job.data.spec.id);
    }
    return ids;
  }

  whenIdle(): Promise<void> {
    if (this.known.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops listening; the queued lessons stay for the workers. */
  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }

  private async cancel(job: LessonJob): Promise<void> {
    const id = job.id as string;
    // The flag first: a worker taking the job right now sees it at its first check.
    const client = await this.queue.client;
    await client.set(cancelKey(id), '1', 'PX', LESSON_QUEUE.cancelWaitMs * 4);
    try {
      await job.remove();
      this.end(id, { state: 'cancelled' });
      return;
    } catch {
      // Locked: a worker runs it, and stops at its next check.
    }
    try {
      await job.waitUntilFinished(this.events, LESSON_QUEUE.cancelWaitMs);
    } catch (error) {
      logger.warn(
        { err: error, queueJob: id },
        'a cancelled lesson did not end in time; its worker will still stop it',
      );
    }
    this.end(id, { state: 'cancelled' });
  }

  private onProgress(queueJobId: string, event: QueuedLessonProgress): void {
    const spec = this.known.get(queueJobId);
    const change = spec && typeof event === 'object' ? changeOf(event) : null;
    if (spec && change) this.updates.publish(spec, change);
  }

  private onCompleted(queueJobId: string, returnvalue: unknown): void {
    const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as QueuedLessonResult;
    this.end(
      queueJobId,
      result.kind === 'done'
        ? { state: 'done', steps: result.steps, finalLoss: result.finalLoss }
        : { state: 'cancelled' },
    );
  }

  private async onFailed(queueJobId: string, failedReason: string): Promise<void> {
    const spec = this.known.get(queueJobId);
    if (!spec) return;
    const job = await Job.fromId<QueuedLesson, QueuedLessonResult>(this.queue, queueJobId);
    const failure = job?.data.failure;
    if (failure) {
      // The worker logged it with its stack; the chat hears what describeUpdate lets through.
      this.end(queueJobId, {
        state: 'failed',
        message: failure.message,
        actor: failure.actor,
        ...(failure.hint ? { hint: failure.hint } : {}),
      });
      return;
    }
    logger.error(
      { job: spec.id, queueJob: queueJobId, scope: spec.scope, concept: spec.conceptId, reason: failedReason },
      `lesson quarantined in the queue's failed set after ${LESSON_QUEUE.attempts} crashed runs; /forget or a new /teach removes it`,
    );
    this.end(queueJobId, {
      state: 'failed',
      message: setAsideMessage(spec.concept.name),
      actor: 'user',
      setAside: true,
    });
  }

  /** Publishes a lesson's last update, once. */
  private end(queueJobId: string, change: Parameters<JobUpdates['publish']>[1]): void {
    const spec = this.known.get(queueJobId);
    if (!spec) return;
    this.known.delete(queueJobId);
    this.updates.publish(spec, change);
    if (this.known.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
