// The Discord adapter: a discord.js client that logs in over the gateway,
// receives slash and message commands as interactions, and answers them
// through the core. Rate limits (429) are waited out by discord.js's REST
// client, which honours `retry_after` for every request.
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { ConversationCore, Notice } from '../../src/assistant/turn.ts';
import { OperatorError } from '../../src/errors.ts';
import { moduleLogger } from '../../src/log.ts';
import { discordCommands } from './commands.ts';
import { explainDiscordFailure, restOptions, type DiscordConnection } from './connection.ts';
import { DiscordConversation } from './conversation.ts';
import { loggable } from './loggable.ts';
import { DiscordNotices } from './notices.ts';
import { StatusBook } from '../shared/status-book.ts';
import { PROGRESS_EDIT_INTERVAL_MS } from './progress.ts';

const logger = moduleLogger('discord');

/** How long the gateway may take to say it is ready. */
const READY_TIMEOUT_MS = 30_000;

export interface DiscordAdapterOptions extends DiscordConnection {
  core: ConversationCore;
  /** Attachments larger than this are refused before download. Default 25 MB. */
  maxDownloadBytes?: number;
  /** Minimum time between progress edits of a response or of a lesson's status message. Default PROGRESS_EDIT_INTERVAL_MS. */
  progressIntervalMs?: number;
  /** The file that keeps lesson status messages open across restarts; null or absent keeps them in memory only. */
  statusBookFile?: string | null;
}

/** A running Discord bot. */
export interface DiscordHandle {
  readonly platform: 'discord';
  /** The bot user's name. */
  readonly username: string;
  /** Resolves when no turn is running. */
  idle(): Promise<void>;
  /**
   * Shows a notice of background work of a `discord:guild:<id>` scope in the
   * channel of that server's latest `/teach`, of a `discord:dm:<user>` scope
   * in the user's DM channel (others are ignored).
   */
  notify(notice: Notice): void;
  /** Lets running turns finish (new commands are told to retry), then disconnects. */
  stop(): Promise<void>;
}

/**
 * Logs the bot in and starts answering commands. Fails with a one-line
 * ConfigError when Discord rejects the token.
 */
export async function startDiscord(options: DiscordAdapterOptions): Promise<DiscordHandle> {
  // Interactions need no privileged intent; Guilds keeps the server list current.
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: restOptions(options) });
  const notices = new DiscordNotices({
    client,
    intervalMs: options.progressIntervalMs ?? PROGRESS_EDIT_INTERVAL_MS,
    book: await StatusBook.open(options.statusBookFile ?? null),
  });
  const conversation = new DiscordConversation({
    core: options.core,
    maxDownloadBytes: options.maxDownloadBytes,
    progressIntervalMs: options.progressIntervalMs,
    notices,
  });
  client.on(Events.InteractionCreate, (interaction) => conversation.receive(interaction));
  client.on(Events.Error, (error) => logger.error({ err: loggable(error) }, 'Discord client error'));
  client.on(Events.Warn, (message) => logger.warn({ message }, 'Discord client warning'));

  const ready = once(client, Events.ClientReady, { signal: AbortSignal.timeout(READY_TIMEOUT_MS) });
  ready.catch(() => undefined);
  try {
    await client.login(options.token);
    await ready;
  } catch (error) {
    await client.destroy();
    throw error instanceof Error && error.name === 'AbortError'
      ? new OperatorError('Discord: the gateway did not become ready in 30 s', {
          hint: 'Check that this machine is online, and DISCORD_GATEWAY_URL if you set it.',
        })
      : explainDiscordFailure(error);
  }
  const username = client.user?.username ?? 'bot';
  logger.info({ bot: username }, 'Discord bot started');
  await warnIfCommandsMissing(client);

  let stopping: Promise<void> | null = null;
  return {
    platform: 'discord',
    username,
    idle: () => conversation.idle(),
    notify: (notice) => notices.show(notice),
    stop: () =>
      (stopping ??= (async () => {
        await conversation.finish();
        await notices.settle();
        await client.destroy();
        logger.info({ bot: username }, 'Discord bot stopped');
      })()),
  };
}

/** Commands are registered separately; a bot without them is invisible, so say how to fix it. */
async function warnIfCommandsMissing(client: Client): Promise<void> {
  try {
    const registered = await client.application?.commands.fetch();
    const names = new Set(registered?.map((c) => c.name));
    const missing = discordCommands().filter((c) => !names.has(c.name));
    if (missing.length > 0) {
      logger.warn(
        { missing: missing.map((c) => c.name) },
        'Discord commands are not registered; run `npx myvlm discord register` once',
      );
    }
  } catch (error) {
    logger.warn({ err: loggable(error) }, 'could not read the registered Discord commands');
  }
}
