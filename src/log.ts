// Structured logging through pino, the one logging library of the project.
// Logs go to stderr so that stdout stays clean for the terminal chat and for
// `--json` output. Secrets (tokens) and image bytes are redacted by path.
import { pino, type Logger } from 'pino';
import { whoMustAct, type OperatorError } from './errors.ts';

const REDACT = [
  'token',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
  'bytes',
  '*.bytes',
  'data',
  '*.data',
];

function defaultLevel(): string {
  if (process.env.MYVLM_LOG_LEVEL) return process.env.MYVLM_LOG_LEVEL;
  return process.env.VITEST ? 'silent' : 'info';
}

/** Root logger; modules take a child with their own `module` field. */
export const log: Logger = pino(
  { level: defaultLevel(), redact: { paths: REDACT, censor: '[redacted]' }, base: undefined },
  pino.destination(2),
);

export function moduleLogger(module: string): Logger {
  return log.child({ module });
}

/**
 * Logs a failure by who must act on it: a user's mistake at debug level (the
 * chat already told them), an operator's problem as one warning line with its
 * hint, a bug as an error with its stack.
 */
export function logFailure(logger: Logger, error: unknown, what: string, context: Record<string, unknown> = {}): void {
  switch (whoMustAct(error)) {
    case 'user':
      logger.debug({ ...context, problem: (error as Error).message }, what);
      return;
    case 'operator':
      logger.warn({ ...context, hint: (error as OperatorError).hint }, `${what}: ${(error as OperatorError).message}`);
      return;
    default:
      logger.error({ ...context, err: error }, what);
  }
}

export type { Logger };
