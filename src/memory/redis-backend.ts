// RecordBackend over Keyv's Redis adapter and its client. Records are plain
// string keys (no Keyv namespace prefix); a sorted set of every key, kept in
// step by the same Lua script that writes them, answers prefix scans the way
// SQLite's primary-key index does, without a SCAN of the whole keyspace.
// A Lua script runs alone on the server, so a commit is atomic across processes.
import KeyvRedis from '@keyv/redis';
import { OperatorError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { prefixEnd, type RecordBackend } from './record-backend.ts';

const log = moduleLogger('memory');
/** How long opening the store waits for Redis before giving up (the client itself would retry for ever). */
const CONNECT_TIMEOUT_MS = 5_000;

/** Checks every expected value, then writes or deletes, keeping the key index in step. */
const COMMIT_SCRIPT = `
local n = tonumber(ARGV[1])
local m = tonumber(ARGV[2])
for i = 1, n do
  local have = redis.call('GET', KEYS[1 + i])
  local want = ARGV[2 + i]
  if have == false then
    if want ~= '-' then return 0 end
  elseif want ~= '+' .. have then
    return 0
  end
end
for j = 1, m do
  local key = KEYS[1 + n + j]
  local value = ARGV[2 + n + j]
  if value == '-' then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], key)
  else
    redis.call('SET', key, string.sub(value, 2))
    redis.call('ZADD', KEYS[1], 0, key)
  end
end
return 1
`;

/** '-' is absent; '+value' is a value (so an empty string stays distinct from absent). */
function mark(value: string | undefined): string {
  return value === undefined ? '-' : `+${value}`;
}

export class RedisBackend implements RecordBackend {
  readonly kind = 'redis';

  private constructor(
    private readonly adapter: KeyvRedis<string>,
    /** The sorted set of every key this store wrote. */
    private readonly index: string,
  ) {}

  static async open(url: string, index: string): Promise<RedisBackend> {
    const adapter = new KeyvRedis<string>(url, {
      throwOnConnectError: true,
      throwOnErrors: true,
      connectionTimeout: CONNECT_TIMEOUT_MS,
    });
    // The client reconnects by itself after an outage; meanwhile calls fail and the log says why.
    adapter.on('error', (error: unknown) => log.error({ err: error }, 'Redis concept store error'));
    try {
      await adapter.getClient();
    } catch (error) {
      await adapter.disconnect(true).catch(() => {});
      // The adapter replaces every connect failure with one generic error; the client's own went to the log.
      throw new OperatorError(
        `Cannot connect to the Redis concept store at ${redactUrl(url)} within ${CONNECT_TIMEOUT_MS / 1000} s.`,
        { cause: error, hint: 'Start Redis, or fix MYVLM_STORE_URL; the log has the client error.' },
      );
    }
    return new RedisBackend(adapter, index);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client().get(key)) ?? undefined;
  }

  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    if (keys.length === 0) return [];
    return (await this.client().mGet(keys)).map((value) => value ?? undefined);
  }

  async keysWithPrefix(prefix: string): Promise<string[]> {
    return this.client().zRangeByLex(this.index, `[${prefix}`, `(${prefixEnd(prefix)}`);
  }

  async commit(
    expect: ReadonlyMap<string, string | undefined>,
    writes: ReadonlyMap<string, string | undefined>,
  ): Promise<boolean> {
    const result = await this.client().eval(COMMIT_SCRIPT, {
      keys: [this.index, ...expect.keys(), ...writes.keys()],
      arguments: [
        String(expect.size),
        String(writes.size),
        ...[...expect.values()].map(mark),
        ...[...writes.values()].map(mark),
      ],
    });
    return result === 1;
  }

  /** DEL frees the value at once; nothing is kept to reclaim (persistence files are the operator's, see docs/deploy.md). */
  async scrub(): Promise<void> {}

  async close(): Promise<void> {
    await this.adapter.disconnect();
  }

  private client() {
    return this.adapter.client;
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
