import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KeyvSqlite } from '@keyv/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InternalError, UserError } from '../errors.ts';
import { StoredConceptError } from './codec.ts';
import type { PhotoRef } from './concept.ts';
import { DATABASE_FILE, KeyvConceptStore, type StoreStep } from './keyv-store.ts';
import { tracesInFiles as tracesIn } from '../../test/support/store-traces.ts';
import { ConceptNotFoundError, type NewConcept } from './store.ts';

const SCOPE = 'telegram:chat:-1001234';
const OTHER = 'discord:guild:42';

let dir: string;
let store: KeyvConceptStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'myvlm-store-'));
  store = await KeyvConceptStore.open({ directory: dir });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function reopen(beforeStep?: (step: StoreStep) => void): Promise<KeyvConceptStore> {
  await store.close();
  store = await KeyvConceptStore.open({ directory: dir, beforeStep });
  return store;
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

function person(name: string, scope = SCOPE, extra: Partial<NewConcept> = {}): NewConcept {
  return {
    scope,
    name,
    kind: 'person',
    owner: 'telegram:user:42',
    head: { type: 'face', recognizer: 'arcface-test', dims: 4, keys: new Float32Array([0.5, -0, 1e-45, Infinity]) },
    ...extra,
  };
}

async function photoRef(target: KeyvConceptStore, scope: string, marker: string): Promise<PhotoRef> {
  const sha256 = await target.putPhoto(scope, new TextEncoder().encode(`JPEG-ish bytes ${marker}`));
  return { sha256, width: 8, height: 8, caption: null, role: 'example', addedAt: new Date().toISOString() };
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('KeyvConceptStore basics', () => {
  it('creates, reads, lists by name and finds names case-insensitively', async () => {
    const zed = await store.create(person('zed'));
    const anna = await store.create(person('Anna', SCOPE, { facts: ['my daughter'] }));
    expect(anna.version).toBe(1);
    expect(anna.identifier).toBe('Anna');
    expect(anna.createdAt).toBe(anna.updatedAt);
    expect((await store.list(SCOPE)).map((c) => c.name)).toEqual(['Anna', 'zed']);
    expect(await store.get(SCOPE, zed.id)).toEqual(zed);
    expect((await store.findByName(SCOPE, '  ANNA '))?.id).toBe(anna.id);
    expect(await store.findByName(SCOPE, 'Ann')).toBeNull();
    expect(await store.get(SCOPE, 'not-a-uuid')).toBeNull();
  });

  it('refuses a duplicate name in one scope, also when renaming', async () => {
    const anna = await store.create(person('Anna'));
    await expect(store.create(person('anna'))).rejects.toThrow(UserError);
    await expect(store.create(person('   '))).rejects.toThrow(/needs a name/);
    const bob = await store.create(person('Bob'));
    await expect(store.update(SCOPE, bob.id, 1, (d) => void (d.name = 'ANNA'))).rejects.toThrow(
      /already a concept called "Anna"/,
    );
    const renamed = await store.update(SCOPE, anna.id, 1, (d) => void (d.name = 'Annie'));
    expect(renamed.name).toBe('Annie');
    expect(renamed.version).toBe(2);
  });

  it('returns the same records, bit for bit, after reopening from disk', async () => {
    const photo = await photoRef(store, SCOPE, 'reopen');
    const vector = new Float32Array([Number.NaN, -0, 3.4e38, 1e-40, -Infinity]);
    const made = await store.create(
      person('Anna', SCOPE, {
        photos: [photo],
        embeddings: { 'llava-1.6': { vector, steps: 3, finalLoss: null, updatedAt: photo.addedAt } },
      }),
    );
    await reopen();
    const back = await store.get(SCOPE, made.id);
    expect(back).toEqual(made);
    expect(bitsOf(back!.embeddings['llava-1.6'].vector)).toEqual(bitsOf(vector));
    expect(await store.list(SCOPE)).toEqual([made]);
    expect(new TextDecoder().decode(await store.getPhoto(SCOPE, photo.sha256))).toBe('JPEG-ish bytes reopen');
  });

  it('keeps float data compact in the SQLite row (about 4/3 bytes per float byte)', async () => {
    const n = 100_000;
    const vector = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-3);
    await store.create(
      person('Big', SCOPE, {
        embeddings: { m: { vector, steps: 1, finalLoss: 0.5, updatedAt: new Date().toISOString() } },
      }),
    );
    await store.close();
    const raw = new KeyvSqlite({ uri: `sqlite://${path.join(dir, DATABASE_FILE)}`, table: 'concepts' });
    const [row] = (await raw.query('SELECT length(value) AS chars FROM concepts')) as Array<{ chars: number }>;
    await raw.disconnect();
    const floatBytes = (n + 4) * 4;
    expect(row.chars).toBeGreaterThan((floatBytes * 4) / 3);
    expect(row.chars).toBeLessThan((floatBytes * 4) / 3 + 1_000);
    store = await KeyvConceptStore.open({ directory: dir });
  });

  it('refuses a record whose photo was not stored first, and id changes', async () => {
    const ghost: PhotoRef = {
      sha256: 'f'.repeat(64),
      width: 1,
      height: 1,
      caption: null,
      role: 'example',
      addedAt: new Date().toISOString(),
    };
    await expect(store.create(person('Anna', SCOPE, { photos: [ghost] }))).rejects.toThrow(InternalError);
    await expect(store.create(person('Anna', SCOPE, { photos: [ghost] }))).rejects.toThrow(/putPhoto must come before/);
    expect(await store.list(SCOPE)).toEqual([]);
    const anna = await store.create(person('Anna'));
    await expect(store.update(SCOPE, anna.id, 1, (d) => ({ ...d, id: crypto.randomUUID() }))).rejects.toThrow(
      InternalError,
    );
    await expect(store.update(SCOPE, anna.id, 1, (d) => ({ ...d, id: crypto.randomUUID() }))).rejects.toThrow(
      /may not alter id/,
    );
    await expect(
      store.update(SCOPE, anna.id, 1, () => {
        throw new Error('head fitting failed');
      }),
    ).rejects.toThrow('head fitting failed');
    expect((await store.get(SCOPE, anna.id))?.version).toBe(1);
  });

  it('refuses a second open of the same folder, and takes over a dead process lock', async () => {
    await expect(KeyvConceptStore.open({ directory: dir })).rejects.toThrow(InternalError);
    await expect(KeyvConceptStore.open({ directory: dir })).rejects.toThrow(/already open in this process/);
    await store.close();
    await writeFile(path.join(dir, 'store.lock'), '2147483646'); // no such process
    store = await KeyvConceptStore.open({ directory: dir });
    expect(await store.list(SCOPE)).toEqual([]);
  });
});

describe('versioned updates', () => {
  it('lets exactly one of two updates with the same expected version win', async () => {
    const anna = await store.create(person('Anna'));
    const results = await Promise.allSettled([
      store.update(SCOPE, anna.id, 1, (d) => void d.facts.push('first')),
      store.update(SCOPE, anna.id, 1, (d) => void d.facts.push('second')),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toBeInstanceOf(ConflictError);
    const stored = (await store.get(SCOPE, anna.id))!;
    expect(stored.version).toBe(2);
    expect(stored.facts).toHaveLength(1);
  });

  it('lands every concurrent modify, none lost', async () => {
    const anna = await store.create(person('Anna'));
    const facts = Array.from({ length: 12 }, (_, i) => `fact ${i}`);
    await Promise.all(facts.map((fact) => store.modify(SCOPE, anna.id, (d) => void d.facts.push(fact))));
    const stored = (await store.get(SCOPE, anna.id))!;
    expect(stored.version).toBe(1 + facts.length);
    expect([...stored.facts].sort()).toEqual([...facts].sort());
  });

  it('reports a concept that is gone', async () => {
    const anna = await store.create(person('Anna'));
    await store.forget(SCOPE, anna.id);
    await expect(store.modify(SCOPE, anna.id, () => {})).rejects.toThrow(ConceptNotFoundError);
    await expect(store.update(SCOPE, anna.id, 1, () => {})).rejects.toBeInstanceOf(UserError);
  });
});

describe('scope isolation', () => {
  // Scopes that LIKE patterns, prefixes or case-folding would confuse.
  const lookalikes = [
    OTHER,
    SCOPE.toUpperCase(),
    'telegram:chat:-100123',
    'telegram:chat:-1001234/x',
    'telegram:chat:-1001234%',
    'telegram_chat:-1001234',
  ];

  it('hides a concept from every other scope, which can neither read nor delete it', async () => {
    const photo = await photoRef(store, SCOPE, 'isolated');
    const anna = await store.create(person('Anna', SCOPE, { photos: [photo] }));
    for (const scope of lookalikes) {
      expect(await store.list(scope)).toEqual([]);
      expect(await store.get(scope, anna.id)).toBeNull();
      expect(await store.findByName(scope, 'Anna')).toBeNull();
      expect(await store.getPhoto(scope, photo.sha256)).toBeNull();
      expect(await store.forget(scope, anna.id)).toBe(false);
      await expect(store.modify(scope, anna.id, (d) => void (d.name = 'Mallory'))).rejects.toThrow(
        ConceptNotFoundError,
      );
    }
    const twin = await store.create(person('Anna', OTHER));
    expect(twin.id).not.toBe(anna.id);
    expect(await store.list(SCOPE)).toEqual([anna]);
    expect((await store.list(OTHER)).map((c) => c.id)).toEqual([twin.id]);
  });
});

describe('scopes', () => {
  it('names every scope that holds a concept, once each, lookalikes apart, until its last concept is forgotten', async () => {
    expect(await store.scopes()).toEqual([]);
    const others = [
      OTHER,
      'telegram:chat:-1001234/x',
      'telegram:chat:-1001234%',
      'telegram:chat:-100123',
      'terminal:ø ünï',
    ];
    const anna = await store.create(person('Anna'));
    const bob = await store.create(person('Bob'));
    for (const scope of others) await store.create(person('Anna', scope));
    const all = [SCOPE, ...others].sort();
    expect(all).toHaveLength(6);
    expect(await store.scopes()).toEqual(all);
    // Each named scope reads back through list(), which stays the only way to its concepts.
    for (const scope of all) expect((await store.list(scope)).length).toBe(scope === SCOPE ? 2 : 1);
    expect(await store.forget(SCOPE, anna.id)).toBe(true);
    expect(await store.scopes()).toEqual(all);
    expect(await store.forget(SCOPE, bob.id)).toBe(true);
    expect(await store.scopes()).toEqual(others.slice().sort());
    await reopen();
    expect(await store.scopes()).toEqual(others.slice().sort());
  });
});

describe('forget', () => {
  const NAME = 'Zebulon Quartzfeather';
  const pattern = new Float32Array([
    1234.5677490234375, -0.0078125, 3.14159274101257, 271828.1875, 0.3333333432674408, 17.25,
  ]);

  const tracesInFiles = () =>
    tracesIn(dir, {
      texts: { name: NAME, photo: 'secret-photo-marker', 'old fact': 'an old fact about Zeb' },
      floats: { float: pattern },
    });

  it('leaves no trace of the concept, its old versions or its photos in the store files', async () => {
    const secret = await photoRef(store, SCOPE, 'secret-photo-marker');
    const shared = await photoRef(store, SCOPE, 'shared');
    const embedding = new Float32Array(600).map((_, i) => pattern[i % pattern.length]);
    const zeb = await store.create(
      person(NAME, SCOPE, {
        photos: [secret, shared],
        facts: ['an old fact about Zeb'],
        embeddings: { m: { vector: embedding, steps: 2, finalLoss: 0.1, updatedAt: secret.addedAt } },
      }),
    );
    await store.modify(SCOPE, zeb.id, (d) => void (d.facts = ['a newer fact']));
    const keeper = await store.create(person('Keeper', SCOPE, { photos: [shared] }));
    await store.close();
    expect(Object.keys(await tracesInFiles())).not.toHaveLength(0); // the probe finds what is there
    store = await KeyvConceptStore.open({ directory: dir });

    expect(await store.forget(SCOPE, zeb.id)).toBe(true);
    expect(await store.forget(SCOPE, zeb.id)).toBe(false);
    expect(await tracesInFiles()).toEqual({});
    expect((await filesUnder(dir)).filter((f) => /-(journal|wal|shm)$/.test(f))).toEqual([]);
    expect(await store.getPhoto(SCOPE, secret.sha256)).toBeNull();
    expect(await store.getPhoto(SCOPE, shared.sha256)).not.toBeNull(); // still Keeper's
    await store.close();
    expect(await tracesInFiles()).toEqual({});
    store = await KeyvConceptStore.open({ directory: dir });
    expect(await store.list(SCOPE)).toEqual([keeper]);
  });
});

describe('photos', () => {
  it('keeps a photo that a teach in progress stored again while another concept using it is forgotten', async () => {
    const photo = await photoRef(store, SCOPE, 'shared between teaches');
    const old = await store.create(person('Old', SCOPE, { photos: [photo] }));
    await reopen(); // nothing pending any more
    const again = await photoRef(store, SCOPE, 'shared between teaches'); // the new teach stores the same bytes
    expect(again.sha256).toBe(photo.sha256);
    await store.forget(SCOPE, old.id);
    const next = await store.create(person('New', SCOPE, { photos: [again] }));
    expect(await store.getPhoto(SCOPE, photo.sha256)).not.toBeNull();
    expect((await store.get(SCOPE, next.id))?.photos).toEqual([again]);
  });

  it('drops photos an update no longer references, and answers null for a damaged photo file', async () => {
    const a = await photoRef(store, SCOPE, 'a');
    const b = await photoRef(store, SCOPE, 'b');
    const anna = await store.create(person('Anna', SCOPE, { photos: [a, b] }));
    await store.modify(SCOPE, anna.id, (d) => void (d.photos = d.photos.filter((p) => p.sha256 !== a.sha256)));
    expect(await store.getPhoto(SCOPE, a.sha256)).toBeNull();
    const file = (await filesUnder(dir)).find((f) => f.endsWith(b.sha256))!;
    await writeFile(file, 'tampered');
    expect(await store.getPhoto(SCOPE, b.sha256)).toBeNull();
    expect(await store.getPhoto(SCOPE, '../../concepts.sqlite')).toBeNull();
    await expect(store.putPhoto(SCOPE, new Uint8Array(0))).rejects.toThrow(InternalError);
    await expect(store.putPhoto(SCOPE, new Uint8Array(0))).rejects.toThrow('refusing to store an empty photo');
  });
});

describe('crashes between writes', () => {
  function crashAt(step: StoreStep): (seen: StoreStep) => void {
    return (seen) => {
      if (seen === step) throw new Error(`simulated crash before ${step}`);
    };
  }

  it('keeps the previous version when the record write never happens, and sweeps the orphan photo', async () => {
    const anna = await store.create(person('Anna', SCOPE, { facts: ['v1'] }));
    await reopen(crashAt('write-record'));
    const photo = await photoRef(store, SCOPE, 'never referenced');
    await expect(
      store.update(SCOPE, anna.id, 1, (d) => {
        d.facts = ['v2'];
        d.photos.push(photo);
      }),
    ).rejects.toThrow(/simulated crash/);
    expect(await store.getPhoto(SCOPE, photo.sha256)).not.toBeNull(); // written first, as it must be

    await reopen();
    expect(await store.get(SCOPE, anna.id)).toEqual(anna);
    expect(await store.getPhoto(SCOPE, photo.sha256)).toBeNull();
    expect((await filesUnder(dir)).filter((f) => f.includes(`${path.sep}blobs${path.sep}`))).toEqual([]);
  });

  it('finishes erasing photos at the next open when forget stopped after deleting the record', async () => {
    const photo = await photoRef(store, SCOPE, 'forget me');
    const anna = await store.create(person('Anna', SCOPE, { photos: [photo] }));
    await reopen(crashAt('discard-photos'));
    await expect(store.forget(SCOPE, anna.id)).rejects.toThrow(/simulated crash/);
    expect(await store.get(SCOPE, anna.id)).toBeNull();
    await reopen();
    expect(await store.getPhoto(SCOPE, photo.sha256)).toBeNull();
  });

  it('skips a damaged row instead of failing the whole scope, and can still forget it', async () => {
    const anna = await store.create(person('Anna'));
    const bob = await store.create(person('Bob'));
    await store.close();
    const raw = new KeyvSqlite({ uri: `sqlite://${path.join(dir, DATABASE_FILE)}`, table: 'concepts' });
    await raw.query(
      `UPDATE concepts SET value = ? WHERE key LIKE ?`,
      '{"value":{"format":1,"concept":{"id":7}}}',
      `%${bob.id}`,
    );
    await raw.disconnect();
    store = await KeyvConceptStore.open({ directory: dir });
    expect(await store.list(SCOPE)).toEqual([anna]);
    await expect(store.get(SCOPE, bob.id)).rejects.toThrow(StoredConceptError);
    await expect(store.get(SCOPE, bob.id)).rejects.toThrow(/damaged/);
    expect(await store.forget(SCOPE, bob.id)).toBe(true);
    expect(await store.get(SCOPE, bob.id)).toBeNull();
  });
});
