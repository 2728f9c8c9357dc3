// Discord through discord.js' ShardingManager against the fake Discord: the
// manager asks for the recommended shard count, spawns one real `myvlm start`
// process per shard with its SHARDS / SHARD_COUNT, each logs in as its shard,
// a server's command reaches the shard that owns the server (as Discord routes
// it) and is answered there, and a stop ends every shard with exit code 0.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShards, type ShardsHandle } from '../../adapters/discord/shards.ts';
import { FakeDiscordServer } from '../fakes/discord-server.ts';
import { runMyvlm, scratchEnvironment } from '../support/cli.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { freshServerUrl, serverUrl } from '../support/servers.ts';

/** This file's Redis database (servers.ts: one slot per test file). */
const SLOT = 12;
const redisBase = serverUrl('redis');

/** The environment variables of a running process, from /proc. */
function environmentOf(pid: number): Map<string, string> {
  const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

describe('myvlm start --shards', () => {
  it('refuses a bad shard count, and several shards on the one-process SQLite store', () => {
    const env = {
      ...scratchEnvironment(mkdtempSync(path.join(tmpdir(), 'myvlm-shards-'))),
      DISCORD_TOKEN: 'fake-discord-bot-token.abcdef.1234567890',
      DISCORD_APPLICATION_ID: '900000000000000001',
    };
    const many = runMyvlm(['start', '--shards', 'many'], { env });
    expect([many.code, many.stderr.trim()]).toEqual([
      2,
      'myvlm: --shards takes "auto" or a number of shards, e.g. --shards 4.',
    ]);
    const sqlite = runMyvlm(['start', '--shards', '2'], { env });
    expect(sqlite.code).toBe(1);
    expect(sqlite.stderr).toContain('MYVLM_STORE_URL: Discord shards are separate processes and share memory');
  });
});

describe.skipIf(redisBase === null)('Discord shards (ShardingManager)', () => {
  let fake: FakeDiscordServer;
  let shards: ShardsHandle;
  const saved = { ...process.env };

  beforeAll(async () => {
    fake = await FakeDiscordServer.start();
    fake.recommendedShards = 2;
    // The shard processes inherit this process's environment, as they would the manager's.
    Object.assign(process.env, scratchEnvironment(mkdtempSync(path.join(tmpdir(), 'myvlm-shards-'))), {
      DISCORD_TOKEN: fake.token,
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiUrl,
      DISCORD_GATEWAY_URL: fake.gatewayUrl,
      MYVLM_STORE_URL: await freshServerUrl('redis', redisBase!, SLOT),
      MYVLM_WEB_PORT: 'off',
    });
    shards = await startShards({
      token: fake.token,
      applicationId: fake.applicationId,
      apiUrl: fake.apiUrl,
      gatewayUrl: fake.gatewayUrl,
      count: 'auto',
      file: path.join(REPO_ROOT, 'bin/myvlm.js'),
      args: ['start'],
      spawnDelayMs: 0,
      readyTimeoutMs: 90_000,
    });
  }, 180_000);
  afterAll(async () => {
    await shards?.stop();
    await fake?.close();
    process.env = saved;
  });

  it('spawns the recommended number of shard processes, each with its shard in SHARDS', () => {
    expect(shards.total).toBe(2);
    const status = shards.status();
    expect(status.map((s) => s.ready)).toEqual([true, true]);
    const pids = status.map((s) => s.pid!);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);
    expect(pids.map((pid) => [environmentOf(pid).get('SHARDS'), environmentOf(pid).get('SHARD_COUNT')])).toEqual([
      ['0', '2'],
      ['1', '2'],
    ]);
    expect([...fake.identifiedShards].sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });

  it("answers a server's command from the shard that owns the server", async () => {
    // Guild ids whose (id >> 22) % 2 is 1 and 0.
    for (const [guildId, shard] of [
      [String(1n << 22n), 1],
      [String(2n << 22n), 0],
    ] as const) {
      const interaction = fake.dispatchSlashCommand({ user: { id: '42', username: 'alice' }, guildId, name: 'help' });
      expect(interaction.shard).toBe(shard);
      const answer = await fake.waitFor(
        () => interaction.original?.content || undefined,
        `the /help answer on shard ${shard}`,
        60_000,
      );
      expect(answer).toContain('/teach');
    }
  });

  it('stops every shard gracefully, with exit code 0', async () => {
    const pids = shards.status().map((s) => s.pid!);
    expect(await shards.stop()).toEqual([0, 0]);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
