// One run of a lesson: runEmbeddingJob in a worker thread (or, for scripts,
// on this thread), with its events relayed and its end told as an outcome.
// A worker that dies without reporting one (an uncaught error such as
// ERR_WORKER_OUT_OF_MEMORY at its heap limit, or an exit) has crashed: only
// the worker goes, never the assistant.
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { InternalError, OperatorError, UserError, whoMustAct, type Actor } from '../errors.ts';
import type { OwnerMessage, WorkerMessage } from './embedding-worker.ts';
import { runEmbeddingJob, type JobEnvironment, type JobEvent } from './job.ts';

/** How long a cancelled worker may take to finish its step before it is stopped. */
export const CANCEL_GRACE_MS = 10_000;

/**
 * The V8 old-generation (JS heap) limit of a lesson's worker, in MiB.
 * Measured on whole lessons in the worker (peak heap in use sampled every
 * 5 ms; the smallest limit a lesson completes under, building its teaching
 * graph included): the tests' tiny LLaVA peaks at 34 MiB and needs a limit
 * of 33-48; a generated decoder with the depth and vocabulary of
 * llava-interleave-qwen-0.5b (24 layers, 151,936 tokens; 11,734 nodes in
 * its teaching graph) peaks at 87 MiB and needs 65-96. A BPE tokenizer's
 * merges add about 30 MiB at that vocabulary (CLIP's 49k-token tokenizer
 * takes 15 MiB), so a real lesson needs about 130 MiB. Weights, activations
 * and images are ONNX Runtime and ArrayBuffer memory, outside this limit.
 * 1 GiB gives a real lesson about 8x headroom, while a runaway one stops at a
 * quarter of Node's default (4 GiB on machines of 16 GiB or more), well
 * before the machine runs out and the system kills the whole assistant.
 */
const LESSON_HEAP_LIMIT_MB = 1024;

/** Resource limits of a lesson's worker: the heap limit above; young generation, code range and stack keep Node's defaults. */
export const LESSON_RESOURCE_LIMITS: Readonly<ResourceLimits> = Object.freeze({
  maxOldGenerationSizeMb: LESSON_HEAP_LIMIT_MB,
});

/**
 * A lesson's error as plain data: postMessage drops error classes, so the
 * failure says who must act, with the operator's hint, and for a bug its
 * stack (the log needs where it happened, which was in the worker).
 */
export interface LessonFailure {
  message: string;
  actor: Actor;
  hint?: string;
  stack?: string;
}

/** The plain-data form of an error, for the other side of the worker boundary. */
export function lessonFailure(error: unknown): LessonFailure {
  const actor = whoMustAct(error);
  const failure: LessonFailure = { message: error instanceof Error ? error.message : String(error), actor };
  if (error instanceof OperatorError && error.hint) failure.hint = error.hint;
  if (actor === 'developer' && error instanceof Error && error.stack) failure.stack = error.stack;
  return failure;
}

/** The error a failure was made from, of the class that says who must act (for logFailure). */
export function failureError(failure: LessonFailure): Error {
  if (failure.actor === 'user') return new UserError(failure.message);
  if (failure.actor === 'operator') return new OperatorError(failure.message, { hint: failure.hint });
  const error = new InternalError(failure.message);
  if (failure.stack) error.stack = failure.stack;
  return error;
}

/** How a run ended. `crashed`: the worker died without saying. */
export type RunOutcome =
  | { kind: 'finished' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; failure: LessonFailure }
  | { kind: 'crashed'; reason: string };

/** A run in progress. */
export interface LessonRun {
  /** Asks the run to stop between steps; a worker that has not stopped after `graceMs` is terminated. */
  stop(graceMs: number): void;
  ended: Promise<RunOutcome>;
}

/** Options of a run. */
export interface LessonRunOptions {
  environment: JobEnvironment;
  /** A worker thread (default) or this thread. */
  threads: 'worker' | 'inline';
  /** Limits of the worker (default LESSON_RESOURCE_LIMITS). */
  resourceLimits?: ResourceLimits;
  onEvent: (event: JobEvent) => void;
}

/** Starts the job in `jobDir`. */
export function runLesson(jobDir: string, options: LessonRunOptions): LessonRun {
  if (options.threads === 'inline') {
    const controller = new AbortController();
    const ended = runEmbeddingJob(jobDir, options.environment, {
      signal: controller.signal,
      onEvent: options.onEvent,
    }).then(
      (): RunOutcome => ({ kind: 'finished' }),
      (error: unknown): RunOutcome =>
        controller.signal.aborted ? { kind: 'cancelled' } : { kind: 'failed', failure: lessonFailure(error) },
    );
    return { stop: () => controller.abort(new Error('stopped')), ended };
  }
  const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), {
    workerData: {
      jobDir,
      environment: options.environment,
      entry: new URL('./embedding-worker.ts', import.meta.url).href,
    },
    resourceLimits: options.resourceLimits ?? LESSON_RESOURCE_LIMITS,
  });
  let outcome: RunOutcome | undefined;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<RunOutcome>((resolve) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'event') options.onEvent(message.event);
      else if (message.type === 'finished') outcome = { kind: 'finished' };
      else if (message.type === 'cancelled') outcome = { kind: 'cancelled' };
      else outcome = { kind: 'failed', failure: message.failure };
    });
    // An uncaught error in the worker, e.g. ERR_WORKER_OUT_OF_MEMORY at the heap limit: the worker is gone without an outcome.
    worker.on(
      'error',
      (error: Error & { code?: string }) =>
        (outcome ??= { kind: 'crashed', reason: `${error.code ? `${error.code}: ` : ''}${error.message}` }),
    );
    worker.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve(
        outcome ?? { kind: 'crashed', reason: `the worker exited with code ${code} without reporting an outcome` },
      );
    });
  });
  return {
    stop: (graceMs) => {
      worker.postMessage({ type: 'cancel' } satisfies OwnerMessage);
      timer ??= setTimeout(() => void worker.terminate(), graceMs);
    },
    ended,
  };
}
