// The store's behavioural suite on Redis and PostgreSQL (real servers, from
// `.ci/services.sh start`), plus where each keeps a forgotten concept's bytes.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from '@keyv/redis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';
import { describeConceptStore, person, SCOPE } from '../support/store-suite.ts';
import { hitsIn, type Needles } from '../support/store-traces.ts';
import { emptyServer, freshServerUrl, serverUrl, type ServerKind } from '../support/servers.ts';

/** Test files share the servers; these slots (Redis database, PostgreSQL database) are this file's. */
const SLOT: Record<ServerKind, number> = { redis: 1, postgres: 1 };

/** Every key and value in the Redis database (strings and the key index), as the server holds them now. */
async function redisTraces(url: string, needles: Needles): Promise<Record<string, string[]>> {
  const client = createClient({ url });
  await client.connect();
  const found: Record<string, string[]> = {};
  try {
    for (const key of await client.keys('*')) {
      const type = await client.type(key);
      const content =
        type === 'string' ? ((await client.get(key)) ?? '') : (await client.zRange(key, 0, -1)).join('\n');
      const hits = hitsIn(Buffer.from(`${key}\n${content}`), needles);
      if (hits.length > 0) found[key] = hits;
    }
  } finally {
    await client.close();
  }
  return found;
}

/**
 * The table's rows, then (after a CHECKPOINT, so pages are on disk) the data
 * files of the table, its TOAST table and their indexes, when this process can
 * read the server's data folder (MYVLM_TEST_POSTGRES_DATA). The WAL is not
 * searched: it keeps every write until its segments are recycled.
 */
async function postgresTraces(url: string, needles: Needles): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const found: Record<string, string[]> = {};
  try {
    const { rows } = await client.query<{ key: string; value: string }>('SELECT key, value FROM myvlm_concepts');
    for (const row of rows) {
      const hits = hitsIn(Buffer.from(`${row.key}\n${row.value}`), needles);
      if (hits.length > 0) found[`row ${row.key}`] = hits;
    }
    const data = process.env.MYVLM_TEST_POSTGRES_DATA;
    if (!data) return found;
    await client.query('CHECKPOINT');
    const files = await client.query<{ file: string }>(
      `SELECT pg_relation_filepath(c.oid) AS file FROM pg_class c
       WHERE c.oid IN ('myvlm_concepts'::regclass, (SELECT reltoastrelid FROM pg_class WHERE oid = 'myvlm_concepts'::regclass))
          OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('myvlm_concepts'::regclass,
                       (SELECT reltoastrelid FROM pg_class WHERE oid = 'myvlm_concepts'::regclass)))`,
    );
    expect(files.rows.length).toBeGreaterThanOrEqual(3); // table, TOAST table, their indexes
    for (const { file } of files.rows) {
      const hits = hitsIn(await readFile(path.join(data, file)), needles);
      if (hits.length > 0) found[file] = hits;
    }
  } finally {
    await client.end();
  }
  return found;
}

for (const kind of ['redis', 'postgres'] as const) {
  const base = serverUrl(kind);
  describe.skipIf(base === null)(`${kind} concept store`, () => {
    let url = '';
    const suite = describeConceptStore(kind, {
      async fresh() {
        url = await freshServerUrl(kind, base!, SLOT[kind]);
      },
      open: (beforeStep) => KeyvConceptStore.open({ url, beforeStep }),
      cleanup: () => emptyServer(kind, url),
      traces: (needles) => (kind === 'redis' ? redisTraces(url, needles) : postgresTraces(url, needles)),
    });

    it('keeps photos in the backend, where a store opened elsewhere reads them', async () => {
      const bytes = new TextEncoder().encode('a photo every worker must read');
      const sha256 = await suite.store.putPhoto(SCOPE, bytes);
      const anna = await suite.store.create(
        person('Anna', SCOPE, {
          photos: [{ sha256, width: 1, height: 1, caption: null, role: 'example', addedAt: new Date().toISOString() }],
        }),
      );
      const store = await suite.reopen();
      expect(store.kind).toBe(kind);
      expect((await store.get(SCOPE, anna.id))?.photos[0].sha256).toBe(sha256);
      expect(Buffer.from((await store.getPhoto(SCOPE, sha256))!).toString()).toBe('a photo every worker must read');
    });
  });
}
