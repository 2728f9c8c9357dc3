// Worker-thread entry of a teaching job: runs `runEmbeddingJob` away from
// the conversation thread, relays its events, and stops between steps when
// the owner sends `cancel`. Started by EmbeddingJobs (jobs.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { runEmbeddingJob, type JobEnvironment, type JobEvent } from './job.ts';
import { lessonFailure, type LessonFailure } from './lesson-run.ts';

/** Messages from the worker to its owner. */
export type WorkerMessage =
  | { type: 'event'; event: JobEvent }
  | { type: 'finished' }
  | { type: 'cancelled' }
  | { type: 'failed'; failure: LessonFailure };

/** Messages from the owner to the worker. */
export type OwnerMessage = { type: 'cancel' };

const port = parentPort;
if (port) {
  const { jobDir, environment } = workerData as { jobDir: string; environment: JobEnvironment };
  const controller = new AbortController();
  port.on('message', (message: OwnerMessage) => {
    if (message.type === 'cancel') controller.abort(new Error('cancelled'));
  });
  const post = (message: WorkerMessage) => port.postMessage(message);
  runEmbeddingJob(jobDir, environment, {
    signal: controller.signal,
    onEvent: (event) => post({ type: 'event', event }),
  })
    .then(() => post({ type: 'finished' }))
    .catch((error: unknown) => {
      if (controller.signal.aborted) post({ type: 'cancelled' });
      // The error class does not survive postMessage, so say here who must act on it.
      else post({ type: 'failed', failure: lessonFailure(error) });
    })
    .finally(() => port.close());
}
