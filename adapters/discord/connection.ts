// Where the Discord client talks to: the REST API root (discord.js's `rest.api`
// option) and, optionally, a gateway URL that replaces the one Discord
// advertises. discord.js has no gateway option of its own: it connects to the
// URL that GET /gateway/bot answers, so the override rewrites that answer.
import { DefaultRestOptions, type RESTOptions, type ResponseLike } from 'discord.js';
import { ConfigError, OperatorError } from '../../src/errors.ts';

export interface DiscordConnection {
  /** The bot token from the developer portal's Bot page. */
  token: string;
  applicationId: string;
  /** REST API root, default https://discord.com/api (a proxy, or a fake in tests). */
  apiUrl?: string | null;
  /** Gateway URL to use instead of the one GET /gateway/bot advertises. */
  gatewayUrl?: string | null;
}

/** REST options for discord.js's Client and REST from a connection. */
export function restOptions(connection: DiscordConnection): Partial<RESTOptions> {
  const options: Partial<RESTOptions> = {};
  if (connection.apiUrl) options.api = connection.apiUrl.replace(/\/+$/, '');
  const gatewayUrl = connection.gatewayUrl;
  if (gatewayUrl) {
    options.makeRequest = async (url, init) => {
      const response = await DefaultRestOptions.makeRequest(url, init);
      if (!response.ok || !new URL(url).pathname.endsWith('/gateway/bot')) return response;
      const advertised = (await response.json()) as Record<string, unknown>;
      return jsonResponse(response, { ...advertised, url: gatewayUrl });
    };
  }
  return options;
}

function jsonResponse(original: ResponseLike, value: unknown): ResponseLike {
  const text = JSON.stringify(value);
  return {
    ok: original.ok,
    status: original.status,
    statusText: original.statusText,
    headers: original.headers,
    body: null,
    bodyUsed: false,
    json: () => Promise.resolve(JSON.parse(text) as unknown),
    text: () => Promise.resolve(text),
    arrayBuffer: () => Promise.resolve(new TextEncoder().encode(text).buffer),
  };
}

/** A start or registration failure in one line: what went wrong and what to do. */
export function explainDiscordFailure(error: unknown): Error {
  // Network failures carry their code on the error or on its cause, depending on the HTTP client.
  const code =
    (error as { code?: unknown } | null)?.code ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const status = (error as { status?: unknown } | null)?.status;
  if (code === 'TokenInvalid' || status === 401) {
    return new ConfigError(
      'DISCORD_TOKEN',
      'Discord rejected the token (401 Unauthorized); copy it again from the Bot page of the developer portal',
    );
  }
  if (code === 'DisallowedIntents')
    return new OperatorError('Discord refused the gateway intents this bot asked for.', {
      hint: 'Check the privileged intents on the Bot page of the developer portal.',
    });
  if (status === 403 || code === 50001) {
    return new ConfigError(
      'DISCORD_APPLICATION_ID',
      'Discord refused access (403); check that the application id belongs to this bot token',
    );
  }
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|UND_ERR_)/.test(code)) {
    return new OperatorError(`Discord: cannot reach the API (${String(code)})`, {
      hint: 'Check that this machine is online, and DISCORD_API_URL if you set it.',
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
