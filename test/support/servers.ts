// The Redis and PostgreSQL servers that server-backed store tests run on.
// `.ci/services.sh start` starts both on loopback and prints the variables
// read here; CI always sets them (and MYVLM_TEST_SERVERS=required, so a
// missing server fails instead of skipping). Each test file gets its own
// Redis database number and its own PostgreSQL database, emptied per test.
import { createClient } from '@keyv/redis';
import pg from 'pg';

export type ServerKind = 'redis' | 'postgres';

const VARIABLE: Record<ServerKind, string> = {
  redis: 'MYVLM_TEST_REDIS_URL',
  postgres: 'MYVLM_TEST_POSTGRES_URL',
};

/** The server's base URL, or null (with the reason printed once) when it is not configured here. */
export function serverUrl(kind: ServerKind): string | null {
  const url = process.env[VARIABLE[kind]] ?? null;
  if (url === null) {
    if (process.env.MYVLM_TEST_SERVERS === 'required') throw new Error(`${VARIABLE[kind]} is not set`);
    console.warn(
      `skipping the ${kind} store tests: ${VARIABLE[kind]} is not set (run: eval "$(bash .ci/services.sh start)")`,
    );
  }
  return url;
}

/**
 * A URL on `kind` that no other test file uses (`slot` 1-15 picks the Redis
 * database and names the PostgreSQL one), emptied.
 */
export async function freshServerUrl(kind: ServerKind, base: string, slot: number): Promise<string> {
  const url = new URL(base);
  if (kind === 'redis') url.pathname = `/${slot}`;
  else url.pathname = `/myvlm_test_${slot}`;
  if (kind === 'postgres') {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [`myvlm_test_${slot}`]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE myvlm_test_${slot}`);
    } finally {
      await admin.end();
    }
  }
  await emptyServer(kind, url.toString());
  return url.toString();
}

/** Removes everything a store wrote at `url`. */
export async function emptyServer(kind: ServerKind, url: string): Promise<void> {
  if (kind === 'redis') {
    const client = createClient({ url });
    await client.connect();
    await client.flushDb();
    await client.close();
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('DROP TABLE IF EXISTS myvlm_concepts');
  await client.end();
}
