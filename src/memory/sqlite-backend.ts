// RecordBackend over Keyv's SQLite adapter. One process owns the file (the
// store claims its folder), and the adapter has one connection, so running
// every call through one queue makes a commit's transaction the only thing
// on the connection while it runs.
import { KeyvSqlite } from '@keyv/sqlite';
import { OperatorError } from '../errors.ts';
import { KeyedLock } from './keyed-lock.ts';
import { prefixEnd, type RecordBackend } from './record-backend.ts';

/** How long SQLite waits on a locked database before failing a statement. */
const BUSY_TIMEOUT_MS = 5_000;
const QUEUE = 'connection';

export class SqliteBackend implements RecordBackend {
  readonly kind = 'sqlite';
  private readonly queue = new KeyedLock();

  private constructor(
    private readonly sqlite: KeyvSqlite,
    private readonly table: string,
  ) {}

  /** Opens `file` with a rollback journal (deleted at commit), full fsync, and freed space overwritten with zeros. */
  static async open(file: string, table: string): Promise<SqliteBackend> {
    const sqlite = new KeyvSqlite({ uri: `sqlite://${file}`, table, busyTimeout: BUSY_TIMEOUT_MS });
    try {
      await sqlite.query('PRAGMA journal_mode = DELETE');
      await sqlite.query('PRAGMA synchronous = FULL');
      await sqlite.query('PRAGMA secure_delete = ON');
      const [row] = (await sqlite.query('PRAGMA secure_delete')) as Array<Record<string, unknown>>;
      if (Object.values(row ?? {})[0] !== 1) throw new Error('SQLite did not enable secure_delete');
    } catch (error) {
      await sqlite.disconnect().catch(() => {});
      throw new OperatorError(`Cannot open the concept database ${file}: ${(error as Error).message}.`, {
        cause: error,
        hint: 'Restore it from a backup, or move it away to start with an empty memory.',
      });
    }
    return new SqliteBackend(sqlite, table);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getMany([key]))[0];
  }

  getMany(keys: string[]): Promise<Array<string | undefined>> {
    return this.queue.run(QUEUE, async () => {
      const rows = (await this.sqlite.query(
        `SELECT key, value FROM ${this.table} WHERE key IN (SELECT value FROM json_each(?))`,
        JSON.stringify(keys),
      )) as Array<{ key: string; value: string }>;
      const found = new Map(rows.map((row) => [row.key, row.value]));
      return keys.map((key) => found.get(key));
    });
  }

  keysWithPrefix(prefix: string): Promise<string[]> {
    return this.queue.run(QUEUE, async () => {
      const rows = (await this.sqlite.query(
        `SELECT key FROM ${this.table} WHERE key >= ? AND key < ? ORDER BY key`,
        prefix,
        prefixEnd(prefix),
      )) as Array<{ key: string }>;
      return rows.map((row) => row.key);
    });
  }

  commit(
    expect: ReadonlyMap<string, string | undefined>,
    writes: ReadonlyMap<string, string | undefined>,
  ): Promise<boolean> {
    return this.queue.run(QUEUE, async () => {
      await this.sqlite.query('BEGIN IMMEDIATE');
      try {
        for (const [key, wanted] of expect) {
          const [row] = (await this.sqlite.query(`SELECT value FROM ${this.table} WHERE key = ?`, key)) as Array<{
            value: string;
          }>;
          if (row?.value !== wanted) {
            await this.sqlite.query('ROLLBACK');
            return false;
          }
        }
        for (const [key, value] of writes) {
          if (value === undefined) await this.sqlite.query(`DELETE FROM ${this.table} WHERE key = ?`, key);
          else
            await this.sqlite.query(
              `INSERT INTO ${this.table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
              key,
              value,
            );
        }
        await this.sqlite.query('COMMIT');
        return true;
      } catch (error) {
        await this.sqlite.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  /** secure_delete already zeroes freed space, and the journal is deleted at commit. */
  async scrub(): Promise<void> {}

  async close(): Promise<void> {
    await this.queue.idle();
    await this.sqlite.disconnect();
  }
}
