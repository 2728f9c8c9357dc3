// The Discord adapter end to end: the real discord.js client over HTTP and
// WebSocket against the fake Discord on loopback, with a recording core so
// the plumbing (deferral, attachments, progress edits, scopes, permissions,
// rate limits, registration) is checked exactly. The real core runs in
// test/conformance.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationCore, Reply, Turn, TurnOptions } from '../../src/assistant/turn.ts';
import { ConfigError } from '../../src/errors.ts';
import { FakeDiscordServer, type FakeInteraction } from '../../test/fakes/discord-server.ts';
import { testAssistantWithTinyLlava } from '../../test/support/assistant.ts';
import { SHARED_DATA, sharedPhoto } from '../../test/support/paths.ts';
import { DESCRIBE_MESSAGE_COMMAND, discordCommands, registerDiscordCommands } from './commands.ts';
import { startDiscord, type DiscordHandle } from './discord.ts';

const photos = ['obama.jpg', 'obama2.jpg', 'obama3.jpg', 'biden.jpg'].map(
  (f) => new Uint8Array(readFileSync(sharedPhoto('ageitgey', f))),
);
const billyPhotos = [1, 2].map((n) => ({
  bytes: new Uint8Array(readFileSync(path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`))),
  filename: `billy_dog_${n}.jpg`,
  contentType: 'image/jpeg',
}));
const jpeg = (i: number, filename = `p${i}.jpg`) => ({ bytes: photos[i], filename, contentType: 'image/jpeg' });

class RecordingCore implements ConversationCore {
  readonly turns: Turn[] = [];
  answer: (turn: Turn, options: TurnOptions) => Promise<Reply> = (turn) =>
    Promise.resolve({ text: `ok: ${turn.text}`, images: [] });
  async handle(turn: Turn, options: TurnOptions = {}): Promise<Reply> {
    this.turns.push(turn);
    return this.answer(turn, options);
  }
}

const alice = { id: '301', username: 'alice' };
const bob = { id: '302', username: 'bob' };

describe('Discord adapter (discord.js against the fake Discord)', () => {
  let fake: FakeDiscordServer;
  let core: RecordingCore;
  let bot: DiscordHandle;

  beforeAll(async () => {
    fake = await FakeDiscordServer.start();
    core = new RecordingCore();
    bot = await startDiscord({
      core,
      token: fake.token,
      applicationId: fake.applicationId,
      apiUrl: fake.apiUrl,
      progressIntervalMs: 100,
    });
  });
  afterAll(async () => {
    await bot.stop();
    await fake.close();
  });
  afterEach(() => {
    core.answer = (turn) => Promise.resolve({ text: `ok: ${turn.text}`, images: [] });
  });

  async function finished(interaction: FakeInteraction): Promise<FakeInteraction> {
    await fake.waitFor(() => (interaction.callbacks.length > 0 ? true : undefined), 'the deferral');
    await bot.idle();
    return interaction;
  }

  it('logs in through the gateway the REST API advertises', () => {
    expect(fake.identified).toBe(1);
    expect(bot.username).toBe('MyVLM');
  });

  it('turns /teach with 4 attachments into one turn with 4 photos, deferred within 3 s', async () => {
    const interaction = await finished(
      fake.dispatchSlashCommand({
        user: alice,
        guildId: '5001',
        name: 'teach',
        options: [
          { name: 'name', type: 'string', value: 'Anna' },
          { name: 'photo1', type: 'attachment', file: jpeg(0) },
          { name: 'kind', type: 'string', value: 'person' },
          { name: 'photo2', type: 'attachment', file: jpeg(1) },
          { name: 'photo3', type: 'attachment', file: jpeg(2) },
          { name: 'photo4', type: 'attachment', file: jpeg(3) },
        ],
      }),
    );
    expect(interaction.callbacks.map((c) => c.type)).toEqual([5]);
    expect(interaction.callbacks[0].at - interaction.dispatchedAt).toBeLessThan(3000);
    const turn = core.turns.at(-1)!;
    expect(turn).toMatchObject({
      scope: 'discord:guild:5001',
      user: 'discord:user:301',
      isScopeAdmin: false,
      text: '/teach Anna person',
    });
    expect(turn.images.map((image, i) => Buffer.from(image.bytes).equals(Buffer.from(photos[i])))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(interaction.original?.content).toBe('ok: /teach Anna person');
  });

  it('uses the user scope in DMs and server permissions for administration', async () => {
    const before = core.turns.length;
    // Bob as a plain member of server 5002: every option a string, except numbers (integer options).
    const asMember = (name: string, values: Record<string, string | number>) =>
      finished(
        fake.dispatchSlashCommand({
          user: bob,
          guildId: '5002',
          permissions: PermissionFlagsBits.SendMessages,
          name,
          options: Object.entries(values).map(([option, value]) =>
            typeof value === 'number'
              ? { name: option, type: 'integer' as const, value }
              : { name: option, type: 'string' as const, value },
          ),
        }),
      );
    await finished(fake.dispatchSlashCommand({ user: bob, name: 'concepts' }));
    await finished(
      fake.dispatchSlashCommand({
        user: bob,
        guildId: '5001',
        permissions: PermissionFlagsBits.ManageGuild,
        name: 'forget',
        options: [{ name: 'name', type: 'string', value: 'Anna' }],
      }),
    );
    await finished(
      fake.dispatchSlashCommand({
        user: bob,
        guildId: '5002',
        permissions: PermissionFlagsBits.Administrator,
        name: 'concepts',
      }),
    );
    await asMember('remember', { name: 'Anna', fact: 'loves horses' });
    await asMember('rename', { name: 'Anna', new_name: 'Anna Maria' });
    await asMember('merge', { name: 'Annie', into: 'Anna Maria' });
    await asMember('facts', { name: 'Anna Maria' });
    await asMember('forget_fact', { name: 'Anna Maria', fact: '1' });
    await asMember('who', { number: 2, name: 'Anna Maria' });
    await asMember('settings', { setting: 'remember-faces', value: 'on' });
    expect(core.turns.slice(before).map((t) => [t.scope, t.isScopeAdmin, t.text])).toEqual([
      ['discord:dm:302', true, '/concepts'],
      ['discord:guild:5001', true, '/forget Anna'],
      ['discord:guild:5002', true, '/concepts'],
      ['discord:guild:5002', false, '/remember Anna loves horses'],
      ['discord:guild:5002', false, '/rename Anna to Anna Maria'],
      ['discord:guild:5002', false, '/merge Annie into Anna Maria'],
      ['discord:guild:5002', false, '/facts Anna Maria'],
      ['discord:guild:5002', false, '/forget_fact Anna Maria 1'],
      ['discord:guild:5002', false, '/who 2 Anna Maria'],
      ['discord:guild:5002', false, '/settings remember-faces on'],
    ]);
  });

  it('describes the photos of a message from the context menu', async () => {
    const interaction = await finished(
      fake.dispatchMessageCommand({
        user: alice,
        guildId: '5001',
        name: DESCRIBE_MESSAGE_COMMAND,
        target: [
          { bytes: Buffer.from('notes'), filename: 'notes.txt', contentType: 'text/plain' },
          jpeg(3, 'biden.jpg'),
        ],
      }),
    );
    const turn = core.turns.at(-1)!;
    expect(turn.text).toBe('/caption');
    expect(turn.images.map((i) => i.name)).toEqual(['biden.jpg']);
    expect(interaction.original?.content).toBe('ok: /caption');
  });

  it('edits the deferred response with progress, then the answer with images attached', async () => {
    core.answer = async (_turn, options) => {
      for (let step = 1; step <= 3; step++) {
        await options.onStatus?.({ text: 'Learning Anna', progress: step / 3 });
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      return { text: 'Anna is here.', images: [{ bytes: photos[1], mimeType: 'image/jpeg', name: 'refer-anna.jpg' }] };
    };
    const interaction = await finished(
      fake.dispatchSlashCommand({
        user: alice,
        guildId: '5001',
        name: 'refer',
        options: [
          { name: 'name', type: 'string', value: 'Anna' },
          { name: 'photo', type: 'attachment', file: jpeg(0) },
        ],
      }),
    );
    expect(interaction.original?.history.slice(0, -1)).toContain('Learning Anna (33%)');
    expect(interaction.original?.content).toBe('Anna is here.');
    expect(interaction.original?.files.map((f) => f.name)).toEqual(['refer-anna.jpg']);
    expect(interaction.original?.files[0].bytes.equals(Buffer.from(photos[1]))).toBe(true);
  });

  it("puts a server's lesson in one message in the channel of its /teach, after the answer, edited to the final sentence", async () => {
    const lesson = { scope: 'discord:guild:5001', key: 'lesson-rex' };
    core.answer = (turn) => {
      bot.notify({ ...lesson, text: 'Learning Rex: about to start…', done: false });
      return Promise.resolve({ text: `ok: ${turn.text}`, images: [] });
    };
    const teach = await finished(
      fake.dispatchSlashCommand({
        user: alice,
        guildId: '5001',
        name: 'teach',
        options: [
          { name: 'name', type: 'string', value: 'Rex' },
          { name: 'photo1', type: 'attachment', file: jpeg(0) },
        ],
      }),
    );
    const channelId = fake.channelFor({ user: alice, guildId: '5001' });
    const status = await fake.waitFor(
      () => fake.channelMessages.find((m) => m.content.startsWith('Learning Rex:')),
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
    await fake.waitFor(
      () => (status.content === 'Learned how to talk about Rex.' ? true : undefined),
      'the final status',
    );
    expect(status.channelId).toBe(channelId);
    expect(status.history.length).toBeGreaterThanOrEqual(2);
    expect(fake.channelMessages.filter((m) => m.history.some((text) => text.startsWith('Learning Rex:')))).toEqual([
      status,
    ]);
    const answered = fake.requestsTo('PATCH', new RegExp(`${teach.token}/messages/@original$`)).at(-1)!;
    const posted = fake.requestsTo('POST', new RegExp(`^/api/v10/channels/${channelId}/messages$`)).at(-1)!;
    expect(posted.at).toBeGreaterThanOrEqual(answered.at);
  });

  it("puts a DM user's lesson in their DM channel even after a restart, and skips a server with no known channel", async () => {
    const before = fake.channelMessages.length;
    bot.notify({
      scope: 'discord:guild:5999',
      key: 'no-channel',
      text: 'Learned how to talk about Ghost.',
      done: true,
    });
    bot.notify({ scope: 'telegram:chat:501', key: 'elsewhere', text: 'Learned how to talk about Ghost.', done: true });
    bot.notify({
      scope: `discord:dm:${bob.id}`,
      key: 'resumed',
      text: 'Learning Mia: step 40 of 100 (loss 0.700)',
      step: { at: 40, of: 100 },
      done: false,
    });
    bot.notify({ scope: `discord:dm:${bob.id}`, key: 'resumed', text: 'Learned how to talk about Mia.', done: true });
    const status = await fake.waitFor(
      () => fake.channelMessages.find((m) => m.content === 'Learned how to talk about Mia.'),
      'the DM lesson status',
    );
    expect(fake.dmChannels.get(bob.id)).toBe(fake.channelFor({ user: bob }));
    expect(status.channelId).toBe(fake.channelFor({ user: bob }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(fake.channelMessages.slice(before)).toEqual([status]);
  });

  it('continues text past 2000 characters in follow-ups', async () => {
    core.answer = () => Promise.resolve({ text: `${'word '.repeat(700)}end`, images: [] });
    const interaction = await finished(fake.dispatchSlashCommand({ user: alice, name: 'help' }));
    expect(interaction.original?.content.length).toBeLessThanOrEqual(2000);
    expect(interaction.followups).toHaveLength(1);
    expect(interaction.followups[0].content.endsWith('end')).toBe(true);
  });

  it('waits out a 429 for the advertised retry_after and still delivers the answer', async () => {
    fake.failNextWith429('PATCH', /\/messages\/@original$/, 1);
    const interaction = await finished(fake.dispatchSlashCommand({ user: alice, name: 'concepts' }));
    expect(interaction.original?.content).toBe('ok: /concepts');
    const edits = fake.requestsTo('PATCH', new RegExp(`${interaction.token}/messages/@original$`));
    expect(edits.map((e) => e.status)).toEqual([429, 200]);
    expect(edits[1].at - edits[0].at).toBeGreaterThanOrEqual(1000);
  });

  it('answers a failing core with an apology', async () => {
    core.answer = () => Promise.reject(new Error('boom'));
    const interaction = await finished(fake.dispatchSlashCommand({ user: alice, name: 'concepts' }));
    expect(interaction.original?.content).toMatch(/^Sorry, something went wrong/);
  });
});

describe('Discord adapter showing a background lesson (real core, tiny LLaVA)', () => {
  let fake: FakeDiscordServer;
  let runtime: Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;
  let bot: DiscordHandle;
  let unsubscribe: () => void;

  beforeAll(async () => {
    runtime = await testAssistantWithTinyLlava();
    fake = await FakeDiscordServer.start();
    bot = await startDiscord({
      core: runtime.assistant,
      token: fake.token,
      applicationId: fake.applicationId,
      apiUrl: fake.apiUrl,
      progressIntervalMs: 100,
    });
    unsubscribe = runtime.assistant.onNotice((notice) => bot.notify(notice));
  });
  afterAll(async () => {
    unsubscribe();
    await bot.stop();
    await fake.close();
    await runtime.close();
  });

  it('edits one message in the /teach channel as the lesson learns, ending with the final sentence', async () => {
    const options = [
      { name: 'name', type: 'string' as const, value: 'Billy' },
      { name: 'kind', type: 'string' as const, value: 'object' },
      ...billyPhotos.map((file, i) => ({ name: `photo${i + 1}`, type: 'attachment' as const, file })),
    ];
    const teach = fake.dispatchSlashCommand({ user: alice, guildId: '5003', name: 'teach', options });
    await fake.waitFor(
      () => (teach.original?.content.startsWith('Nice to meet') ? true : undefined),
      'the answer to /teach',
      30_000,
    );
    expect(teach.original?.content).toMatch(/I'm also learning to describe Billy by name/);
    const status = await fake.waitFor(
      () => fake.channelMessages.find((m) => m.content === 'Learned how to talk about Billy.'),
      'the end of the lesson',
      60_000,
    );
    expect(status.channelId).toBe(fake.channelFor({ user: alice, guildId: '5003' }));
    expect(status.history.length).toBeGreaterThanOrEqual(2);
    expect(status.history.some((text) => /^Learning Billy: step \d+ of 100 \(loss \d+\.\d{3}\)$/.test(text))).toBe(
      true,
    );
    expect(fake.channelMessages.filter((m) => m.history.some((text) => text.startsWith('Learning Billy:')))).toEqual([
      status,
    ]);
  }, 60_000);
});

describe('Discord commands, start and stop', () => {
  it('registers slash commands with attachment options and the message command', async () => {
    const fake = await FakeDiscordServer.start();
    try {
      const settings = {
        discord: { token: fake.token, applicationId: fake.applicationId, apiUrl: fake.apiUrl, gatewayUrl: null },
      };
      expect(await registerDiscordCommands(settings)).toEqual({
        scope: 'global',
        names: [...discordCommands().map((c) => c.name)],
      });
      expect((await registerDiscordCommands(settings, { guildId: '5001' })).scope).toBe('5001');
      const teach = fake.commands.get('global')!.find((c) => c.name === 'teach') as {
        options: Array<{ name: string; type: number; required?: boolean; max_length?: number }>;
      };
      // Room for a group photo's names, "Anna, Bob, Carol", each up to 40 characters.
      expect(teach.options[0].max_length).toBe(200);
      expect(teach.options.map((o) => [o.name, o.type, o.required ?? false])).toEqual([
        ['name', 3, true],
        ['photo1', 11, true],
        ['kind', 3, false],
        ['photo2', 11, false],
        ['photo3', 11, false],
        ['photo4', 11, false],
      ]);
      expect(fake.commands.get('global')!.find((c) => c.name === DESCRIBE_MESSAGE_COMMAND)?.type).toBe(3);
      await expect(
        registerDiscordCommands({ discord: { ...settings.discord, token: 'wrong' } }),
      ).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await fake.close();
    }
  });

  it('explains a rejected token in one line', async () => {
    const fake = await FakeDiscordServer.start();
    try {
      const start = startDiscord({
        core: new RecordingCore(),
        token: 'wrong-token',
        applicationId: fake.applicationId,
        apiUrl: fake.apiUrl,
      });
      await expect(start).rejects.toThrow(/^DISCORD_TOKEN: Discord rejected the token \(401 Unauthorized\)[^\n]*$/);
    } finally {
      await fake.close();
    }
  });

  it('connects to a configured gateway URL instead of the advertised one', async () => {
    const fake = await FakeDiscordServer.start();
    const elsewhere = await FakeDiscordServer.start({ token: fake.token });
    const bot = await startDiscord({
      core: new RecordingCore(),
      token: fake.token,
      applicationId: fake.applicationId,
      apiUrl: fake.apiUrl,
      gatewayUrl: elsewhere.gatewayUrl,
    });
    try {
      expect([fake.identified, elsewhere.identified]).toEqual([0, 1]);
      expect(fake.requestsTo('GET', /^\/api\/v10\/gateway\/bot$/)).toHaveLength(1);
    } finally {
      await bot.stop();
      await fake.close();
      await elsewhere.close();
    }
  });

  it('lets a running turn finish on stop and tells newcomers to retry', async () => {
    const fake = await FakeDiscordServer.start();
    const core = new RecordingCore();
    let release: () => void = () => {};
    core.answer = () => new Promise((resolve) => (release = () => resolve({ text: 'finished', images: [] })));
    const bot = await startDiscord({ core, token: fake.token, applicationId: fake.applicationId, apiUrl: fake.apiUrl });
    try {
      const running = fake.dispatchSlashCommand({ user: alice, name: 'concepts' });
      await expect.poll(() => core.turns.length).toBe(1);
      const stopped = bot.stop();
      const late = fake.dispatchSlashCommand({ user: bob, name: 'concepts' });
      await fake.waitFor(() => late.original?.content || undefined, 'the answer to the late command');
      release();
      await stopped;
      expect(running.original?.content).toBe('finished');
      expect(late.callbacks.map((c) => c.type)).toEqual([4]);
      expect(late.original?.content).toMatch(/restarting/);
      expect(core.turns).toHaveLength(1);
    } finally {
      await bot.stop();
      await fake.close();
    }
  });
});
