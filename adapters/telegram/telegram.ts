// The Telegram adapter: a grammY bot that checks its token, registers the
// commands with the Bot API, and receives messages by long polling (the
// default) or through a webhook served by node:http (when a public URL is
// configured; with MYVLM_REDIS_URL several instances share one URL, see
// chat-lanes.ts). Flood control (429) is retried by an API transformer.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Bot, GrammyError, HttpError } from 'grammy';
import type { Update } from 'grammy/types';
import { COMMANDS, type ConversationCore, type Notice } from '../../src/assistant/turn.ts';
import { ConfigError, OperatorError } from '../../src/errors.ts';
import { moduleLogger } from '../../src/log.ts';
import { ChatLanes } from './chat-lanes.ts';
import { TelegramConversation } from './conversation.ts';
import { floodControl } from './flood-control.ts';
import { loggable } from './loggable.ts';
import { StatusBook } from '../shared/status-book.ts';

const logger = moduleLogger('telegram');

export const DEFAULT_API_ROOT = 'https://api.telegram.org';

export interface TelegramAdapterOptions {
  core: ConversationCore;
  /** The bot token from @BotFather. */
  token: string;
  /** Bot API server root; default https://api.telegram.org (a local Bot API server, or a fake in tests). */
  apiRoot?: string | null;
  /** Public HTTPS URL Telegram posts updates to; null (default) uses long polling. */
  webhookUrl?: string | null;
  /** Redis shared by several webhook instances behind one URL; null (default) for a single instance. */
  redisUrl?: string | null;
  /** Port the webhook server listens on. Default 8443. */
  webhookPort?: number;
  /** Interface the webhook server listens on. Default: all interfaces. */
  webhookHost?: string;
  /** Seconds one getUpdates call may wait for news. Default 30. */
  pollingTimeoutSeconds?: number;
  /** Passed to the conversation: album gathering, status edit pace, delay before a status shows. */
  albumQuietMs?: number;
  statusIntervalMs?: number;
  statusDelayMs?: number;
  /** The file that keeps lesson status messages open across restarts; null or absent keeps them in memory only. */
  statusBookFile?: string | null;
}

/** A running Telegram bot. */
export interface TelegramHandle {
  readonly platform: 'telegram';
  /** The bot's @username, without the @. */
  readonly username: string;
  readonly mode: 'polling' | 'webhook';
  /** Resolves when no album is gathering and no turn is running. */
  idle(): Promise<void>;
  /** Shows a notice of background work of a `telegram:chat:<id>` scope in that chat (others are ignored). */
  notify(notice: Notice): void;
  /** Stops receiving, lets running turns finish, and resolves when they have. */
  stop(): Promise<void>;
}

/**
 * Starts the Telegram bot. Fails with a one-line ConfigError when Telegram
 * rejects the token, and with an OperatorError when the Bot API cannot be reached.
 */
export async function startTelegram(options: TelegramAdapterOptions): Promise<TelegramHandle> {
  const apiRoot = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, '');
  const bot = new Bot(options.token, { client: { apiRoot } });
  bot.api.config.use(floodControl());

  // getMe without grammY's init retries: a wrong token or root should fail now, not retry forever.
  const me = await bot.api.getMe().catch((error: unknown) => {
    throw explainStartFailure(error, apiRoot);
  });
  bot.botInfo = me;
  await bot.api.setMyCommands(COMMANDS.map((c) => ({ command: c.name, description: c.help })));

  const conversation = new TelegramConversation({
    core: options.core,
    api: bot.api,
    bot: { id: me.id, username: me.username },
    files: { apiRoot, token: options.token },
    albumQuietMs: options.albumQuietMs,
    statusIntervalMs: options.statusIntervalMs,
    statusDelayMs: options.statusDelayMs,
    book: await StatusBook.open(options.statusBookFile ?? null),
  });
  bot.on('message', (ctx) => conversation.receive(ctx.message));
  bot.catch((error) => logger.error({ err: loggable(error.error) }, 'Telegram update failed'));

  const lanes = options.webhookUrl && options.redisUrl ? await openLanes(bot, conversation, options.redisUrl) : null;
  const stopReceiving = options.webhookUrl
    ? await serveWebhook(
        bot,
        { url: options.webhookUrl, port: options.webhookPort ?? 8443, host: options.webhookHost, token: options.token },
        (update) => (lanes ? lanes.accept(update) : bot.handleUpdate(update)),
      ).catch(async (error: unknown) => {
        await lanes?.stop();
        throw error;
      })
    : await startPolling(bot, options.pollingTimeoutSeconds ?? 30);
  const mode = options.webhookUrl ? 'webhook' : 'polling';
  logger.info({ bot: me.username, mode }, 'Telegram bot started');

  let stopping: Promise<void> | null = null;
  return {
    platform: 'telegram',
    username: me.username,
    mode,
    idle: () => conversation.idle(),
    notify: (notice) => conversation.notify(notice),
    stop: () =>
      (stopping ??= (async () => {
        await stopReceiving();
        await lanes?.stop();
        await conversation.finish();
        logger.info({ bot: me.username }, 'Telegram bot stopped');
      })()),
  };
}

/** The shared intake of several webhook instances: each update once, each chat's updates in order. */
function openLanes(bot: Bot, conversation: TelegramConversation, redisUrl: string): Promise<ChatLanes> {
  return ChatLanes.open({
    redisUrl,
    botId: bot.botInfo.id,
    handle: (update) => bot.handleUpdate(update),
    chatIdle: (chatId) => conversation.chatIdle(chatId),
  });
}

async function startPolling(bot: Bot, timeoutSeconds: number): Promise<() => Promise<void>> {
  await new Promise<void>((resolve, reject) => {
    bot
      .start({ allowed_updates: ['message'], timeout: timeoutSeconds, onStart: () => resolve() })
      .then(resolve)
      .catch((error: unknown) => {
        // Only the message: a network error's cause carries the URL, and the URL the token.
        logger.error({ reason: error instanceof Error ? error.message : String(error) }, describePollingFailure(error));
        reject(explainStartFailure(error, ''));
      });
  });
  return () => bot.stop();
}

/** Biggest update body taken: an update is a few kilobytes (photos come as file ids). */
const MAX_UPDATE_BYTES = 1024 * 1024;

async function serveWebhook(
  bot: Bot,
  webhook: { url: string; port: number; host: string | undefined; token: string },
  intake: (update: Update) => Promise<void>,
): Promise<() => Promise<void>> {
  const url = new URL(webhook.url);
  // Telegram sends this header with every update, so forged posts are refused. Every instance derives the same one.
  const secretToken = createHash('sha256').update(`myvlm-telegram-webhook:${webhook.token}`).digest('hex');
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'POST' || path !== url.pathname) return void res.writeHead(404).end();
    if (!sameSecret(req.headers['x-telegram-bot-api-secret-token'], secretToken)) return void res.writeHead(401).end();
    // Answered only once the update is taken: without a 200, Telegram sends it again.
    readUpdate(req)
      .then(async (update) => {
        if (update === null) return void res.writeHead(400).end();
        await intake(update);
        res.writeHead(200).end();
      })
      .catch((error: unknown) => {
        logger.error({ err: loggable(error) }, 'webhook update failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          'TELEGRAM_WEBHOOK_PORT',
          `cannot listen on port ${webhook.port}: ${error.code ?? error.message}`,
        ),
      ),
    );
    server.listen(webhook.port, webhook.host, () => resolve());
  });
  await bot.api.setWebhook(webhook.url, { secret_token: secretToken, allowed_updates: ['message'] });
  // The webhook stays registered on stop: Telegram keeps updates until the bot (or another instance) takes them.
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
}

function sameSecret(sent: string | string[] | undefined, secret: string): boolean {
  const given = Buffer.from(typeof sent === 'string' ? sent : '');
  const expected = Buffer.from(secret);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The posted update, or null when the body is not one (too big, not JSON, no update_id). */
async function readUpdate(req: IncomingMessage): Promise<Update | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_UPDATE_BYTES) return null;
    chunks.push(chunk);
  }
  try {
    const update = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update;
    return Number.isInteger(update?.update_id) ? update : null;
  } catch {
    return null;
  }
}

/** A start failure in one line: what went wrong and what to do. */
function explainStartFailure(error: unknown, apiRoot: string): Error {
  if (error instanceof GrammyError && error.error_code === 401) {
    return new ConfigError(
      'TELEGRAM_BOT_TOKEN',
      'Telegram rejected the token (401 Unauthorized); copy it again from @BotFather',
    );
  }
  if (error instanceof GrammyError && error.error_code === 409) {
    return new OperatorError('Telegram: another program is receiving updates for this bot (409 Conflict)', {
      hint: 'Stop it, or use only one of polling and webhook.',
    });
  }
  if (error instanceof HttpError) {
    // The cause's message would show the request URL, which holds the token; its code does not.
    const code = (error.error as { code?: string } | undefined)?.code ?? 'network error';
    return new OperatorError(`Telegram: cannot reach the Bot API${apiRoot ? ` at ${apiRoot}` : ''} (${code})`, {
      hint: 'Check that this machine is online, and TELEGRAM_API_ROOT if you set it.',
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function describePollingFailure(error: unknown): string {
  return error instanceof GrammyError && error.error_code === 409
    ? 'Telegram polling stopped: another program is polling with this token'
    : 'Telegram polling stopped';
}
