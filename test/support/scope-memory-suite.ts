// Scope records (a chat's settings and the unknown faces it remembers) on
// every backend, as part of the store suite: versioned, bit-exact, one
// scope's alone, kept whole through a crash, and erased without a trace.
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.ts';
import type { StoreStep } from '../../src/memory/keyv-store.ts';
import type { FaceCluster, ScopeMemoryContent } from '../../src/memory/scope-memory.ts';
import type { StoreFixture, SuiteState } from './store-suite.ts';
import { needlesOf } from './store-traces.ts';

const SCOPE = 'telegram:chat:-1001234';
/** A scope whose name is a prefix of SCOPE's. */
const PREFIX_SCOPE = 'telegram:chat:-100123';
const SECRET = new Float32Array([0.125, -0.625, 0.3333333432674408, 0.0078125, 0.75, -0.5, 0.0625, 0.1875]);
const THUMBNAIL = Buffer.from('thumbnail-marker-bytes').toString('base64');

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

function crashAt(step: StoreStep): (seen: StoreStep) => void {
  return (seen) => {
    if (seen === step) throw new Error('crash');
  };
}

export function describeScopeMemory(label: string, fixture: StoreFixture, state: SuiteState): void {
  describe(`${label}: scope records`, () => {
    it('start absent, are versioned, read back bit-exact after a reopen, and belong to one scope', async () => {
      expect(await state.store.scopeMemory(SCOPE)).toBeNull();
      const first = await state.store.changeScopeMemory(SCOPE, () => on([]));
      expect(first).toMatchObject({ scope: SCOPE, version: 1, rememberFaces: true, faceClusters: [] });
      const second = await state.store.changeScopeMemory(SCOPE, (m) => ({ ...m!, faceClusters: [cluster(SECRET)] }));
      expect(second?.version).toBe(2);
      const store = await state.reopen();
      const read = await store.scopeMemory(SCOPE);
      expect(read?.version).toBe(2);
      expect(Array.from(read!.faceClusters[0].keys)).toEqual(Array.from(SECRET));
      // A scope whose name is a prefix of another's sees nothing of it, and concepts do not list it.
      expect(await store.scopeMemory(PREFIX_SCOPE)).toBeNull();
      expect(await store.scopes()).toEqual([]);
      expect(await store.list(SCOPE)).toEqual([]);
    });

    it('refuses a malformed record and writes nothing', async () => {
      await expect(
        state.store.changeScopeMemory(SCOPE, () => on([{ ...cluster(SECRET), keys: new Float32Array(3) }])),
      ).rejects.toThrow(InternalError);
      expect(await state.store.scopeMemory(SCOPE)).toBeNull();
    });

    it('keeps the old record when a write stops before it lands (a crash)', async () => {
      await state.store.changeScopeMemory(SCOPE, () => on([cluster(SECRET)]));
      await expect(
        (await state.reopen(crashAt('write-record'))).changeScopeMemory(SCOPE, () => on([])),
      ).rejects.toThrow('crash');
      await expect((await state.reopen(crashAt('delete-record'))).changeScopeMemory(SCOPE, () => null)).rejects.toThrow(
        'crash',
      );
      const store = await state.reopen();
      expect((await store.scopeMemory(SCOPE))?.faceClusters.map((c) => c.id)).toEqual(['c1']);
    });

    it("leaves no trace of an erased record, its embeddings or old versions in the backend's data", async () => {
      const second = new Float32Array(SECRET.map((x) => -x));
      await state.store.changeScopeMemory(SCOPE, () => on([cluster(SECRET)]));
      await state.store.changeScopeMemory(SCOPE, (m) => ({
        ...m!,
        faceClusters: [cluster(SECRET), cluster(second, 'c2')],
      }));
      await state.store.changeScopeMemory(PREFIX_SCOPE, () => on([]));
      const needles = needlesOf({ texts: { thumbnail: THUMBNAIL }, floats: { first: SECRET, second } });
      await state.store.close();
      expect(Object.keys(await fixture.traces(needles))).not.toHaveLength(0); // the probe finds what is there
      state.store = await fixture.open();

      expect(await state.store.changeScopeMemory(SCOPE, () => null)).toBeNull();
      expect(await fixture.traces(needles)).toEqual({});
      await state.store.close();
      expect(await fixture.traces(needles)).toEqual({});
      state.store = await fixture.open();
      expect(await state.store.scopeMemory(SCOPE)).toBeNull();
      expect((await state.store.scopeMemory(PREFIX_SCOPE))?.rememberFaces).toBe(true);
    });
  });
}
