// Several webhook instances behind one URL (a load balancer) share one Redis,
// so that every update is handled once and a chat's updates in order, even
// when they land on different instances:
// - an update is taken only if `SET <update> NX EX` succeeds: Telegram
//   resends an update it got no 200 for, and a balancer may retry too;
// - a taken update joins its chat's waiting line (a sorted set by update_id)
//   before Telegram gets its 200, so an answered update is never lost;
// - whoever holds the chat's lock (`SET NX PX`, renewed while held) feeds the
//   line to its own conversation and keeps the lock until that chat's turns
//   are done, so the chat's next update waits for the one before. Albums,
//   whose parts may arrive at different instances, meet in the holder.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import type { Update } from 'grammy/types';
import { OperatorError } from '../../src/errors.ts';
import { moduleLogger } from '../../src/log.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('telegram');

/** How long an update_id is remembered: Telegram gives up resending an update after 24 hours. */
export const UPDATE_MEMORY_SECONDS = 24 * 60 * 60;
/** A chat lock lasts this long unless renewed, so a crashed holder frees its chats within seconds. */
export const CHAT_LOCK_MS = 10_000;
/** How often a holder looks for new updates of its chat while a turn runs (album parts, follow-ups). */
export const CHAT_LINE_POLL_MS = 100;

/** Deletes the lock only when this instance still holds it; renews it the same way. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

export interface ChatLanesOptions {
  /** `redis://…` shared by every instance of the bot. */
  redisUrl: string;
  /** The bot's numeric id: instances of different bots may share the Redis. */
  botId: number;
  /** Runs one update through the bot (which starts its turn and returns). */
  handle(update: Update): Promise<void>;
  /** Resolves when no turn of the chat is gathering or running in this process. */
  chatIdle(chatId: number): Promise<void>;
}

/** The shared intake of a bot's webhook instances. */
export class ChatLanes {
  private readonly instance = randomUUID();
  private readonly draining = new Map<number, Promise<void>>();
  private stopping = false;
  private readonly redis;

  private constructor(private readonly options: ChatLanesOptions) {
    this.redis = createClient({ url: options.redisUrl });
    this.redis.on('error', (error: unknown) => logger.warn({ err: loggable(error) }, 'Redis connection error'));
  }

  static async open(options: ChatLanesOptions): Promise<ChatLanes> {
    const lanes = new ChatLanes(options);
    try {
      await lanes.redis.connect();
    } catch (error) {
      throw new OperatorError(`Telegram: cannot reach the Redis at MYVLM_REDIS_URL (${describe(error)})`, {
        hint: 'Start Redis, or unset MYVLM_REDIS_URL to run a single webhook instance.',
      });
    }
    return lanes;
  }

  /** Takes an update (once per update_id across instances) into its chat's line; resolves once it is safely queued. */
  async accept(update: Update): Promise<void> {
    const fresh = await this.redis.set(this.key(`update:${update.update_id}`), this.instance, {
      condition: 'NX',
      expiration: { type: 'EX', value: UPDATE_MEMORY_SECONDS },
    });
    if (fresh === null) {
      logger.info({ update: update.update_id }, 'skipping an update already taken');
      return;
    }
    const chatId = update.message?.chat.id;
    if (chatId === undefined) return this.options.handle(update);
    await this.redis.zAdd(this.line(chatId), { score: update.update_id, value: JSON.stringify(update) });
    this.drain(chatId);
  }

  /** Stops taking lines, lets the chats held here finish their turns, and disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.draining.size > 0) await Promise.all([...this.draining.values()]);
    await this.redis.close();
  }

  private drain(chatId: number): void {
    if (this.stopping || this.draining.has(chatId)) return;
    const run = this.holdChat(chatId)
      .catch((error: unknown) => logger.error({ err: loggable(error), chat: chatId }, 'Telegram chat line failed'))
      .finally(() => this.draining.delete(chatId));
    this.draining.set(chatId, run);
  }

  /** Feeds the chat's line to this process while it can hold the chat's lock, until the line is empty. */
  private async holdChat(chatId: number): Promise<void> {
    // An update queued while the lock was still ours found it taken: take the line up again.
    do {
      if (!(await this.holdOnce(chatId))) return;
    } while (!this.stopping && (await this.redis.zCard(this.line(chatId))) > 0);
  }

  /** One hold of the chat's lock; false when another instance holds it (and feeds the line) or took it over. */
  private async holdOnce(chatId: number): Promise<boolean> {
    const lock = this.key(`chat:${chatId}:lock`);
    const taken = await this.redis.set(lock, this.instance, {
      condition: 'NX',
      expiration: { type: 'PX', value: CHAT_LOCK_MS },
    });
    if (taken === null) return false;
    try {
      for (;;) {
        const waiting = this.stopping ? [] : await this.redis.zPopMinCount(this.line(chatId), 100);
        for (const { value } of waiting) await this.options.handle(JSON.parse(value) as Update);
        const idle = this.options.chatIdle(chatId).then(() => true);
        const done = waiting.length === 0 && (await Promise.race([idle, sleep(CHAT_LINE_POLL_MS, false)]));
        if (done) return true;
        const renewed = await this.redis.eval(RENEW, {
          keys: [lock],
          arguments: [this.instance, String(CHAT_LOCK_MS)],
        });
        if (renewed === 0) {
          logger.warn(
            { chat: chatId },
            'lost a chat lock while its turn ran (longer than CHAT_LOCK_MS between renewals)',
          );
          return false;
        }
      }
    } finally {
      await this.redis.eval(RELEASE, { keys: [lock], arguments: [this.instance] });
    }
  }

  private line(chatId: number): string {
    return this.key(`chat:${chatId}:line`);
  }

  private key(rest: string): string {
    return `myvlm:telegram:${this.options.botId}:${rest}`;
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
