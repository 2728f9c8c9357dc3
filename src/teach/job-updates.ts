// What a lesson tells the chat that started it: one update per change of a
// job (queued, preparing, training, done, failed, cancelled), and the line a
// status message shows for each.
import type { Actor } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { JobEvent } from './job.ts';

const logger = moduleLogger('teach-jobs');

/** What adapters show: one update per change of a job. */
export type JobUpdate = { jobId: string; scope: string; conceptId: string; modelId: string; name: string } & (
  | { state: 'queued' }
  | { state: 'preparing'; stage: 'model' | 'targets' }
  | { state: 'training'; step: number; steps: number; loss: number }
  | { state: 'done'; steps: number; finalLoss: number | null }
  /**
   * `actor`: who must act on the failure; `message` is fit for a chat only
   * from a user's error, and `hint` is the operator's. `setAside`: the lesson
   * crashed twice and waits for a new /teach (or /forget).
   */
  | { state: 'failed'; message: string; actor: Actor; hint?: string; setAside?: boolean }
  | { state: 'cancelled' }
);

/** One line for a status message, e.g. "Learning Rex: step 25 of 100 (loss 0.84)". */
export function describeUpdate(update: JobUpdate): string {
  switch (update.state) {
    case 'queued':
      return `Learning ${update.name}: about to start…`;
    case 'preparing':
      return update.stage === 'model'
        ? `Learning ${update.name}: loading the model…`
        : `Learning ${update.name}: writing practice captions…`;
    case 'training':
      return `Learning ${update.name}: step ${update.step} of ${update.steps} (loss ${update.loss.toFixed(3)})`;
    case 'done':
      return `Learned how to talk about ${update.name}.`;
    case 'failed':
      if (update.setAside) return `I couldn't finish learning to describe ${update.name}: ${update.message}`;
      switch (update.actor) {
        case 'user':
          return `I could not finish learning to talk about ${update.name}: ${update.message}`;
        // The message and hint name files and settings: they are in the log, for whoever runs the assistant.
        case 'operator':
          return `I could not finish learning to talk about ${update.name}: something on my side needs the attention of whoever runs me.`;
        default:
          return `I could not finish learning to talk about ${update.name}.`;
      }
    case 'cancelled':
      return `Stopped learning ${update.name}.`;
  }
}

/** The reason a set-aside lesson gives its chat. */
export function setAsideMessage(name: string): string {
  return `the lesson stopped unexpectedly twice, so I've set it aside. Teach ${name} again to retry.`;
}

/** A job update without the job's identity (filled in from its spec by JobUpdates.publish). */
export type JobChange = DistributiveOmit<JobUpdate, 'jobId' | 'scope' | 'conceptId' | 'modelId' | 'name'>;

/** The update a lesson's event makes (checkpoints and the end are told otherwise). */
export function changeOf(event: JobEvent): JobChange | null {
  if (event.type === 'preparing') return { state: 'preparing', stage: event.stage };
  if (event.type === 'progress') return { state: 'training', step: event.step, steps: event.steps, loss: event.loss };
  return null;
}

/** Who a job is: its id and what it teaches. */
export interface JobIdentity {
  id: string;
  scope: string;
  conceptId: string;
  modelId: string;
  concept: { name: string };
}

/**
 * The updates of a process's jobs, wherever they run (a worker thread here,
 * or a queue worker elsewhere): the latest of each job still in progress,
 * the set-aside reports, and the listeners that hear them.
 */
export class JobUpdates {
  private readonly listeners = new Set<(update: JobUpdate) => void>();
  private readonly latest = new Map<string, JobUpdate>();
  /** The reports of lessons set aside, for listeners that subscribe later. */
  private readonly setAsideReports = new Map<string, JobUpdate>();

  /** Subscribes; with `replay`, the listener first hears the set-aside reports and the latest update of each job in progress. */
  subscribe(listener: (update: JobUpdate) => void, options: { replay?: boolean } = {}): () => void {
    this.listeners.add(listener);
    if (options.replay)
      for (const update of [...this.setAsideReports.values(), ...this.latest.values()]) tell(listener, update);
    return () => this.listeners.delete(listener);
  }

  /** The latest update of every job still in progress. */
  list(): JobUpdate[] {
    return [...this.latest.values()];
  }

  /** Tells every listener; a set-aside report is kept for later listeners until `forget`. */
  publish(job: JobIdentity, change: JobChange): JobUpdate {
    const update = {
      jobId: job.id,
      scope: job.scope,
      conceptId: job.conceptId,
      modelId: job.modelId,
      name: job.concept.name,
      ...change,
    };
    if (update.state === 'done' || update.state === 'failed' || update.state === 'cancelled')
      this.latest.delete(job.id);
    else this.latest.set(job.id, update);
    if (update.state === 'failed' && update.setAside) this.setAsideReports.set(job.id, update);
    for (const listener of this.listeners) tell(listener, update);
    return update;
  }

  /** Drops a job's set-aside report (it was cancelled or taught again). */
  forget(jobId: string): void {
    this.setAsideReports.delete(jobId);
  }
}

function tell(listener: (update: JobUpdate) => void, update: JobUpdate): void {
  try {
    listener(update);
  } catch (error) {
    logger.warn({ err: error }, 'job update listener failed');
  }
}

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
