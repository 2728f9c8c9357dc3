// Two Telegram webhook instances behind one URL, as behind a load balancer,
// sharing a real Redis: a round-robin balancer in front of them hands one
// chat's updates to both in turn, and posts one update twice. Every update is
// answered once, in the order the user sent them, and an album whose photos
// land on different instances is still one turn.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Chat, User } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationCore, Reply, Turn } from '../../src/assistant/turn.ts';
import { startTelegram, type TelegramHandle } from '../../adapters/telegram/telegram.ts';
import { listenOnLoopback, type LoopbackServer } from '../fakes/http.ts';
import { FakeTelegramServer } from '../fakes/telegram-server.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { freshServerUrl, serverUrl } from '../support/servers.ts';

/** This file's Redis database (servers.ts: one slot per test file). */
const SLOT = 11;
const redisBase = serverUrl('redis');

const alice: User = { id: 701, is_bot: false, first_name: 'Alice' };
const chat: Chat = { id: 701, type: 'private', first_name: 'Alice' };
const billy = [1, 2].map(
  (n) => new Uint8Array(readFileSync(path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`))),
);

/** Answers "ok: <text>"; the text "slow" takes 600 ms, long enough for the next updates to reach the other instance. */
class RecordingCore implements ConversationCore {
  readonly turns: Turn[] = [];
  async handle(turn: Turn): Promise<Reply> {
    this.turns.push(turn);
    if (turn.text === 'slow') await new Promise((resolve) => setTimeout(resolve, 600));
    return { text: `ok: ${turn.text} (${turn.images.length} photos)`, images: [] };
  }
}

/** A round-robin balancer; the update whose id is in `twice` goes to both instances. */
async function balancer(ports: () => number[], twice: Set<number>, seen: number[][]): Promise<LoopbackServer> {
  let next = 0;
  return listenOnLoopback(async (req, res) => {
    const body = await readBody(req);
    const updateId = (JSON.parse(body) as { update_id: number }).update_id;
    const all = ports();
    const targets = twice.has(updateId) ? all.map((_, i) => i) : [next++ % all.length];
    let status = 500;
    for (const i of targets) {
      seen[i].push(updateId);
      const answer = await fetch(`http://127.0.0.1:${all[i]}${req.url}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-telegram-bot-api-secret-token': String(req.headers['x-telegram-bot-api-secret-token']),
        },
        body,
      });
      status = answer.status;
    }
    res.writeHead(status).end();
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

describe.skipIf(redisBase === null)('Telegram webhook instances sharing Redis', () => {
  let fake: FakeTelegramServer;
  let front: LoopbackServer;
  const cores = [new RecordingCore(), new RecordingCore()];
  const bots: TelegramHandle[] = [];
  const ports = [20000 + Math.floor(Math.random() * 20000)];
  ports.push(ports[0] + 1);
  const twice = new Set<number>([2]);
  const seen: number[][] = [[], []];

  beforeAll(async () => {
    const redisUrl = await freshServerUrl('redis', redisBase!, SLOT);
    fake = await FakeTelegramServer.start();
    front = await balancer(() => ports, twice, seen);
    for (const [i, core] of cores.entries()) {
      bots.push(
        await startTelegram({
          core,
          token: fake.token,
          apiRoot: fake.apiRoot,
          webhookUrl: `${front.origin}/telegram`,
          webhookPort: ports[i],
          webhookHost: '127.0.0.1',
          redisUrl,
          albumQuietMs: 300,
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(bots.map((bot) => bot.stop()));
    await front?.close();
    await fake?.close();
  });

  it('answers each update once, in order, with a duplicate and an album split across instances', async () => {
    const sent = [
      ...fake.sendAsUser({ chat, from: alice, text: 'slow' }),
      ...fake.sendAsUser({ chat, from: alice, text: 'two' }),
      ...fake.sendAsUser({ chat, from: alice, text: 'three' }),
      // Last: a message sent while an album gathers goes first, in one process as in several.
      ...fake.sendAsUser({ chat, from: alice, text: 'album', photos: billy }),
    ];
    await fake.waitForBotMessage((m) => m.text.startsWith('ok: album'), 'the album answer');
    await Promise.all(bots.map((bot) => bot.idle()));

    // Both instances took updates (update 2 twice), so the order held across processes.
    expect(seen[0].length).toBeGreaterThan(0);
    expect(seen[1].length).toBeGreaterThan(0);
    expect(seen.flat().filter((id) => id === 2)).toHaveLength(2);
    const answers = fake.botMessages.filter((m) => m.text.startsWith('ok: '));
    expect(answers.map((m) => m.text)).toEqual([
      'ok: slow (0 photos)',
      'ok: two (0 photos)',
      'ok: three (0 photos)',
      'ok: album (2 photos)',
    ]);
    expect(answers.map((m) => m.replyTo)).toEqual([0, 1, 2, 3].map((i) => sent[i].message_id));
    expect(cores[0].turns.length + cores[1].turns.length).toBe(4);
  });

  it('refuses a post without the secret token', async () => {
    const forged = await fetch(`http://127.0.0.1:${ports[1]}/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'guess' },
      body: JSON.stringify({ update_id: 999, message: { message_id: 1, chat, from: alice, date: 0, text: 'hi' } }),
    });
    expect(forged.status).toBe(401);
  });
});
