// What the bot process and `myvlm worker` processes share about a lesson on
// the BullMQ queue (MYVLM_QUEUE_URL). The job carries no local path to a
// photo: a worker on another machine reads the photos from the concept
// store (shared when MYVLM_STORE_URL is Redis or PostgreSQL) by their
// hashes, and the job's own data holds the latest checkpoint (one vector
// and its two Adam moments: 3 x hidden size numbers, about 60 KB of JSON at
// hidden size 896), so a retry on any worker resumes from it.
import type { RedisOptions } from 'bullmq';
import type { StoredCheckpoint } from './checkpoint.ts';
import type { EmbeddingJobSpec, JobEvent } from './job.ts';
import type { LessonFailure } from './lesson-run.ts';
import type { PhotoTargets } from './targets.ts';

/** The data of a queued lesson. */
export interface QueuedLesson {
  /** The lesson (its photos apart); `id` is the lesson's id, EmbeddingJobs.jobId. */
  spec: Omit<EmbeddingJobSpec, 'photos'>;
  /** The stored photos (concept store hashes) with the captions their senders wrote. */
  photos: { sha256: string; caption: string | null }[];
  /** The latest checkpoint, written by the worker as it trains. */
  checkpoint?: StoredCheckpoint;
  /** The training targets, built once by the first run (model answers vary run to run). */
  targets?: PhotoTargets['choices'][];
  /** Why the lesson failed, for a failure a retry cannot mend (absent when it was quarantined after crashes). */
  failure?: LessonFailure;
}

/** How a queued lesson ended without failing. `not-stored`: the concept was forgotten or re-taught meanwhile. */
export type QueuedLessonResult =
  { kind: 'done'; steps: number; finalLoss: number | null } | { kind: 'not-stored' | 'cancelled' };

/** What a worker reports as the job's progress: the lesson's own events. */
export type QueuedLessonProgress = JobEvent;

/** The connection options of every queue client (blocking clients need unlimited retries per request). */
export function queueConnection(url: string): RedisOptions & { url: string } {
  return { url, maxRetriesPerRequest: null };
}

/** The Redis key whose presence asks the worker running `queueJobId` to stop. */
export function cancelKey(queueJobId: string): string {
  return `myvlm:lesson-cancel:${queueJobId}`;
}
