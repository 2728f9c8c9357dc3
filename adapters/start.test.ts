// Starting the messengers from settings: both at once, a one-line answer to a
// bad token, and a graceful stop on a signal that lets running turns finish.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationCore, Notice, Reply, Turn } from '../src/assistant/turn.ts';
import { loadSettings } from '../src/config/settings.ts';
import { ConfigError, OperatorError } from '../src/errors.ts';
import { FakeDiscordServer } from '../test/fakes/discord-server.ts';
import { FakeTelegramServer } from '../test/fakes/telegram-server.ts';
import { KeyvConceptStore } from '../src/memory/keyv-store.ts';
import { hasMessengerSettings, startAdapters } from './start.ts';

/** Answers every turn after `release()` is called, to hold a turn in flight. */
class HeldCore implements ConversationCore {
  readonly turns: Turn[] = [];
  private releases: Array<() => void> = [];
  async handle(turn: Turn): Promise<Reply> {
    this.turns.push(turn);
    await new Promise<void>((resolve) => this.releases.push(resolve));
    return { text: `done: ${turn.text}`, images: [] };
  }
  release(): void {
    this.releases.splice(0).forEach((r) => r());
  }
}

/** Answers at once and publishes the notices the test gives it, as the assistant does for lessons. */
class NoticeCore implements ConversationCore {
  readonly listeners = new Set<(notice: Notice) => void>();
  handle(turn: Turn): Promise<Reply> {
    return Promise.resolve({ text: `done: ${turn.text}`, images: [] });
  }
  onNotice(listener: (notice: Notice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(notice: Notice): void {
    for (const listener of this.listeners) listener(notice);
  }
}

describe('startAdapters', () => {
  let telegram: FakeTelegramServer;
  let discord: FakeDiscordServer;
  beforeEach(async () => {
    telegram = await FakeTelegramServer.start();
    discord = await FakeDiscordServer.start();
  });
  afterEach(async () => {
    await telegram.close();
    await discord.close();
  });

  function settings(overrides: Record<string, string> = {}) {
    return loadSettings({
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      MYVLM_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'myvlm-start-')),
      ...overrides,
    });
  }

  it('starts Telegram and Discord together, says so, and stops on a signal after running turns finish', async () => {
    const core = new HeldCore();
    const started = await startAdapters(settings(), core, { signals: ['SIGUSR2'] });
    expect(started.adapters.map((a) => a.platform)).toEqual(['telegram', 'discord']);
    expect(started.description).toBe('Telegram (@myvlm_test_bot, long polling) and Discord (MyVLM)');

    const [message] = telegram.sendAsUser({
      chat: { id: 5, type: 'private', first_name: 'A' },
      from: { id: 5, is_bot: false, first_name: 'A' },
      text: '/concepts',
    });
    const interaction = discord.dispatchSlashCommand({ user: { id: '9', username: 'b' }, name: 'concepts' });
    await expect.poll(() => core.turns.length).toBe(2);

    process.emit('SIGUSR2', 'SIGUSR2');
    let stopped = false;
    void started.stopped.then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped).toBe(false);
    core.release();
    expect(await started.stopped).toBe(true);
    expect(telegram.botMessages.find((m) => m.replyTo === message.message_id)?.text).toBe('done: /concepts');
    expect(interaction.original?.content).toBe('done: /concepts');
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });

  it('stops without waiting past the grace period for a turn still running', async () => {
    const core = new HeldCore();
    const started = await startAdapters(settings({ DISCORD_TOKEN: '', DISCORD_APPLICATION_ID: '' }), core, {
      signals: [],
      graceMs: 300,
    });
    telegram.sendAsUser({
      chat: { id: 6, type: 'private', first_name: 'A' },
      from: { id: 6, is_bot: false, first_name: 'A' },
      text: '/concepts',
    });
    await expect.poll(() => core.turns.length).toBe(1);
    const begun = Date.now();
    await started.stop();
    expect(await started.stopped).toBe(false);
    expect(Date.now() - begun).toBeGreaterThanOrEqual(290);
    expect(Date.now() - begun).toBeLessThan(3_000);
    core.release();
  });

  it("hands the core's notices to every messenger and unsubscribes them on stop", async () => {
    const core = new NoticeCore();
    const started = await startAdapters(settings(), core, { signals: [] });
    expect(core.listeners.size).toBe(2);
    core.emit({ scope: 'telegram:chat:5', key: 'lesson-rex', text: 'Learned how to talk about Rex.', done: true });
    core.emit({ scope: 'discord:dm:9', key: 'lesson-mia', text: 'Learned how to talk about Mia.', done: true });
    const shown = await telegram.waitForBotMessage(
      (m) => m.text === 'Learned how to talk about Rex.',
      'the Telegram status message',
    );
    expect(shown.chatId).toBe(5);
    const posted = await discord.waitFor(
      () => discord.channelMessages.find((m) => m.content === 'Learned how to talk about Mia.'),
      'the Discord status message',
    );
    expect(posted.channelId).toBe(discord.channelFor({ user: { id: '9', username: 'b' } }));
    await started.stop();
    expect(core.listeners.size).toBe(0);
  });

  it('explains bad tokens in one line per messenger and leaves nothing running', async () => {
    const start = startAdapters(
      settings({ TELEGRAM_BOT_TOKEN: '42:this-token-is-not-the-fake-one', DISCORD_TOKEN: 'wrong' }),
      new HeldCore(),
      { signals: [] },
    );
    const error = await start.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).hint).toBe('Fix it in the environment or in .env (see .env.example).');
    expect((error as Error).message.split('\n')).toEqual([
      'TELEGRAM_BOT_TOKEN: Telegram rejected the token (401 Unauthorized); copy it again from @BotFather',
      'DISCORD_TOKEN: Discord rejected the token (401 Unauthorized); copy it again from the Bot page of the developer portal',
    ]);
  });

  it('stops the messenger that started when the other fails', async () => {
    const error = await startAdapters(settings({ DISCORD_TOKEN: 'wrong' }), new HeldCore(), { signals: [] }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/^DISCORD_TOKEN: /);
    // The Telegram bot started, then stopped: its last call confirms the update offset.
    await expect.poll(() => telegram.callsOf('getUpdates').some((c) => c.payload.limit === 1)).toBe(true);
  });

  it('needs at least one messenger, or the web app', async () => {
    const none = loadSettings({});
    expect(hasMessengerSettings(none)).toBe(false);
    await expect(startAdapters(none, new HeldCore(), { signals: [] })).rejects.toBeInstanceOf(ConfigError);
  });

  it('starts the web app beside the messengers, shows it notices of its scope, and leaves it out when off', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'myvlm-start-web-'));
    const store = await KeyvConceptStore.open({ directory: dataDir });
    const core = new NoticeCore();
    const started = await startAdapters(settings({ MYVLM_WEB_PORT: '0' }), core, { web: { store }, signals: [] });
    try {
      expect(started.adapters.map((a) => a.platform)).toEqual(['web', 'telegram', 'discord']);
      const web = started.adapters[0];
      expect(web.platform === 'web' && web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(started.description).toMatch(
        /^the web app \(http:\/\/127\.0\.0\.1:\d+\/\) and Telegram \(@\w+, long polling\) and Discord \(.+\)$/,
      );
      expect(core.listeners.size).toBe(3);
    } finally {
      await started.stop();
    }
    expect(core.listeners.size).toBe(0);
    const off = await startAdapters(settings({ MYVLM_WEB_PORT: 'off' }), core, { web: { store }, signals: [] });
    expect(off.adapters.map((a) => a.platform)).toEqual(['telegram', 'discord']);
    await off.stop();
    await store.close();
  });

  it('says which port is in use when the web app cannot listen', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'myvlm-start-web-'));
    const store = await KeyvConceptStore.open({ directory: dataDir });
    const first = await startAdapters(loadSettings({ MYVLM_WEB_PORT: '0', MYVLM_DATA_DIR: dataDir }), new HeldCore(), {
      messengers: false,
      web: { store },
      signals: [],
    });
    const taken = new URL((first.adapters[0] as { url: string }).url).port;
    const error = await startAdapters(
      loadSettings({ MYVLM_WEB_PORT: taken, MYVLM_DATA_DIR: dataDir }),
      new HeldCore(),
      {
        web: { store },
        signals: [],
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toBe(
      `The web app cannot listen on 127.0.0.1:${taken}: the port is in use.`,
    );
    expect((error as OperatorError).hint).toBe(
      'Set MYVLM_WEB_PORT to a free port, or MYVLM_WEB_PORT=off to run without the web app.',
    );
    await first.stop();
    await store.close();
  });
});
