// Structured logging through pino, the one logging library of the project.
// Logs go to stderr so that stdout stays clean for the terminal chat and for
// `--json` output. Secrets (tokens) and image bytes are redacted by path.
// While the terminal chat runs, JSON lines on stderr would land in the middle
// of the conversation: `logToFile` sends every line to a file instead, and
// shows only warnings and errors, each as one plain line.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
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

/** The values MYVLM_LOG_LEVEL takes, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * The level MYVLM_LOG_LEVEL asks for. A value that is not a level is said
 * in one plain line and logging goes on at the default: a misspelt log
 * level is no reason to stop the assistant, and this runs as the module
 * loads, where throwing would end the process with a stack trace.
 */
export function logLevelFrom(value: string | undefined, warn: (line: string) => void): string {
  const fallback = process.env.VITEST ? 'silent' : 'info';
  const level = value?.trim().toLowerCase();
  if (!level) return fallback;
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level;
  warn(`MYVLM_LOG_LEVEL "${value}" is not a log level; use one of ${LOG_LEVELS.join(', ')}. Logging at ${fallback}.`);
  return fallback;
}

/** Where log lines go; `logToFile` changes it for the loggers already made. */
let sink: (line: string) => void = (line) => process.stderr.write(line);

/** Root logger; modules take a child with their own `module` field. */
export const log: Logger = pino(
  {
    // Worker threads read the same variable; only the main thread says it is wrong.
    level: logLevelFrom(process.env.MYVLM_LOG_LEVEL, (line) => isMainThread && process.stderr.write(`${line}\n`)),
    redact: { paths: REDACT, censor: '[redacted]' },
    base: undefined,
  },
  { write: (line: string) => sink(line) },
);

/**
 * From now on every log line goes to `file` (appended, the folder made if
 * needed), and warnings and errors also to stderr as one plain line, "warning:
 * what happened (more in <file>)". Worker threads started later do the same
 * (MYVLM_LOG_FILE, which a worker reads when it loads this module).
 */
export function logToFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  process.env.MYVLM_LOG_FILE = file;
  sink = (line) => {
    appendFileSync(file, line);
    const { level, msg } = JSON.parse(line) as { level: number; msg?: string };
    const warn = pino.levels.values.warn;
    if (level >= warn) process.stderr.write(`${level > warn ? 'error' : 'warning'}: ${msg ?? ''} (more in ${file})\n`);
  };
}

if (process.env.MYVLM_LOG_FILE) logToFile(process.env.MYVLM_LOG_FILE);

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
