// grammY's HttpError keeps the failed fetch as its cause, and that cause's
// message holds the request URL, which holds the bot token. Logs get the
// error without it.
import { HttpError } from 'grammy';

/** The error as it may be logged: an HttpError loses its cause, anything else is kept. */
export function loggable(error: unknown): unknown {
  if (error instanceof HttpError) {
    const code = (error.error as { code?: string } | undefined)?.code;
    return { type: 'HttpError', message: error.message, ...(code ? { code } : {}) };
  }
  return error;
}
