// Structured logging through pino, the one logging library of the project.
// Logs go to stderr so that stdout stays clean for the terminal chat and for
// `--json` output. Secrets (tokens) and image bytes are redacted by path.
import { pino, type Logger } from 'pino';

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

export type { Logger };
