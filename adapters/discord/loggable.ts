// discord.js's API errors carry the request URL and body; for interaction
// routes the URL holds the interaction token, which lets anyone answer as
// the bot for 15 minutes. Logs get the error without them.
import { DiscordAPIError, HTTPError } from 'discord.js';

/** The error as it may be logged: API errors keep their code and route, not the token or body. */
export function loggable(error: unknown): unknown {
  if (error instanceof DiscordAPIError || error instanceof HTTPError) {
    const route = new URL(error.url).pathname.replace(/\/(interactions\/\d+|webhooks\/\d+)\/[^/]+/, '/$1/:token');
    return {
      type: error.name,
      message: error.message,
      status: error.status,
      method: error.method,
      route,
      ...('code' in error ? { code: error.code } : {}),
    };
  }
  return error;
}
