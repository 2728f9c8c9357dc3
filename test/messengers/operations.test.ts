// A real `myvlm start` process with Telegram (against the fake Bot API): its
// health endpoint reports the process and its memory, and a SIGTERM while a
// turn runs (its photo still downloading) lets that turn finish and send its
// reply before the process exits with code 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Chat, User } from 'grammy/types';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeTelegramServer } from '../fakes/telegram-server.ts';
import { scratchEnvironment } from '../support/cli.ts';
import { REPO_ROOT, SHARED_DATA } from '../support/paths.ts';

const alice: User = { id: 801, is_bot: false, first_name: 'Alice' };
const chat: Chat = { id: 801, type: 'private', first_name: 'Alice' };
const photo = new Uint8Array(readFileSync(path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', 'billy_dog_1.jpg')));

describe('a bot process in operation', () => {
  let fake: FakeTelegramServer;
  let child: ChildProcess | null = null;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await fake?.close();
  });

  it('reports its health, and on SIGTERM finishes the running turn and exits with 0', async () => {
    fake = await FakeTelegramServer.start();
    const healthPort = 20000 + Math.floor(Math.random() * 20000);
    child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/myvlm.js'), 'start'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...scratchEnvironment(mkdtempSync(path.join(tmpdir(), 'myvlm-operations-'))),
        TELEGRAM_BOT_TOKEN: fake.token,
        TELEGRAM_API_ROOT: fake.apiRoot,
        MYVLM_WEB_PORT: 'off',
        MYVLM_HEALTH_PORT: String(healthPort),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await expect.poll(() => stderr, { timeout: 60_000, interval: 100 }).toContain('Started Telegram');

    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(health.status).toBe(200);
    const report = (await health.json()) as Record<string, unknown>;
    expect(report).toMatchObject({
      status: 'ok',
      role: 'bot',
      pid: child.pid,
      store: { kind: 'sqlite', reachable: true },
    });
    expect(report.uptimeSeconds).toBeTypeOf('number');

    // The photo downloads slowly: the turn is still running when the signal comes.
    fake.downloadDelayMs = 1_500;
    const [message] = fake.sendAsUser({ chat, from: alice, photos: [photo], text: 'who is this?' });
    await expect.poll(() => fake.callsOf('getFile').length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
    const signalledAt = Date.now();
    child.kill('SIGTERM');

    expect(await exited).toBe(0);
    const reply = fake.botMessages.find((m) => m.replyTo === message.message_id && m.history.length > 0);
    expect(reply?.text.length).toBeGreaterThan(0);
    expect(reply!.sentAt).toBeGreaterThan(signalledAt);
    expect(stderr).not.toMatch(/without waiting longer/);
    await expect(fetch(`http://127.0.0.1:${healthPort}/healthz`)).rejects.toThrow();
  });
});
