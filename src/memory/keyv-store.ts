// The concept store over a Keyv backend: SQLite (embedded, the default),
// Redis or PostgreSQL (shared by several processes), chosen by URL. Each
// record is one key (`concept:<scope>/<id>`), so a scope listing is a prefix
// scan. Every write in a scope goes through one compare-and-set commit that
// also replaces the scope's guard key (`guard:<scope folder>`, a random token):
// whatever a write read in that scope (the record's version, the other names,
// which photos are still used) is still true when it lands, in this process
// or any other, or the write is re-read and tried again.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, InternalError, UserError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { decodeConcept, encodeConcept, StoredConceptError } from './codec.ts';
import type { ConceptRecord, Scope } from './concept.ts';
import { KeyedLock } from './keyed-lock.ts';
import { planScopeMemory, readScopeMemory, scopeMemoryKey } from './keyv-scope-memory.ts';
import { openBackend } from './open-backend.ts';
import { scopeFolder, type PhotoStore, type Writes } from './photo-blobs.ts';
import { CONCEPT_PREFIX, recordKey, scopePrefix, unwrap, wrap } from './record-keys.ts';
import type { RecordBackend } from './record-backend.ts';
import { parseConceptRecord } from './record-shape.ts';
import type { ScopeMemory, ScopeMemoryChange } from './scope-memory.ts';
import {
  ConceptNotFoundError,
  conceptNameKey,
  type ConceptChange,
  type ConceptStore,
  type NewConcept,
} from './store.ts';

const log = moduleLogger('memory');

const GUARD_PREFIX = 'guard:';
/** Records read per query when scanning a scope or the whole store. */
const SCAN_BATCH = 200;
/**
 * Commits tried before a write gives up with ConflictError. Each failed try
 * means another write in the same scope landed, so this bounds only how long
 * one caller waits behind a burst of other processes' writes.
 */
const MAX_COMMIT_ATTEMPTS = 50;
/** Upper bound of the random pause between tries, so racing processes stop colliding. */
const RETRY_PAUSE_MS = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The durable steps of a write, in order; `beforeStep` sees each one. */
export type StoreStep = 'write-photo' | 'write-record' | 'delete-record' | 'discard-photos';

export interface KeyvConceptStoreOptions {
  /**
   * `sqlite://<folder>`, `redis://…` (or `rediss://`) or `postgres://…` (or
   * `postgresql://`). Default: SQLite in `directory`.
   */
  url?: string | null;
  /** Folder for `concepts.sqlite` and `blobs/` when the store is SQLite; created (mode 0700) if missing. */
  directory?: string;
  /**
   * Test seam, default none: called just before each durable step. Throwing
   * from it stops the write there, as a crash would, so tests can check what
   * a reopened store sees.
   */
  beforeStep?: (step: StoreStep) => void;
}

interface ScopeRead {
  records: ConceptRecord[];
  /** Rows that failed to decode; photo clean-up is skipped while any exist. */
  damaged: number;
}

/** What one guarded write does: keys to commit, then work once they are durable. */
interface WritePlan<T> {
  step: StoreStep;
  writes: Writes;
  result: T;
  after?: () => Promise<void>;
}

/** ConceptStore over a RecordBackend. Open it with `KeyvConceptStore.open`. */
export class KeyvConceptStore implements ConceptStore {
  private readonly locks = new KeyedLock();
  private closed = false;

  private constructor(
    private readonly backend: RecordBackend,
    private readonly photos: PhotoStore,
    private readonly release: () => Promise<void>,
    private readonly beforeStep: (step: StoreStep) => void,
  ) {}

  /**
   * Opens (or creates) the store named by `options.url` (SQLite in
   * `options.directory` by default), and removes photos a crash left without
   * a record. An SQLite folder is claimed for this process alone.
   */
  static async open(options: KeyvConceptStoreOptions): Promise<KeyvConceptStore> {
    const { backend, photos, release } = await openBackend(options.url ?? null, options.directory);
    const store = new KeyvConceptStore(backend, photos, release, options.beforeStep ?? (() => {}));
    try {
      await store.sweepPhotos();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** 'sqlite', 'redis' or 'postgres'. */
  get kind(): RecordBackend['kind'] {
    return this.backend.kind;
  }

  async scopes(): Promise<Scope[]> {
    if (this.closed) throw new InternalError('the concept store is closed');
    const found = new Set<Scope>();
    // Keys are `concept:<encoded scope>/<id>`, and encodeURIComponent never emits '/'.
    for (const key of await this.backend.keysWithPrefix(CONCEPT_PREFIX)) {
      const rest = key.slice(CONCEPT_PREFIX.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) continue;
      try {
        found.add(decodeURIComponent(rest.slice(0, slash)));
      } catch {
        log.error({ key }, 'skipping a concept key with a malformed scope');
      }
    }
    return [...found].sort(compare);
  }

  async list(scope: Scope): Promise<ConceptRecord[]> {
    this.check(scope);
    const { records } = await this.readScope(scope);
    return records.sort(
      (a, b) =>
        compare(conceptNameKey(a.name), conceptNameKey(b.name)) || compare(a.name, b.name) || compare(a.id, b.id),
    );
  }

  async get(scope: Scope, id: string): Promise<ConceptRecord | null> {
    this.check(scope);
    return this.readOne(scope, id);
  }

  async findByName(scope: Scope, name: string): Promise<ConceptRecord | null> {
    const wanted = conceptNameKey(name);
    return (await this.list(scope)).find((record) => conceptNameKey(record.name) === wanted) ?? null;
  }

  async create(input: NewConcept): Promise<ConceptRecord> {
    this.check(input.scope);
    requireName(input.name);
    const now = new Date().toISOString();
    const record: ConceptRecord = {
      id: randomUUID(),
      scope: input.scope,
      name: input.name,
      identifier: input.identifier ?? input.name,
      kind: input.kind,
      owner: input.owner,
      createdAt: now,
      updatedAt: now,
      version: 1,
      head: input.head ?? null,
      embeddings: input.embeddings ?? {},
      facts: input.facts ?? [],
      photos: input.photos ?? [],
    };
    const created = await this.guarded(input.scope, async () => {
      refuseNameClash((await this.readScope(input.scope)).records, input.name, null);
      return this.planWrite(record, []);
    });
    log.info({ scope: input.scope, id: created.id }, 'concept created');
    return created;
  }

  async update(scope: Scope, id: string, expectedVersion: number, change: ConceptChange): Promise<ConceptRecord> {
    this.check(scope);
    return this.apply(scope, id, expectedVersion, change);
  }

  /**
   * `update` against the version read inside the guarded write: it retries
   * when another process wrote first, and within this process the scope lock
   * queues callers, so it never conflicts there (and never starves).
   */
  async modify(scope: Scope, id: string, change: ConceptChange): Promise<ConceptRecord> {
    this.check(scope);
    return this.apply(scope, id, null, change);
  }

  async putPhoto(scope: Scope, bytes: Uint8Array): Promise<string> {
    this.check(scope);
    const { sha256, writes } = await this.photos.prepare(scope, bytes);
    if (writes.size === 0) return sha256;
    return this.guarded(scope, () =>
      Promise.resolve<WritePlan<string>>({ step: 'write-photo', writes: new Map(writes), result: sha256 }),
    );
  }

  async getPhoto(scope: Scope, sha256: string): Promise<Uint8Array | null> {
    this.check(scope);
    return this.photos.get(scope, sha256);
  }

  async forget(scope: Scope, id: string): Promise<boolean> {
    this.check(scope);
    if (!UUID.test(id)) return false;
    const forgotten = await this.guarded(scope, async () => {
      const key = recordKey(scope, id);
      const stored = await this.backend.get(key);
      if (stored === undefined) return null;
      let photos: string[] = [];
      try {
        photos = decodeConcept(unwrap(stored)).photos.map((p) => p.sha256);
      } catch (error) {
        // A damaged record is still erased; its photos go at the next open's sweep.
        log.warn({ scope, id, err: error }, 'forgetting a damaged concept record');
      }
      const unreferenced = await this.unreferenced(scope, id, photos);
      const writes: Writes = new Map([[key, undefined]]);
      for (const [k, v] of await this.photos.commitWrites(scope, [], unreferenced)) writes.set(k, v);
      return {
        step: 'delete-record',
        writes,
        result: true,
        after: async () => {
          await this.afterPhotos(scope, [], unreferenced);
          await this.backend.scrub();
        },
      };
    });
    if (forgotten) log.info({ scope, id }, 'concept forgotten');
    return forgotten ?? false;
  }

  async scopeMemory(scope: Scope): Promise<ScopeMemory | null> {
    this.check(scope);
    return readScopeMemory(this.backend, scope);
  }

  /** Guarded like a concept write: a scope's record and its concepts are never written at once, in any process. */
  async changeScopeMemory(scope: Scope, change: ScopeMemoryChange): Promise<ScopeMemory | null> {
    this.check(scope);
    return this.guarded(scope, async (): Promise<WritePlan<ScopeMemory | null> | null> => {
      const planned = planScopeMemory(scope, await readScopeMemory(this.backend, scope), change);
      if (planned === null) return null;
      return {
        step: planned.step,
        writes: new Map([[scopeMemoryKey(scope), planned.value]]),
        result: planned.result,
        after: planned.step === 'delete-record' ? () => this.backend.scrub() : undefined,
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.locks.idle();
    await this.backend.close();
    await this.release();
  }

  /** The read-check-write of one update, inside a guarded write. */
  private async apply(
    scope: Scope,
    id: string,
    expectedVersion: number | null,
    change: ConceptChange,
  ): Promise<ConceptRecord> {
    const next = await this.guarded(scope, async () => {
      const current = await this.readOne(scope, id);
      if (!current) throw new ConceptNotFoundError(id);
      if (expectedVersion !== null && current.version !== expectedVersion) {
        throw new ConflictError(`concept ${id} is at version ${current.version}, not ${expectedVersion}`);
      }
      const draft = structuredClone(current);
      const changed = change(draft) ?? draft;
      if (changed.id !== current.id || changed.scope !== current.scope || changed.createdAt !== current.createdAt) {
        throw new InternalError('a concept change may not alter id, scope or createdAt');
      }
      requireName(changed.name);
      if (conceptNameKey(changed.name) !== conceptNameKey(current.name)) {
        refuseNameClash((await this.readScope(scope)).records, changed.name, id);
      }
      const record = { ...changed, version: current.version + 1, updatedAt: new Date().toISOString() };
      const kept = new Set(record.photos.map((p) => p.sha256));
      const dropped = current.photos.map((p) => p.sha256).filter((sha256) => !kept.has(sha256));
      return this.planWrite(record, await this.unreferenced(scope, id, dropped, kept));
    });
    log.info({ scope, id, version: next.version }, 'concept updated');
    return next;
  }

  /** The plan that writes one record as one key; its photos must already be stored. */
  private async planWrite(record: ConceptRecord, unreferenced: string[]): Promise<WritePlan<ConceptRecord>> {
    const stored = encodeConcept(record);
    const used = record.photos.map((p) => p.sha256);
    for (const sha256 of used) {
      if (!(await this.photos.has(record.scope, sha256))) {
        throw new InternalError(`photo ${sha256} is not stored in this scope; putPhoto must come before the record`);
      }
    }
    const writes: Writes = new Map([[recordKey(record.scope, record.id), wrap(stored)]]);
    for (const [k, v] of await this.photos.commitWrites(record.scope, used, unreferenced)) writes.set(k, v);
    return {
      step: 'write-record',
      writes,
      result: parseConceptRecord(record),
      after: () => this.afterPhotos(record.scope, used, unreferenced),
    };
  }

  private async afterPhotos(scope: Scope, used: string[], unreferenced: string[]): Promise<void> {
    if (unreferenced.length > 0) this.beforeStep('discard-photos');
    await this.photos.afterCommit(scope, used, unreferenced);
  }

  /** Which of `candidates` no other record of the scope uses (none while any record is damaged). */
  private async unreferenced(
    scope: Scope,
    selfId: string,
    candidates: string[],
    keptBySelf: ReadonlySet<string> = new Set(),
  ): Promise<string[]> {
    if (candidates.length === 0) return [];
    const { records, damaged } = await this.readScope(scope);
    if (damaged > 0) return []; // a damaged record might use them; the open-time sweep decides later
    const used = new Set(records.filter((r) => r.id !== selfId).flatMap((r) => r.photos.map((p) => p.sha256)));
    return [...new Set(candidates)].filter((sha256) => !used.has(sha256) && !keptBySelf.has(sha256));
  }

  /**
   * Runs `plan` and commits its writes only if no other write touched the
   * scope since `plan` started reading; otherwise reads and plans again. A
   * plan that returns null has nothing to write.
   */
  private async guarded<T>(scope: Scope, plan: () => Promise<WritePlan<T>>): Promise<T>;
  private async guarded<T>(scope: Scope, plan: () => Promise<WritePlan<T> | null>): Promise<T | null>;
  private async guarded<T>(scope: Scope, plan: () => Promise<WritePlan<T> | null>): Promise<T | null> {
    return this.guardedFolder(scopeFolder(scope), plan);
  }

  private async guardedFolder<T>(folder: string, plan: () => Promise<WritePlan<T> | null>): Promise<T | null> {
    const guard = `${GUARD_PREFIX}${folder}`;
    return this.locks.run(folder, async () => {
      for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
        const token = await this.backend.get(guard);
        const planned = await plan();
        if (planned === null) return null;
        const writes: Writes = new Map(planned.writes);
        writes.set(guard, randomUUID());
        this.beforeStep(planned.step);
        if (await this.backend.commit(new Map([[guard, token]]), writes)) {
          await planned.after?.();
          return planned.result;
        }
        await sleep(Math.random() * RETRY_PAUSE_MS * Math.min(attempt, 5));
      }
      throw new ConflictError(
        `the concept store is too busy in this chat (${MAX_COMMIT_ATTEMPTS} writes raced this one)`,
      );
    });
  }

  private check(scope: Scope): void {
    if (this.closed) throw new InternalError('the concept store is closed');
    if (typeof scope !== 'string' || scope.length === 0)
      throw new InternalError('a concept store call needs a non-empty scope');
  }

  private async readOne(scope: Scope, id: string): Promise<ConceptRecord | null> {
    if (!UUID.test(id)) return null;
    const stored = await this.backend.get(recordKey(scope, id));
    if (stored === undefined) return null;
    const record = decodeConcept(unwrap(stored));
    if (record.scope !== scope || record.id !== id)
      throw new StoredConceptError(`stored concept ${id} does not match its key`);
    return record;
  }

  private async readScope(scope: Scope): Promise<ScopeRead> {
    return this.readKeys(await this.backend.keysWithPrefix(scopePrefix(scope)), scope);
  }

  private async readKeys(keys: string[], scope: Scope | null): Promise<ScopeRead> {
    const records: ConceptRecord[] = [];
    let damaged = 0;
    for (let start = 0; start < keys.length; start += SCAN_BATCH) {
      const batch = keys.slice(start, start + SCAN_BATCH);
      const values = await this.backend.getMany(batch);
      values.forEach((stored, i) => {
        if (stored === undefined) return; // deleted since the key scan
        try {
          const record = decodeConcept(unwrap(stored));
          if ((scope !== null && record.scope !== scope) || recordKey(record.scope, record.id) !== batch[i]) {
            throw new StoredConceptError('record does not match its key');
          }
          records.push(record);
        } catch (error) {
          damaged += 1;
          log.error({ key: batch[i], err: error }, 'skipping a damaged concept record');
        }
      });
    }
    return { records, damaged };
  }

  /** The photos each scope folder's records use, or null while any record is damaged. */
  private async photosInUse(): Promise<Map<string, Set<string>> | null> {
    const { records, damaged } = await this.readKeys(await this.backend.keysWithPrefix(CONCEPT_PREFIX), null);
    if (damaged > 0) {
      log.warn({ damaged }, 'not sweeping photos while some concept records are damaged');
      return null;
    }
    const referenced = new Map<string, Set<string>>();
    for (const record of records) {
      const folder = scopeFolder(record.scope);
      const used = referenced.get(folder) ?? new Set<string>();
      for (const photo of record.photos) used.add(photo.sha256);
      referenced.set(folder, used);
    }
    return referenced;
  }

  private async sweepPhotos(): Promise<void> {
    const referenced = await this.photosInUse();
    if (referenced === null) return;
    // On a shared backend another process may write meanwhile: each folder is re-read inside its guarded commit.
    await this.photos.sweep(referenced, async (folder, planDeletes) => {
      await this.guardedFolder(folder, async () => {
        const now = await this.photosInUse();
        if (now === null) return null;
        const writes = await planDeletes(now.get(folder) ?? new Set());
        return writes.size === 0 ? null : { step: 'discard-photos', writes, result: undefined };
      });
    });
  }
}

function requireName(name: unknown): void {
  if (typeof name !== 'string' || conceptNameKey(name) === '') throw new UserError('A concept needs a name.');
}

function refuseNameClash(records: ConceptRecord[], name: string, selfId: string | null): void {
  const wanted = conceptNameKey(name);
  const clash = records.find((r) => r.id !== selfId && conceptNameKey(r.name) === wanted);
  if (clash) throw new UserError(`There is already a concept called "${clash.name}" here. Pick another name.`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
