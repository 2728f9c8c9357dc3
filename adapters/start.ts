// Starts the adapters the settings ask for (Telegram, Discord, the web app,
// any of them at once), says which it started, and stops them gracefully: on
// stop() or on SIGINT/SIGTERM, new messages are no longer taken and running
// turns finish (within a grace period) before the process moves on. Each started adapter is subscribed
// to the core's notices (background lessons), so it can show their progress.
// The CLI opens the terminal chat beside the web app when no messenger is configured.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SHUTDOWN_GRACE_SECONDS } from '../src/config/defaults.ts';
import { ConfigError, OperatorError } from '../src/errors.ts';
import type { Settings } from '../src/config/settings.ts';
import type { ConversationCore } from '../src/assistant/turn.ts';
import { moduleLogger } from '../src/log.ts';
import type { ConceptStore } from '../src/memory/store.ts';
import { startDiscord, type DiscordHandle } from './discord/discord.ts';
import { startTelegram, type TelegramHandle } from './telegram/telegram.ts';
import { startWeb, type WebHandle } from './web/web.ts';

const logger = moduleLogger('adapters');

export type AdapterHandle = TelegramHandle | DiscordHandle | WebHandle;

export interface StartedAdapters {
  adapters: AdapterHandle[];
  /** What runs, for people: "Telegram (@my_bot, long polling) and the web app (http://127.0.0.1:8437/)". */
  description: string;
  /** Stops every adapter after its running turns finish (or the grace runs out); safe to call twice. */
  stop(): Promise<void>;
  /** Resolves once the adapters have stopped (by stop() or by a signal): true when every running turn finished in time. */
  stopped: Promise<boolean>;
}

export interface StartAdaptersOptions {
  /** Signals that stop the adapters gracefully; a second one ends the process at once. Default SIGINT and SIGTERM; [] for none. */
  signals?: NodeJS.Signals[];
  /** Start the messengers the settings name. Default true; false beside the terminal chat. */
  messengers?: boolean;
  /** How long a stop waits for running turns before it gives up on them. Default SHUTDOWN_GRACE_SECONDS. */
  graceMs?: number;
  /** Start the web app too (unless MYVLM_WEB_PORT=off), its gallery read from the store the core writes to. */
  web?: { store: ConceptStore };
}

/** Whether the settings name any messenger; without one, the CLI opens the terminal chat. */
export function hasMessengerSettings(settings: Pick<Settings, 'telegram' | 'discord'>): boolean {
  return settings.telegram !== null || settings.discord !== null;
}

/**
 * Starts Telegram, Discord and the web app as settings and options say. A
 * rejected token, an unreachable server or a busy port fails with an
 * OperatorError of one line per adapter, and what to do as its hint (and
 * stops any adapter that did start), never a stack trace.
 */
export async function startAdapters(
  settings: Pick<Settings, 'telegram' | 'discord' | 'web' | 'maxImageBytes' | 'dataDir' | 'vlm'>,
  core: ConversationCore,
  options: StartAdaptersOptions = {},
): Promise<StartedAdapters> {
  const messengers = (options.messengers ?? true) && hasMessengerSettings(settings);
  const web = options.web && settings.web ? { ...options.web, settings: settings.web } : null;
  if (!messengers && web === null) {
    throw new ConfigError(
      'TELEGRAM_BOT_TOKEN',
      'no messenger is configured; set TELEGRAM_BOT_TOKEN, or DISCORD_TOKEN and DISCORD_APPLICATION_ID',
    );
  }
  const starting: Array<{ platform: string; start: Promise<AdapterHandle> }> = [];
  if (web !== null)
    starting.push({
      platform: 'The web app',
      start: startWeb({ core, store: web.store, web: web.settings, settings }),
    });
  if (messengers && settings.telegram) {
    const telegram = settings.telegram;
    starting.push({
      platform: 'Telegram',
      start: startTelegram({
        core,
        token: telegram.token,
        apiRoot: telegram.apiRoot,
        webhookUrl: telegram.webhookUrl,
        webhookPort: telegram.webhookPort,
        redisUrl: telegram.redisUrl,
        statusBookFile: statusBookFile(settings.dataDir, 'telegram'),
      }),
    });
  }
  if (messengers && settings.discord) {
    starting.push({
      platform: 'Discord',
      start: startDiscord({
        core,
        ...settings.discord,
        maxDownloadBytes: settings.maxImageBytes,
        statusBookFile: statusBookFile(settings.dataDir, 'discord'),
      }),
    });
  }
  const results = await Promise.allSettled(starting.map((s) => s.start));
  const adapters = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ platform: starting[i].platform, error: r.reason as unknown }] : [],
  );
  if (failures.length > 0) {
    await Promise.all(adapters.map((a) => a.stop()));
    const unexpected = failures.find((f) => !(f.error instanceof OperatorError));
    if (unexpected) throw unexpected.error;
    const explained = failures.map((f) => ({ platform: f.platform, error: f.error as OperatorError }));
    const hints = [...new Set(explained.flatMap(({ error }) => (error.hint ? [error.hint] : [])))];
    throw new OperatorError(explained.map(({ platform, error }) => oneLine(platform, error)).join('\n'), {
      hint: hints.join(' ') || undefined,
    });
  }

  const unsubscribes = adapters.map((adapter) => subscribe(core, adapter));
  const description = adapters.map(describe).join(' and ');
  logger.info({ adapters: adapters.map((a) => a.platform) }, `started ${description}`);

  let resolveStopped: (finished: boolean) => void = () => {};
  const stopped = new Promise<boolean>((resolve) => (resolveStopped = resolve));
  const graceMs = options.graceMs ?? SHUTDOWN_GRACE_SECONDS * 1000;
  let stopping: Promise<void> | null = null;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: the person does not want to wait. Let the default handler end the process.
      removeSignalHandlers();
      logger.warn({ signal }, 'stopping now, without waiting for running turns');
      process.kill(process.pid, signal);
      return;
    }
    logger.info({ signal }, 'stopping: finishing running turns (send the signal again to stop at once)');
    void stop();
  };
  const removeSignalHandlers = () => signals.forEach((signal) => process.off(signal, onSignal));
  const stop = () =>
    (stopping ??= (async () => {
      // No new status messages once stopping; the adapters still send edits already pending.
      unsubscribes.forEach((unsubscribe) => unsubscribe());
      const finished = await Promise.race([
        Promise.all(adapters.map((a) => a.stop())).then(() => true),
        sleep(graceMs, false, { ref: false }),
      ]);
      removeSignalHandlers();
      if (finished) logger.info(`stopped ${description}`);
      else logger.warn({ graceMs }, `stopped ${description} without waiting longer for running turns`);
      resolveStopped(finished);
    })());
  signals.forEach((signal) => process.on(signal, onSignal));

  return { adapters, description, stop, stopped };
}

/** Hands the core's notices to one adapter; returns the unsubscribe function (a no-op for a core without notices). */
function subscribe(core: ConversationCore, adapter: AdapterHandle): () => void {
  if (!core.onNotice) return () => {};
  return core.onNotice((notice) => {
    try {
      adapter.notify(notice);
    } catch (error) {
      logger.warn({ err: error, platform: adapter.platform }, 'showing a notice failed');
    }
  });
}

/** Where a messenger keeps its open lesson status messages: beside the memory they report on. */
function statusBookFile(dataDir: string, platform: 'telegram' | 'discord'): string {
  return path.join(dataDir, 'messengers', `${platform}-status.json`);
}

function describe(adapter: AdapterHandle): string {
  switch (adapter.platform) {
    case 'telegram':
      return `Telegram (@${adapter.username}, ${adapter.mode === 'webhook' ? 'webhook' : 'long polling'})`;
    case 'discord':
      return `Discord (${adapter.username})`;
    case 'web':
      return `the web app (${adapter.url})`;
  }
}

/** "Telegram: ..." unless the message already names its messenger or variable. */
function oneLine(platform: string, error: OperatorError): string {
  const message = error.message.split('\n')[0];
  return message.startsWith(platform) || /^[A-Z_]+: /.test(message) ? message : `${platform}: ${message}`;
}
