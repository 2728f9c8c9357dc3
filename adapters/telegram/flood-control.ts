// Telegram's flood control answers 429 with `parameters.retry_after` (seconds)
// when a bot sends too fast, e.g. many status edits in a busy group. This API
// transformer waits the advertised time and sends the call again, as the
// @grammyjs/auto-retry plugin does, so callers only ever see the final answer.
import type { Transformer } from 'grammy';
import { moduleLogger } from '../../src/log.ts';

const logger = moduleLogger('telegram');

export interface FloodControlOptions {
  /** Retries per call before the 429 is handed to the caller. Default 3. */
  maxRetries?: number;
  /** A longer advertised wait is not waited out; the 429 is handed to the caller. Default 60 s. */
  maxDelaySeconds?: number;
}

/**
 * An API transformer that honours 429 `retry_after`. Install it with
 * `bot.api.config.use(floodControl())`; grammY copies it to every `ctx.api`.
 */
export function floodControl(options: FloodControlOptions = {}): Transformer {
  const maxRetries = options.maxRetries ?? 3;
  const maxDelaySeconds = options.maxDelaySeconds ?? 60;
  return async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      const result = await prev(method, payload, signal);
      const retryAfter = result.ok ? undefined : result.parameters?.retry_after;
      if (
        result.ok ||
        result.error_code !== 429 ||
        retryAfter === undefined ||
        attempt >= maxRetries ||
        retryAfter > maxDelaySeconds
      ) {
        return result;
      }
      logger.warn({ method, retryAfter, attempt: attempt + 1 }, 'Telegram flood control: waiting before retrying');
      await sleep(retryAfter * 1000, signal);
    }
  };
}

/** grammY hands transformers the abort-controller package's signal, which has this much in common with the DOM one. */
interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

function sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
