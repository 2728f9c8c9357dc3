// What a lesson tells the chat that started it: one update per change of a
// job (queued, preparing, training, done, failed, cancelled), and the line a
// status message shows for each.
import type { Actor } from '../errors.ts';

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
