// The Telegram adapter end to end: the real grammY client over HTTP against
// the fake Bot API on loopback, with a recording core so the plumbing (albums,
// replies, privacy rules, status edits, flood control, webhook) is checked
// exactly. The real core runs in test/conformance.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Chat, User } from 'grammy/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationCore, Reply, Turn, TurnOptions } from '../../src/assistant/turn.ts';
import { ConfigError } from '../../src/errors.ts';
import { FakeTelegramServer } from '../../test/fakes/telegram-server.ts';
import { testAssistantWithTinyLlava } from '../../test/support/assistant.ts';
import { SHARED_DATA, sharedPhoto } from '../../test/support/paths.ts';
import { MISSING_ALBUM_PHOTOS_NOTE } from './albums.ts';
import { telegramScope } from './conversation.ts';
import { startTelegram, type TelegramHandle } from './telegram.ts';

const billyPhotos = [1, 2].map(
  (n) => new Uint8Array(readFileSync(path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`))),
);
const photos = ['obama.jpg', 'obama2.jpg', 'obama3.jpg', 'biden.jpg'].map(
  (f) => new Uint8Array(readFileSync(sharedPhoto('ageitgey', f))),
);

/** Records turns and answers with what the test scripts. */
class RecordingCore implements ConversationCore {
  readonly turns: Turn[] = [];
  answer: (turn: Turn, options: TurnOptions) => Promise<Reply> = (turn) =>
    Promise.resolve({ text: `ok: ${turn.text}`, images: [] });
  async handle(turn: Turn, options: TurnOptions = {}): Promise<Reply> {
    this.turns.push(turn);
    return this.answer(turn, options);
  }
}

const alice: User = { id: 501, is_bot: false, first_name: 'Alice' };
const bob: User = { id: 502, is_bot: false, first_name: 'Bob' };
const privateChat: Chat = { id: 501, type: 'private', first_name: 'Alice' };
const group: Chat = { id: -100123, type: 'supergroup', title: 'Family' };

/** Short timings, so albums close, statuses show and polling restarts within a test's patience. */
const FAST = { albumQuietMs: 150, statusIntervalMs: 100, statusDelayMs: 30, pollingTimeoutSeconds: 5 };

describe('Telegram adapter (grammY against the fake Bot API)', () => {
  let fake: FakeTelegramServer;
  let core: RecordingCore;
  let bot: TelegramHandle;

  beforeAll(async () => {
    fake = await FakeTelegramServer.start();
    core = new RecordingCore();
    bot = await startTelegram({
      core,
      token: fake.token,
      apiRoot: fake.apiRoot,
      ...FAST,
    });
  });
  afterAll(async () => {
    await bot.stop();
    await fake.close();
  });
  afterEach(() => {
    core.answer = (turn) => Promise.resolve({ text: `ok: ${turn.text}`, images: [] });
  });

  async function answerTo(messageId: number) {
    const answer = await fake.waitForBotMessage(
      (m) => m.replyTo === messageId && !m.silent,
      `the answer to message ${messageId}`,
    );
    await bot.idle();
    return answer;
  }

  it('registers the commands and polls', () => {
    expect(bot.mode).toBe('polling');
    expect(bot.username).toBe('myvlm_test_bot');
    expect(fake.commands?.map((c) => c.command)).toEqual([
      'teach',
      'notit',
      'ask',
      'caption',
      'refer',
      'concepts',
      'remember',
      'facts',
      'forget_fact',
      'rename',
      'merge',
      'forget',
      'who',
      'settings',
      'help',
    ]);
    expect(fake.callsOf('deleteWebhook')).toHaveLength(1);
  });

  it('gathers an album of 4 photos captioned /teach Anna into one turn with the full-size photos', async () => {
    const before = core.turns.length;
    const [first] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/teach Anna', photos });
    const answer = await answerTo(first.message_id);
    expect(core.turns.length - before).toBe(1);
    const turn = core.turns.at(-1)!;
    expect(turn).toMatchObject({
      scope: 'telegram:chat:501',
      user: 'telegram:user:501',
      userName: 'Alice',
      isScopeAdmin: true,
      text: '/teach Anna',
    });
    expect(turn.images.map((i) => Buffer.from(i.bytes).equals(Buffer.from(photos[turn.images.indexOf(i)])))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(answer.text).toBe('ok: /teach Anna');
  });

  it('brings the whole album of a replied-to photo into the turn', async () => {
    const album = fake.sendAsUser({ chat: privateChat, from: alice, photos: photos.slice(0, 3) });
    const command = fake.sendAsUser({
      chat: privateChat,
      from: alice,
      text: '/teach Rex object',
      replyTo: album[1],
    })[0];
    await answerTo(command.message_id);
    const turn = core.turns.find((t) => t.text === '/teach Rex object')!;
    expect(turn.images).toHaveLength(3);
    expect(Buffer.from(turn.images[2].bytes).equals(Buffer.from(photos[2]))).toBe(true);
  });

  it('takes an image sent as a document', async () => {
    const [message] = fake.sendAsUser({
      chat: privateChat,
      from: alice,
      text: '/caption',
      document: { bytes: photos[3], fileName: 'biden.jpg', mimeType: 'image/jpeg' },
    });
    await answerTo(message.message_id);
    const turn = core.turns.find((t) => t.text === '/caption')!;
    expect(turn.images.map((i) => i.name)).toEqual(['biden.jpg']);
  });

  it('answers in groups only what is addressed to the bot, without the @name', async () => {
    fake.setMemberStatus(group.id, bob.id, 'administrator');
    const before = core.turns.length;
    fake.sendAsUser({ chat: group, from: alice, text: 'hello everyone' });
    fake.sendAsUser({ chat: group, from: alice, text: '/concepts@some_other_bot' });
    const mention = fake.sendAsUser({
      chat: group,
      from: alice,
      text: '@myvlm_test_bot who is this?',
      photos: [photos[0]],
    })[0];
    await answerTo(mention.message_id);
    const command = fake.sendAsUser({ chat: group, from: bob, text: '/concepts@myvlm_test_bot' })[0];
    const answer = await answerTo(command.message_id);
    const reply = fake.sendAsUser({
      chat: group,
      from: alice,
      text: 'and now?',
      replyTo: fake.asMessage(answer, group),
    })[0];
    await answerTo(reply.message_id);
    expect(core.turns.slice(before).map((t) => [t.text, t.isScopeAdmin, t.scope])).toEqual([
      ['who is this?', false, 'telegram:chat:-100123'],
      ['/concepts', true, 'telegram:chat:-100123'],
      ['and now?', false, 'telegram:chat:-100123'],
    ]);
  });

  it('shows progress in one silent status message edited in place, then answers separately', async () => {
    core.answer = async (_turn, options) => {
      for (let step = 1; step <= 5; step++) {
        await options.onStatus?.({ text: 'Learning Anna', progress: step / 5 });
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      return { text: 'Learned Anna.', images: [] };
    };
    const [message] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/teach Anna', photos: [photos[0]] });
    const answer = await answerTo(message.message_id);
    const statuses = fake.botMessages.filter((m) => m.replyTo === message.message_id && m.silent);
    expect(statuses).toHaveLength(1);
    expect(statuses[0].history[0]).toBe('Learning Anna (20%)');
    expect(statuses[0].text).toBe('Learning Anna (100%)');
    // Once the answer is there the status message is deleted, never left frozen.
    await fake.waitFor(() => (statuses[0].deleted ? true : undefined), 'the status message deleted');
    // Throttled: 5 updates over ~300 ms at one edit per 100 ms cannot all be edits.
    expect(statuses[0].history.length).toBeLessThanOrEqual(5);
    expect(answer.text).toBe('Learned Anna.');
    expect(answer.sentAt).toBeGreaterThanOrEqual(statuses[0].sentAt);
  });

  it('shows a lesson started by /teach in one status message answering it, after the answer, edited to the final sentence', async () => {
    const lesson = { scope: telegramScope(privateChat.id), key: 'lesson-rex' };
    core.answer = (turn) => {
      bot.notify({ ...lesson, text: 'Learning Rex: about to start…', done: false });
      return Promise.resolve({ text: `ok: ${turn.text}`, images: [] });
    };
    const [message] = fake.sendAsUser({
      chat: privateChat,
      from: alice,
      text: '/teach Rex object',
      photos: [photos[0]],
    });
    const answer = await answerTo(message.message_id);
    const status = await fake.waitForBotMessage(
      (m) => m.silent && m.text.startsWith('Learning Rex:'),
      'the lesson status message',
    );
    for (let step = 1; step <= 3; step++) {
      bot.notify({
        ...lesson,
        text: `Learning Rex: step ${step} of 3 (loss 0.5)`,
        step: { at: step, of: 3 },
        done: false,
      });
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    bot.notify({ ...lesson, text: 'Learned how to talk about Rex.', done: true });
    await fake.waitFor(() => (status.text === 'Learned how to talk about Rex.' ? true : undefined), 'the final status');
    expect(status.replyTo).toBe(message.message_id);
    expect(status.chatId).toBe(privateChat.id);
    expect(status.sentAt).toBeGreaterThanOrEqual(answer.sentAt);
    expect(status.history.length).toBeGreaterThanOrEqual(2);
    expect(fake.botMessages.filter((m) => m.history.some((t) => t.startsWith('Learning Rex:')))).toEqual([status]);
  });

  it('writes a resumed lesson into its chat without a reply, and ignores other scopes', async () => {
    const before = fake.botMessages.length;
    bot.notify({ scope: 'discord:guild:5001', key: 'elsewhere', text: 'Learned how to talk about Ghost.', done: true });
    bot.notify({ scope: 'terminal:local', key: 'elsewhere', text: 'Learned how to talk about Ghost.', done: true });
    bot.notify({
      scope: telegramScope(group.id),
      key: 'resumed',
      text: 'Learning Mia: step 40 of 100 (loss 0.700)',
      step: { at: 40, of: 100 },
      done: false,
    });
    bot.notify({ scope: telegramScope(group.id), key: 'resumed', text: 'Learned how to talk about Mia.', done: true });
    const status = await fake.waitForBotMessage(
      (m) => m.text === 'Learned how to talk about Mia.',
      'the resumed lesson status',
    );
    expect(status).toMatchObject({ chatId: group.id, replyTo: null, silent: true });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(fake.botMessages.slice(before)).toEqual([status]);
  });

  it('answers quick work without a status message', async () => {
    core.answer = async (_turn, options) => {
      await options.onStatus?.({ text: 'Looking at the photo…' });
      return { text: 'Nobody I know.', images: [] };
    };
    const [message] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/caption', photos: [photos[3]] });
    await answerTo(message.message_id);
    expect(fake.botMessages.filter((m) => m.replyTo === message.message_id).map((m) => [m.text, m.silent])).toEqual([
      ['Nobody I know.', false],
    ]);
  });

  it('sends images with sendPhoto, the text as caption, and splits long text', async () => {
    core.answer = () =>
      Promise.resolve({
        text: 'Anna is here.',
        images: [{ bytes: photos[1], mimeType: 'image/jpeg', name: 'refer-anna.jpg' }],
      });
    const [refer] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/refer Anna', photos: [photos[0]] });
    const photo = await answerTo(refer.message_id);
    expect(photo.photo && Buffer.from(photo.photo).equals(Buffer.from(photos[1]))).toBe(true);
    expect(photo.text).toBe('Anna is here.');

    core.answer = () => Promise.resolve({ text: `${'word '.repeat(1500)}end`, images: [] });
    const [long] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/help' });
    await answerTo(long.message_id);
    const parts = fake.botMessages.filter((m) => m.replyTo === long.message_id);
    expect(parts.length).toBe(2);
    expect(parts.every((p) => p.text.length <= 4096)).toBe(true);
    expect(parts[1].text.endsWith('end')).toBe(true);
  });

  it('waits out a 429 for the advertised retry_after and still delivers the answer', async () => {
    fake.failNextWith429('sendMessage', 1);
    const [message] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/concepts' });
    const answer = await answerTo(message.message_id);
    expect(answer.text).toBe('ok: /concepts');
    const sends = fake
      .callsOf('sendMessage')
      .filter(
        (c) =>
          c.payload.reply_parameters &&
          (c.payload.reply_parameters as { message_id: number }).message_id === message.message_id,
      );
    expect(sends.map((c) => c.status)).toEqual([429, 200]);
    expect(sends[1].at - sends[0].at).toBeGreaterThanOrEqual(1000);
  });

  it('says so when privacy mode withheld all but the captioned photo of a group album', async () => {
    fake.privacyMode = true;
    try {
      const [first] = fake.sendAsUser({ chat: group, from: alice, text: '/teach Anna', photos: photos.slice(0, 3) });
      const answer = await answerTo(first.message_id);
      expect(core.turns.at(-1)?.images).toHaveLength(1);
      expect(answer.text).toBe(`ok: /teach Anna\n${MISSING_ALBUM_PHOTOS_NOTE}`);
      expect(answer.text).toContain('/setprivacy');
      // A photo sent alone is not an album: nothing to say.
      const [single] = fake.sendAsUser({ chat: group, from: alice, text: '/teach Bea', photos: [photos[0]] });
      expect((await answerTo(single.message_id)).text).toBe('ok: /teach Bea');
    } finally {
      fake.privacyMode = false;
    }
  });

  it('answers a failing core with an apology, not silence', async () => {
    core.answer = () => Promise.reject(new Error('boom'));
    const [message] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/concepts' });
    const answer = await answerTo(message.message_id);
    expect(answer.text).toMatch(/^Sorry, something went wrong/);
  });
});

describe('a lesson status message across a restart', () => {
  it('is paused at stop, marked interrupted at start, then edited on by the resumed lesson to its final sentence', async () => {
    const fake = await FakeTelegramServer.start();
    const statusBookFile = path.join(
      mkdtempSync(path.join(tmpdir(), 'myvlm-book-')),
      'messengers',
      'telegram-status.json',
    );
    const start = () =>
      startTelegram({
        core: new RecordingCore(),
        token: fake.token,
        apiRoot: fake.apiRoot,
        statusIntervalMs: 50,
        statusDelayMs: 10,
        pollingTimeoutSeconds: 1,
        statusBookFile,
      });
    const lesson = { scope: telegramScope(group.id), key: 'job-obama' };
    const step = (at: number) => ({
      ...lesson,
      text: `Learning Obama: step ${at} of 100`,
      step: { at, of: 100 },
      done: false,
    });
    try {
      const first = await start();
      first.notify(step(33));
      const status = await fake.waitForBotMessage((m) => m.text === 'Learning Obama: step 33 of 100', 'the status');
      await fake.waitFor(() => (existsSync(statusBookFile) ? true : undefined), 'the status book');
      await first.stop();
      expect(status.text).toBe(
        'Learning Obama: step 33 of 100\n(Paused: I am restarting, and will go on when I am back.)',
      );

      const second = await start();
      await fake.waitFor(() => (status.text.includes('Interrupted') ? true : undefined), 'the interrupted mark');
      expect(status.text).toBe(
        'Learning Obama: step 33 of 100\n(Interrupted by a restart; this message goes on when the lesson does.)',
      );
      second.notify(step(34));
      second.notify({ ...lesson, text: 'Learned how to talk about Obama.', done: true });
      await fake.waitFor(
        () => (status.text === 'Learned how to talk about Obama.' ? true : undefined),
        'the final text',
      );
      await second.stop();
      // One message all along, and nothing left open in the book.
      expect(fake.botMessages.filter((m) => m.history.some((t) => t.includes('Obama')))).toEqual([status]);
      expect(JSON.parse(readFileSync(statusBookFile, 'utf8'))).toEqual({});
    } finally {
      await fake.close();
    }
  });
});

describe('Telegram adapter showing a background lesson (real core, tiny LLaVA)', () => {
  let fake: FakeTelegramServer;
  let runtime: Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;
  let bot: TelegramHandle;
  let unsubscribe: () => void;

  beforeAll(async () => {
    runtime = await testAssistantWithTinyLlava();
    fake = await FakeTelegramServer.start();
    bot = await startTelegram({
      core: runtime.assistant,
      token: fake.token,
      apiRoot: fake.apiRoot,
      ...FAST,
    });
    unsubscribe = runtime.assistant.onNotice((notice) => bot.notify(notice));
  });
  afterAll(async () => {
    unsubscribe();
    await bot.stop();
    await fake.close();
    await runtime.close();
  });

  it('edits one status message in the chat as the lesson learns, ending with the final sentence', async () => {
    const [message] = fake.sendAsUser({
      chat: privateChat,
      from: alice,
      text: '/teach Billy object',
      photos: billyPhotos,
    });
    const answer = await fake.waitForBotMessage(
      (m) => m.replyTo === message.message_id && !m.silent,
      'the answer to /teach',
      30_000,
    );
    expect(answer.text).toMatch(/I'm also learning to describe Billy by name/);
    const status = await fake.waitForBotMessage(
      (m) => m.text === 'Learned how to talk about Billy.',
      'the end of the lesson',
      60_000,
    );
    expect(status).toMatchObject({ chatId: privateChat.id, replyTo: message.message_id, silent: true });
    expect(status.sentAt).toBeGreaterThanOrEqual(answer.sentAt);
    expect(status.history.length).toBeGreaterThanOrEqual(2);
    expect(status.history.some((text) => /^Learning Billy: step \d+ of 100 \(loss \d+\.\d{3}\)$/.test(text))).toBe(
      true,
    );
    expect(fake.botMessages.filter((m) => m.history.some((text) => text.startsWith('Learning Billy:')))).toEqual([
      status,
    ]);
  }, 60_000);
});

describe('Telegram adapter start and stop', () => {
  it('explains a rejected token in one line', async () => {
    const fake = await FakeTelegramServer.start();
    try {
      const start = startTelegram({
        core: new RecordingCore(),
        token: '999:wrong-token-wrong-token-wrong',
        apiRoot: fake.apiRoot,
      });
      await expect(start).rejects.toBeInstanceOf(ConfigError);
      await expect(start).rejects.toThrow(
        /^TELEGRAM_BOT_TOKEN: Telegram rejected the token \(401 Unauthorized\)[^\n]*$/,
      );
    } finally {
      await fake.close();
    }
  });

  it('lets a running turn finish on stop', async () => {
    const fake = await FakeTelegramServer.start();
    const core = new RecordingCore();
    let release: () => void = () => {};
    core.answer = () => new Promise((resolve) => (release = () => resolve({ text: 'finished', images: [] })));
    const bot = await startTelegram({ core, token: fake.token, apiRoot: fake.apiRoot, pollingTimeoutSeconds: 5 });
    const [message] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/concepts' });
    await expect.poll(() => core.turns.length).toBe(1);
    const stopped = bot.stop();
    setTimeout(() => release(), 200);
    await stopped;
    expect(fake.botMessages.find((m) => m.replyTo === message.message_id)?.text).toBe('finished');
    await fake.close();
  });

  it('receives updates through a webhook with a secret token', async () => {
    const fake = await FakeTelegramServer.start();
    const core = new RecordingCore();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const bot = await startTelegram({
      core,
      token: fake.token,
      apiRoot: fake.apiRoot,
      webhookUrl: `http://127.0.0.1:${port}/telegram`,
      webhookPort: port,
      webhookHost: '127.0.0.1',
    });
    try {
      expect(bot.mode).toBe('webhook');
      expect(fake.webhook?.url).toBe(`http://127.0.0.1:${port}/telegram`);
      expect(fake.webhook?.secretToken).toMatch(/^[0-9a-f]{64}$/);
      const [message] = fake.sendAsUser({ chat: privateChat, from: alice, text: '/help' });
      const answer = await fake.waitForBotMessage((m) => m.replyTo === message.message_id, 'the webhook answer');
      expect(answer.text).toBe('ok: /help');
      // A post without the secret is refused.
      const forged = await fetch(`http://127.0.0.1:${port}/telegram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(forged.status).toBe(401);
    } finally {
      await bot.stop();
      await fake.close();
    }
  });
});
