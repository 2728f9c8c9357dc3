import { DiscordAPIError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { ConfigError, OperatorError } from '../../src/errors.ts';
import { explainDiscordFailure } from './connection.ts';
import { loggable } from './loggable.ts';

describe('explainDiscordFailure', () => {
  it('turns a rejected token, a foreign application and an unreachable API into one-line messages', () => {
    expect(
      explainDiscordFailure(Object.assign(new Error('An invalid token was provided.'), { code: 'TokenInvalid' })),
    ).toBeInstanceOf(ConfigError);
    const foreign = explainDiscordFailure(
      new DiscordAPIError(
        { message: 'Missing Access', code: 50001 },
        50001,
        403,
        'PUT',
        'http://x/api/v10/applications/1/commands',
        { body: [] },
      ),
    );
    expect(foreign.message).toMatch(/^DISCORD_APPLICATION_ID: /);
    const offline = explainDiscordFailure(
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    );
    expect(offline).toBeInstanceOf(OperatorError);
    expect(offline.message).toBe('Discord: cannot reach the API (ECONNREFUSED)');
    expect((offline as OperatorError).hint).toMatch(/online/);
    const other = new RangeError('something else');
    expect(explainDiscordFailure(other)).toBe(other);
  });
});

describe('loggable', () => {
  it('keeps interaction tokens and request bodies out of logs', () => {
    const error = new DiscordAPIError(
      { message: 'Unknown Message', code: 10008 },
      10008,
      404,
      'PATCH',
      'http://x/api/v10/webhooks/900/secret-interaction-token/messages/@original',
      { body: { content: 'private' } },
    );
    const logged = JSON.stringify(loggable(error));
    expect(logged).not.toMatch(/secret-interaction-token|private/);
    expect(loggable(error)).toMatchObject({
      status: 404,
      code: 10008,
      route: '/api/v10/webhooks/900/:token/messages/@original',
    });
  });
});
