import type { ApiCallFn } from 'grammy';
import { describe, expect, it } from 'vitest';
import { floodControl } from './flood-control.ts';

/** A Bot API that answers with the scripted results in turn. */
function scripted(
  results: Array<
    | { ok: true; result: unknown }
    | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } }
  >,
) {
  const at: number[] = [];
  const prev = (() => {
    at.push(Date.now());
    return Promise.resolve(results.shift());
  }) as unknown as ApiCallFn;
  return { prev, at };
}

const tooMany = (seconds: number) => ({
  ok: false as const,
  error_code: 429,
  description: `Too Many Requests: retry after ${seconds}`,
  parameters: { retry_after: seconds },
});

describe('floodControl', () => {
  it('waits the advertised retry_after, then returns the retried answer', async () => {
    const api = scripted([tooMany(0.2), { ok: true, result: 'sent' }]);
    const result = await floodControl()(api.prev, 'sendMessage', { chat_id: 1, text: 'hi' });
    expect(result).toEqual({ ok: true, result: 'sent' });
    expect(api.at[1] - api.at[0]).toBeGreaterThanOrEqual(195);
  });

  it('hands over other errors, waits over the cap, and the last 429 after the retries', async () => {
    const badRequest = { ok: false as const, error_code: 400, description: 'Bad Request: chat not found' };
    expect(await floodControl()(scripted([badRequest]).prev, 'sendMessage', { chat_id: 1, text: 'hi' })).toEqual(
      badRequest,
    );
    expect(
      await floodControl({ maxDelaySeconds: 10 })(scripted([tooMany(30)]).prev, 'sendMessage', {
        chat_id: 1,
        text: 'hi',
      }),
    ).toEqual(tooMany(30));
    const api = scripted([tooMany(0.01), tooMany(0.01), tooMany(0.01)]);
    expect(await floodControl({ maxRetries: 2 })(api.prev, 'sendMessage', { chat_id: 1, text: 'hi' })).toEqual(
      tooMany(0.01),
    );
    expect(api.at).toHaveLength(3);
  });
});
