// A recognition head or the vision-language model that cannot work is said
// in the reply, worded for whoever reads it: the operator at the terminal
// learns what to do, a chat only that the operator must act (`messageFor` in
// src/errors.ts). The problem is logged here, once per reply, with its hint
// (a warning, unless the reader is the operator, who sees it all in the reply).
import { messageFor, type Audience } from '../errors.ts';
import type { HeadProblem } from '../heads/types.ts';
import { logFailure, moduleLogger } from '../log.ts';

const logger = moduleLogger('assistant');

/** What cannot work (for the log), the sentence that says so (for the reader), and why. */
export interface Unavailable {
  what: string;
  headline: string;
  problem: HeadProblem;
}

/** The headline, then the problem as `audience` should read it, on its own line. */
export function unavailableLines({ what, headline, problem }: Unavailable, audience: Audience): string {
  // The operator at the terminal reads the whole problem in the reply; a console warning would say it twice.
  if (audience === 'operator') logger.info({ problem: problem.message }, `${what} is unavailable`);
  else logFailure(logger, problem, `${what} is unavailable`);
  return `${headline}\n${messageFor(problem, audience)}`;
}
