// The concept store's behavioural suite, run on every backend: SQLite in
// src/memory/keyv-store.test.ts, Redis and PostgreSQL in
// test/memory/server-stores.test.ts. A backend's fixture says how to open a
// fresh store and where to look for traces of a forgotten concept.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InternalError, UserError } from '../../src/errors.ts';
import type { PhotoRef } from '../../src/memory/concept.ts';
import type { KeyvConceptStore, StoreStep } from '../../src/memory/keyv-store.ts';
import { ConceptNotFoundError, type NewConcept } from '../../src/memory/store.ts';
import { describeScopeMemory } from './scope-memory-suite.ts';
import { needlesOf, type Needles } from './store-traces.ts';

export const SCOPE = 'telegram:chat:-1001234';
export const OTHER = 'discord:guild:42';

export interface StoreFixture {
  /** Makes a new, empty place for a store (a folder, a database). */
  fresh(): Promise<void>;
  /** Opens a store on the current place. */
  open(beforeStep?: (step: StoreStep) => void): Promise<KeyvConceptStore>;
  /** Removes the current place. */
  cleanup(): Promise<void>;
  /** Where each needle occurs in the backend's stored data (file or key names), for every needle found. */
  traces(needles: Needles): Promise<Record<string, string[]>>;
}

/** The store under test; the suite keeps it open between its hooks. */
export interface SuiteState {
  store: KeyvConceptStore;
  reopen(beforeStep?: (step: StoreStep) => void): Promise<KeyvConceptStore>;
}

export function person(name: string, scope = SCOPE, extra: Partial<NewConcept> = {}): NewConcept {
  return {
    scope,
    name,
    kind: 'person',
    owner: 'telegram:user:42',
    head: { type: 'face', recognizer: 'arcface-test', dims: 4, keys: new Float32Array([0.5, -0, 1e-45, Infinity]) },
    ...extra,
  };
}

export function photoBytes(marker: string): Uint8Array {
  return new TextEncoder().encode(`JPEG-ish bytes ${marker}`);
}

export async function photoRef(target: KeyvConceptStore, scope: string, marker: string): Promise<PhotoRef> {
  const sha256 = await target.putPhoto(scope, photoBytes(marker));
  return { sha256, width: 8, height: 8, caption: null, role: 'example', addedAt: new Date().toISOString() };
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

/** Registers the suite for one backend and returns its live state (for backend-specific tests in the same file). */
export function describeConceptStore(label: string, fixture: StoreFixture): SuiteState {
  const state: SuiteState = {
    store: undefined as unknown as KeyvConceptStore,
    async reopen(beforeStep) {
      await state.store.close();
      state.store = await fixture.open(beforeStep);
      return state.store;
    },
  };

  beforeEach(async () => {
    await fixture.fresh();
    state.store = await fixture.open();
  });

  afterEach(async () => {
    await state.store.close();
    await fixture.cleanup();
  });

  describe(`${label}: basics`, () => {
    it('creates, reads, lists by name and finds names case-insensitively', async () => {
      const { store } = state;
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
      const { store } = state;
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

    it('returns the same records, bit for bit, after reopening', async () => {
      const photo = await photoRef(state.store, SCOPE, 'reopen');
      const vector = new Float32Array([Number.NaN, -0, 3.4e38, 1e-40, -Infinity]);
      const made = await state.store.create(
        person('Anna', SCOPE, {
          photos: [photo],
          embeddings: { 'llava-1.6': { vector, steps: 3, finalLoss: null, updatedAt: photo.addedAt } },
        }),
      );
      const store = await state.reopen();
      const back = await store.get(SCOPE, made.id);
      expect(back).toEqual(made);
      expect(bitsOf(back!.embeddings['llava-1.6'].vector)).toEqual(bitsOf(vector));
      expect(await store.list(SCOPE)).toEqual([made]);
      expect(new TextDecoder().decode(await store.getPhoto(SCOPE, photo.sha256))).toBe('JPEG-ish bytes reopen');
    });

    it('refuses a record whose photo was not stored first, and id changes', async () => {
      const { store } = state;
      const ghost: PhotoRef = {
        sha256: 'f'.repeat(64),
        width: 1,
        height: 1,
        caption: null,
        role: 'example',
        addedAt: new Date().toISOString(),
      };
      await expect(store.create(person('Anna', SCOPE, { photos: [ghost] }))).rejects.toThrow(InternalError);
      await expect(store.create(person('Anna', SCOPE, { photos: [ghost] }))).rejects.toThrow(
        /putPhoto must come before/,
      );
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
  });

  describe(`${label}: versioned updates`, () => {
    it('lets exactly one of two updates with the same expected version win', async () => {
      const { store } = state;
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
      const { store } = state;
      const anna = await store.create(person('Anna'));
      const facts = Array.from({ length: 12 }, (_, i) => `fact ${i}`);
      await Promise.all(facts.map((fact) => store.modify(SCOPE, anna.id, (d) => void d.facts.push(fact))));
      const stored = (await store.get(SCOPE, anna.id))!;
      expect(stored.version).toBe(1 + facts.length);
      expect([...stored.facts].sort()).toEqual([...facts].sort());
    });

    it('reports a concept that is gone', async () => {
      const { store } = state;
      const anna = await store.create(person('Anna'));
      await store.forget(SCOPE, anna.id);
      await expect(store.modify(SCOPE, anna.id, () => {})).rejects.toThrow(ConceptNotFoundError);
      await expect(store.update(SCOPE, anna.id, 1, () => {})).rejects.toBeInstanceOf(UserError);
    });
  });

  describe(`${label}: scope isolation`, () => {
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
      const { store } = state;
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

  describe(`${label}: scopes`, () => {
    it('names every scope that holds a concept, once each, lookalikes apart, until its last concept is forgotten', async () => {
      const { store } = state;
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
      expect(await (await state.reopen()).scopes()).toEqual(others.slice().sort());
    });
  });

  describe(`${label}: forget`, () => {
    const NAME = 'Zebulon Quartzfeather';
    const pattern = new Float32Array([
      1234.5677490234375, -0.0078125, 3.14159274101257, 271828.1875, 0.3333333432674408, 17.25,
    ]);
    const needles = needlesOf({
      texts: {
        name: NAME,
        photo: 'secret-photo-marker',
        'photo base64': Buffer.from(photoBytes('secret-photo-marker')).toString('base64').slice(0, 24),
        'old fact': 'an old fact about Zeb',
      },
      floats: { float: pattern },
    });

    it("leaves no trace of the concept, its old versions or its photos in the backend's data", async () => {
      const secret = await photoRef(state.store, SCOPE, 'secret-photo-marker');
      const shared = await photoRef(state.store, SCOPE, 'shared');
      const embedding = new Float32Array(600).map((_, i) => pattern[i % pattern.length]);
      const zeb = await state.store.create(
        person(NAME, SCOPE, {
          photos: [secret, shared],
          facts: ['an old fact about Zeb'],
          embeddings: { m: { vector: embedding, steps: 2, finalLoss: 0.1, updatedAt: secret.addedAt } },
        }),
      );
      await state.store.modify(SCOPE, zeb.id, (d) => void (d.facts = ['a newer fact']));
      const keeper = await state.store.create(person('Keeper', SCOPE, { photos: [shared] }));
      await state.store.close();
      expect(Object.keys(await fixture.traces(needles))).not.toHaveLength(0); // the probe finds what is there
      const store = (state.store = await fixture.open());

      expect(await store.forget(SCOPE, zeb.id)).toBe(true);
      expect(await store.forget(SCOPE, zeb.id)).toBe(false);
      expect(await fixture.traces(needles)).toEqual({});
      expect(await store.getPhoto(SCOPE, secret.sha256)).toBeNull();
      expect(await store.getPhoto(SCOPE, shared.sha256)).not.toBeNull(); // still Keeper's
      await store.close();
      expect(await fixture.traces(needles)).toEqual({});
      state.store = await fixture.open();
      expect(await state.store.list(SCOPE)).toEqual([keeper]);
    });
  });

  describe(`${label}: photos`, () => {
    it('keeps a photo that a teach in progress stored again while another concept using it is forgotten', async () => {
      const photo = await photoRef(state.store, SCOPE, 'shared between teaches');
      const old = await state.store.create(person('Old', SCOPE, { photos: [photo] }));
      const store = await state.reopen(); // nothing pending any more
      const again = await photoRef(store, SCOPE, 'shared between teaches'); // the new teach stores the same bytes
      expect(again.sha256).toBe(photo.sha256);
      await store.forget(SCOPE, old.id);
      const next = await store.create(person('New', SCOPE, { photos: [again] }));
      expect(await store.getPhoto(SCOPE, photo.sha256)).not.toBeNull();
      expect((await store.get(SCOPE, next.id))?.photos).toEqual([again]);
    });

    it('drops photos an update no longer references, and refuses bad photo names and empty photos', async () => {
      const { store } = state;
      const a = await photoRef(store, SCOPE, 'a');
      const b = await photoRef(store, SCOPE, 'b');
      const anna = await store.create(person('Anna', SCOPE, { photos: [a, b] }));
      await store.modify(SCOPE, anna.id, (d) => void (d.photos = d.photos.filter((p) => p.sha256 !== a.sha256)));
      expect(await store.getPhoto(SCOPE, a.sha256)).toBeNull();
      expect(await store.getPhoto(SCOPE, b.sha256)).not.toBeNull();
      expect(await store.getPhoto(SCOPE, '../../concepts.sqlite')).toBeNull();
      await expect(store.putPhoto(SCOPE, new Uint8Array(0))).rejects.toThrow(InternalError);
      await expect(store.putPhoto(SCOPE, new Uint8Array(0))).rejects.toThrow('refusing to store an empty photo');
    });
  });

  describe(`${label}: crashes between writes`, () => {
    it('keeps the previous version when the record write never happens, and sweeps the orphan photo', async () => {
      const anna = await state.store.create(person('Anna', SCOPE, { facts: ['v1'] }));
      let store = await state.reopen(crashAt('write-record'));
      const photo = await photoRef(store, SCOPE, 'never referenced');
      await expect(
        store.update(SCOPE, anna.id, 1, (d) => {
          d.facts = ['v2'];
          d.photos.push(photo);
        }),
      ).rejects.toThrow(/simulated crash/);
      expect(await store.getPhoto(SCOPE, photo.sha256)).not.toBeNull(); // written first, as it must be

      store = await state.reopen();
      expect(await store.get(SCOPE, anna.id)).toEqual(anna);
      // A folder's marks for teaches in progress live in the process, so the next open sweeps the orphan; a
      // server backend keeps the mark (another process may be mid-teach) and sweeps it once PENDING_PHOTO_MS passed.
      expect((await store.getPhoto(SCOPE, photo.sha256)) === null).toBe(store.kind === 'sqlite');
    });

    it('erases the photos too when forget stops right after deleting the record', async () => {
      const photo = await photoRef(state.store, SCOPE, 'forget me');
      const anna = await state.store.create(person('Anna', SCOPE, { photos: [photo] }));
      let store = await state.reopen(crashAt('discard-photos'));
      // Files go after the record's commit (the next open finishes the job); backend photos go in the commit itself.
      await expect(store.forget(SCOPE, anna.id)).rejects.toThrow(/simulated crash/);
      expect(await store.get(SCOPE, anna.id)).toBeNull();
      store = await state.reopen();
      expect(await store.getPhoto(SCOPE, photo.sha256)).toBeNull();
    });
  });

  describeScopeMemory(label, fixture, state);
  return state;
}

function crashAt(step: StoreStep): (seen: StoreStep) => void {
  return (seen) => {
    if (seen === step) throw new Error(`simulated crash before ${step}`);
  };
}
