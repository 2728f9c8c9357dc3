// RecordBackend over Keyv's PostgreSQL adapter (its table and its reads) and
// a small pool of `pg`, the client library the adapter itself uses, for
// commits: a commit needs one connection for a whole transaction, which the
// adapter's per-query pool cannot give. Commits run SERIALIZABLE, so a check
// that a key is absent is as safe as one on a row that exists; a transaction
// that loses a race is reported as a failed compare-and-set.
import KeyvPostgres from '@keyv/postgres';
import pg from 'pg';
import { OperatorError } from '../errors.ts';
import { prefixEnd, type RecordBackend } from './record-backend.ts';
import { redactUrl } from './redis-backend.ts';

/** SQLSTATEs of a transaction that lost a race: serialization failure, deadlock, unique violation. */
const LOST_RACE = new Set(['40001', '40P01', '23505']);
/** Longest key, in characters (Keyv's default, 255, is short for a long scope id). */
const KEY_SIZE = 1024;
/** Connections for commits; reads go through the adapter's own pool. */
const COMMIT_CONNECTIONS = 4;

export class PostgresBackend implements RecordBackend {
  readonly kind = 'postgres';

  private constructor(
    private readonly adapter: KeyvPostgres,
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async open(url: string, table: string): Promise<PostgresBackend> {
    const adapter = new KeyvPostgres({ uri: url, table, keySize: KEY_SIZE });
    const errors: unknown[] = [];
    adapter.on('error', (error: unknown) => errors.push(error));
    const pool = new pg.Pool({ connectionString: url, max: COMMIT_CONNECTIONS });
    try {
      // The adapter creates its table on connect; its first query waits for that.
      await adapter.query('SELECT 1');
      if (errors.length > 0) throw errors[0];
      // Uncompressed out-of-line values: embeddings and photos barely compress, and forget's check
      // (test/memory/server-stores.test.ts) can then see every byte a deleted row left in the files.
      await adapter.query(`ALTER TABLE ${table} ALTER COLUMN value SET STORAGE EXTERNAL`);
      // Prefix scans compare in code-unit order, which the primary key's collation may not be.
      await adapter.query(`CREATE INDEX IF NOT EXISTS ${table}_key_c ON ${table} (key COLLATE "C")`);
      await pool.query('SELECT 1');
    } catch (error) {
      await adapter.disconnect().catch(() => {});
      await pool.end().catch(() => {});
      throw new OperatorError(
        `Cannot reach the PostgreSQL concept store at ${redactUrl(url)}: ${(error as Error).message}.`,
        { cause: error, hint: 'Start PostgreSQL, or fix MYVLM_STORE_URL.' },
      );
    }
    return new PostgresBackend(adapter, pool, table);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    if (keys.length === 0) return [];
    return this.adapter.getMany(keys) as Promise<Array<string | undefined>>;
  }

  async keysWithPrefix(prefix: string): Promise<string[]> {
    // COLLATE "C": code-unit order, the same as the range bounds assume.
    const rows = (await this.adapter.query(
      `SELECT key FROM ${this.table} WHERE key >= $1 COLLATE "C" AND key < $2 COLLATE "C" ORDER BY key COLLATE "C"`,
      [prefix, prefixEnd(prefix)],
    )) as Array<{ key: string }>;
    return rows.map((row) => row.key);
  }

  async commit(
    expect: ReadonlyMap<string, string | undefined>,
    writes: ReadonlyMap<string, string | undefined>,
  ): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const { rows } = await client.query<{ key: string; value: string }>(
        `SELECT key, value FROM ${this.table} WHERE key = ANY($1) FOR UPDATE`,
        [[...expect.keys()]],
      );
      const found = new Map(rows.map((row) => [row.key, row.value]));
      if ([...expect].some(([key, wanted]) => found.get(key) !== wanted)) {
        await client.query('ROLLBACK');
        return false;
      }
      const sets = [...writes].filter((entry): entry is [string, string] => entry[1] !== undefined);
      const deletes = [...writes].filter(([, value]) => value === undefined).map(([key]) => key);
      if (deletes.length > 0) await client.query(`DELETE FROM ${this.table} WHERE key = ANY($1)`, [deletes]);
      if (sets.length > 0) {
        await client.query(
          `INSERT INTO ${this.table} (key, value) SELECT * FROM UNNEST($1::text[], $2::text[])
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [sets.map(([key]) => key), sets.map(([, value]) => value)],
        );
      }
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (LOST_RACE.has((error as { code?: string }).code ?? '')) return false;
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Deleted rows stay in the table's pages, and a plain VACUUM marks their
   * space free without zeroing it (the store suite found an erased scope
   * record's bytes after one). VACUUM FULL writes the live rows to new files
   * and unlinks the old ones, so nothing deleted is left in the data files.
   * It locks the table while it runs, for a time that grows with the table
   * (photos included): docs/deploy.md says what that costs.
   */
  async scrub(): Promise<void> {
    await this.pool.query(`VACUUM FULL ${this.table}`);
  }

  /** Keyv's adapter keeps one pool per URL for the whole process and ends it here: open one store per URL. */
  async close(): Promise<void> {
    await this.adapter.disconnect();
    await this.pool.end();
  }
}
