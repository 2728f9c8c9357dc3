// Discord past one process: discord.js' ShardingManager spawns one child
// process per shard, each running `myvlm start` with the Discord adapter only
// (the SHARDS / SHARD_COUNT it sets tell the child's client which guilds are
// its own). The manager holds no memory and answers nothing itself; the
// shards share memory through MYVLM_STORE_URL (Redis or PostgreSQL).
import { once } from 'node:events';
import { REST, Routes, ShardingManager, type Shard } from 'discord.js';
import { moduleLogger } from '../../src/log.ts';
import { explainDiscordFailure, restOptions, type DiscordConnection } from './connection.ts';

const logger = moduleLogger('discord');

/**
 * Pause between two shards' logins: discord.js' default, as Discord lets a
 * bot with max_concurrency 1 (every bot below 150,000 servers) identify once
 * every 5 seconds.
 */
export const SHARD_SPAWN_DELAY_MS = 5_500;
/** How long one shard may take to log in and become ready (discord.js' default). */
export const SHARD_READY_TIMEOUT_MS = 30_000;

export interface ShardOptions extends DiscordConnection {
  /** A number, or 'auto' for the count Discord recommends (GET /gateway/bot). */
  count: number | 'auto';
  /** The script each shard runs (bin/myvlm.js) and its arguments (['start']). */
  file: string;
  args: string[];
  /** Default SHARD_SPAWN_DELAY_MS. */
  spawnDelayMs?: number;
  /** Default SHARD_READY_TIMEOUT_MS. */
  readyTimeoutMs?: number;
}

export interface ShardsHandle {
  readonly total: number;
  /** Per shard: its id, child process id and whether its client is ready. */
  status(): Array<{ id: number; pid: number | null; ready: boolean }>;
  /** Asks every shard to stop gracefully (SIGTERM: it finishes its turns) and waits for them to exit; no respawn. Resolves to their exit codes. */
  stop(): Promise<Array<number | null>>;
}

/** Spawns the shards and resolves once every one is ready; fails with a one-line error otherwise. */
export async function startShards(options: ShardOptions): Promise<ShardsHandle> {
  const total = options.count === 'auto' ? await recommendedShards(options) : options.count;
  const manager = new ShardingManager(options.file, {
    totalShards: total,
    token: options.token,
    shardArgs: options.args,
    mode: 'process',
    respawn: true,
  });
  manager.on('shardCreate', (shard: Shard) => {
    logger.info({ shard: shard.id, total }, 'Discord shard spawned');
    shard.on('death', () => logger.warn({ shard: shard.id }, 'Discord shard exited'));
  });
  const stop = async () => {
    manager.respawn = false;
    return Promise.all([...manager.shards.values()].map((shard) => stopShard(shard)));
  };
  try {
    await manager.spawn({
      amount: total,
      delay: options.spawnDelayMs ?? SHARD_SPAWN_DELAY_MS,
      timeout: options.readyTimeoutMs ?? SHARD_READY_TIMEOUT_MS,
    });
  } catch (error) {
    await stop();
    throw explainDiscordFailure(error);
  }
  logger.info({ total }, 'every Discord shard is ready');
  return {
    total,
    status: () =>
      [...manager.shards.values()].map((shard) => ({
        id: shard.id,
        pid: shard.process?.pid ?? null,
        ready: shard.ready,
      })),
    stop,
  };
}

/** The shard count Discord recommends for this bot (about one per 1,000 servers). */
async function recommendedShards(connection: DiscordConnection): Promise<number> {
  const rest = new REST(restOptions(connection)).setToken(connection.token);
  try {
    const answer = (await rest.get(Routes.gatewayBot())) as { shards: number };
    return answer.shards;
  } catch (error) {
    throw explainDiscordFailure(error);
  }
}

async function stopShard(shard: Shard): Promise<number | null> {
  const child = shard.process;
  if (!child) return null;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  const [code] = await exited;
  return code;
}
