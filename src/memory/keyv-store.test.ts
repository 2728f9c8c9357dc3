import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KeyvSqlite } from '@keyv/sqlite';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../errors.ts';
import { describeConceptStore, person, photoRef, SCOPE } from '../../test/support/store-suite.ts';
import { tracesInFiles } from '../../test/support/store-traces.ts';
import { StoredConceptError } from './codec.ts';
import { KeyvConceptStore } from './keyv-store.ts';
import { DATABASE_FILE } from './open-backend.ts';

let dir: string;

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const suite = describeConceptStore('SQLite', {
  async fresh() {
    dir = await mkdtemp(path.join(tmpdir(), 'myvlm-store-'));
  },
  open: (beforeStep) => KeyvConceptStore.open({ directory: dir, beforeStep }),
  async cleanup() {
    await rm(dir, { recursive: true, force: true });
  },
  // Every byte of every file in the store folder; a leftover journal counts as a trace too.
  async traces(needles) {
    const found = await tracesInFiles(dir, needles);
    for (const file of await filesUnder(dir))
      if (/-(journal|wal|shm)$/.test(file)) (found[path.relative(dir, file)] ??= []).push('journal file');
    return found;
  },
});

describe('SQLite store files', () => {
  it('keeps float data compact in the SQLite row (about 4/3 bytes per float byte)', async () => {
    const n = 100_000;
    const vector = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-3);
    await suite.store.create(
      person('Big', SCOPE, {
        embeddings: { m: { vector, steps: 1, finalLoss: 0.5, updatedAt: new Date().toISOString() } },
      }),
    );
    await suite.store.close();
    const raw = new KeyvSqlite({ uri: `sqlite://${path.join(dir, DATABASE_FILE)}`, table: 'concepts' });
    const [row] = (await raw.query("SELECT length(value) AS chars FROM concepts WHERE key LIKE 'concept:%'")) as Array<{
      chars: number;
    }>;
    await raw.disconnect();
    const floatBytes = (n + 4) * 4;
    expect(row.chars).toBeGreaterThan((floatBytes * 4) / 3);
    expect(row.chars).toBeLessThan((floatBytes * 4) / 3 + 1_000);
    suite.store = await KeyvConceptStore.open({ directory: dir });
  });

  it('refuses a second open of the same folder, and takes over a dead process lock', async () => {
    await expect(KeyvConceptStore.open({ directory: dir })).rejects.toThrow(InternalError);
    await expect(KeyvConceptStore.open({ directory: dir })).rejects.toThrow(/already open in this process/);
    await suite.store.close();
    await writeFile(path.join(dir, 'store.lock'), '2147483646'); // no such process
    suite.store = await KeyvConceptStore.open({ directory: dir });
    expect(await suite.store.list(SCOPE)).toEqual([]);
  });

  it('opens the same folder through MYVLM_STORE_URL as sqlite://<folder>', async () => {
    const anna = await suite.store.create(person('Anna'));
    await suite.store.close();
    suite.store = await KeyvConceptStore.open({ url: `sqlite://${dir}` });
    expect(suite.store.kind).toBe('sqlite');
    expect(await suite.store.list(SCOPE)).toEqual([anna]);
  });

  it('answers null for a damaged photo file, and leaves no photo file behind an orphan sweep', async () => {
    const b = await photoRef(suite.store, SCOPE, 'b');
    await suite.store.create(person('Anna', SCOPE, { photos: [b] }));
    const file = (await filesUnder(dir)).find((f) => f.endsWith(b.sha256))!;
    await writeFile(file, 'tampered');
    expect(await suite.store.getPhoto(SCOPE, b.sha256)).toBeNull();
    await photoRef(suite.store, SCOPE, 'never referenced');
    await suite.reopen();
    expect((await filesUnder(dir)).filter((f) => f.includes(`${path.sep}blobs${path.sep}`))).toEqual([file]);
  });

  it('skips a damaged row instead of failing the whole scope, and can still forget it', async () => {
    const anna = await suite.store.create(person('Anna'));
    const bob = await suite.store.create(person('Bob'));
    await suite.store.close();
    const raw = new KeyvSqlite({ uri: `sqlite://${path.join(dir, DATABASE_FILE)}`, table: 'concepts' });
    await raw.query(
      `UPDATE concepts SET value = ? WHERE key LIKE ?`,
      '{"value":{"format":1,"concept":{"id":7}}}',
      `%${bob.id}`,
    );
    await raw.disconnect();
    const store = (suite.store = await KeyvConceptStore.open({ directory: dir }));
    expect(await store.list(SCOPE)).toEqual([anna]);
    await expect(store.get(SCOPE, bob.id)).rejects.toThrow(StoredConceptError);
    await expect(store.get(SCOPE, bob.id)).rejects.toThrow(/damaged/);
    expect(await store.forget(SCOPE, bob.id)).toBe(true);
    expect(await store.get(SCOPE, bob.id)).toBeNull();
  });
});
