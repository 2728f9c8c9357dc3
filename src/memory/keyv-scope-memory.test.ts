import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InternalError } from '../errors.ts';
import { tracesInFiles } from '../../test/support/store-traces.ts';
import { KeyvConceptStore, type StoreStep } from './keyv-store.ts';
import type { FaceCluster, ScopeMemoryContent } from './scope-memory.ts';

const SCOPE = 'telegram:chat:-1001234';
const OTHER = 'telegram:chat:-100123';
const SECRET = new Float32Array([0.125, -0.625, 0.3333333432674408, 0.0078125, 0.75, -0.5, 0.0625, 0.1875]);
const THUMBNAIL = Buffer.from('thumbnail-marker-bytes').toString('base64');

let dir: string;
let store: KeyvConceptStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'myvlm-scope-'));
  store = await KeyvConceptStore.open({ directory: dir });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function cluster(keys: Float32Array, id = 'c1'): FaceCluster {
  const now = new Date().toISOString();
  return {
    id,
    recognizer: 'dlib-resnet-v1',
    dims: 4,
    keys,
    photos: 3,
    recentPhotos: ['a'.repeat(64)],
    thumbnail: THUMBNAIL,
    firstSeen: now,
    lastSeen: now,
  };
}

const on = (clusters: FaceCluster[]): ScopeMemoryContent => ({ rememberFaces: true, faceClusters: clusters });

describe('scope records', () => {
  it('start absent, are versioned, read back bit-exact after a reopen, and belong to one scope', async () => {
    expect(await store.scopeMemory(SCOPE)).toBeNull();
    const first = await store.changeScopeMemory(SCOPE, () => on([]));
    expect(first).toMatchObject({ scope: SCOPE, version: 1, rememberFaces: true, faceClusters: [] });
    const second = await store.changeScopeMemory(SCOPE, (m) => ({ ...m!, faceClusters: [cluster(SECRET)] }));
    expect(second?.version).toBe(2);
    await store.close();
    store = await KeyvConceptStore.open({ directory: dir });
    const read = await store.scopeMemory(SCOPE);
    expect(read?.version).toBe(2);
    expect(Array.from(read!.faceClusters[0].keys)).toEqual(Array.from(SECRET));
    // A scope whose name is a prefix of another's sees nothing of it, and concepts do not list it.
    expect(await store.scopeMemory(OTHER)).toBeNull();
    expect(await store.scopes()).toEqual([]);
    expect(await store.list(SCOPE)).toEqual([]);
  });

  it('refuses a malformed record and writes nothing', async () => {
    await expect(
      store.changeScopeMemory(SCOPE, () => on([{ ...cluster(SECRET), keys: new Float32Array(3) }])),
    ).rejects.toThrow(InternalError);
    expect(await store.scopeMemory(SCOPE)).toBeNull();
  });

  it('keeps the old record when a write stops before it lands (a crash)', async () => {
    await store.changeScopeMemory(SCOPE, () => on([cluster(SECRET)]));
    await store.close();
    const crashAt = (step: StoreStep) => (seen: StoreStep) => {
      if (seen === step) throw new Error('crash');
    };
    store = await KeyvConceptStore.open({ directory: dir, beforeStep: crashAt('write-record') });
    await expect(store.changeScopeMemory(SCOPE, () => on([]))).rejects.toThrow('crash');
    await store.close();
    store = await KeyvConceptStore.open({ directory: dir, beforeStep: crashAt('delete-record') });
    await expect(store.changeScopeMemory(SCOPE, () => null)).rejects.toThrow('crash');
    await store.close();
    store = await KeyvConceptStore.open({ directory: dir });
    expect((await store.scopeMemory(SCOPE))?.faceClusters.map((c) => c.id)).toEqual(['c1']);
  });

  it('leaves no trace of an erased record, its embeddings or old versions in the store files', async () => {
    const second = new Float32Array(SECRET.map((x) => -x));
    await store.changeScopeMemory(SCOPE, () => on([cluster(SECRET)]));
    await store.changeScopeMemory(SCOPE, (m) => ({ ...m!, faceClusters: [cluster(SECRET), cluster(second, 'c2')] }));
    await store.changeScopeMemory(OTHER, () => on([]));
    const secrets = { texts: { thumbnail: THUMBNAIL }, floats: { first: SECRET, second } };
    await store.close();
    expect(Object.keys(await tracesInFiles(dir, secrets))).not.toHaveLength(0); // the probe finds what is there
    store = await KeyvConceptStore.open({ directory: dir });

    expect(await store.changeScopeMemory(SCOPE, () => null)).toBeNull();
    expect(await tracesInFiles(dir, secrets)).toEqual({});
    await store.close();
    expect(await tracesInFiles(dir, secrets)).toEqual({});
    store = await KeyvConceptStore.open({ directory: dir });
    expect(await store.scopeMemory(SCOPE)).toBeNull();
    expect((await store.scopeMemory(OTHER))?.rememberFaces).toBe(true);
  });
});
