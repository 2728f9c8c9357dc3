// The embedded concept store: one SQLite file through Keyv plus a folder of
// photo files. Each record is one key (`concept:<scope>/<id>`), written by one
// SQLite statement, so a crash leaves the old version or the new one, never a
// mix. The key's primary-key index is also the scope listing (a range scan),
// so there is no separate index that a crash could leave out of step.
import { randomUUID } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { KeyvSqlite } from '@keyv/sqlite';
import { Keyv, type DeserializedData } from 'keyv';
import { ConflictError, InternalError, OperatorError, UserError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { decodeConcept, encodeConcept, StoredConceptError, type StoredConcept } from './codec.ts';
import type { ConceptRecord, Scope } from './concept.ts';
import { KeyedLock } from './keyed-lock.ts';
import { KeyvScopeMemory, SCOPE_NAMESPACE } from './keyv-scope-memory.ts';
import { PhotoBlobs, scopeFolder } from './photo-blobs.ts';
import { parseConceptRecord } from './record-shape.ts';
import type { ScopeMemory, ScopeMemoryChange } from './scope-memory.ts';
import { claimStoreDirectory } from './store-lock.ts';
import {
  ConceptNotFoundError,
  conceptNameKey,
  type ConceptChange,
  type ConceptStore,
  type NewConcept,
} from './store.ts';

const log = moduleLogger('memory');

/** File names inside the store folder (concepts/README.md describes them to users). */
export const DATABASE_FILE = 'concepts.sqlite';
export const PHOTOS_FOLDER = 'blobs';
const TABLE = 'concepts';
const NAMESPACE = 'concept';
/** How long SQLite waits on a locked database before failing a statement. */
const BUSY_TIMEOUT_MS = 5_000;
/** Records read per query when scanning the whole store at open. */
const SCAN_BATCH = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The durable steps of a write, in order; `beforeStep` sees each one. */
export type StoreStep = 'write-record' | 'delete-record' | 'discard-photos';

export interface KeyvConceptStoreOptions {
  /** Folder for `concepts.sqlite` and `blobs/`; created (mode 0700) if missing. */
  directory: string;
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

/** ConceptStore over Keyv + SQLite. Open it with `KeyvConceptStore.open`. */
export class KeyvConceptStore implements ConceptStore {
  private readonly locks = new KeyedLock();
  private closed = false;
  private readonly scopeRecords: KeyvScopeMemory;

  private constructor(
    /** Absolute path of the store folder. */
    readonly directory: string,
    private readonly keyv: Keyv<StoredConcept>,
    private readonly sqlite: KeyvSqlite,
    private readonly photos: PhotoBlobs,
    private readonly release: () => Promise<void>,
    private readonly beforeStep: (step: StoreStep) => void,
    scopeKeyv: Keyv<unknown>,
  ) {
    this.scopeRecords = new KeyvScopeMemory(scopeKeyv, this.locks, beforeStep);
  }

  /**
   * Opens (or creates) the store in `options.directory`, claims it for this
   * process, and removes photos a crash left without a record.
   */
  static async open(options: KeyvConceptStoreOptions): Promise<KeyvConceptStore> {
    const directory = path.resolve(options.directory);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const release = await claimStoreDirectory(directory);
    const file = path.join(directory, DATABASE_FILE);
    const sqlite = new KeyvSqlite({ uri: `sqlite://${file}`, table: TABLE, busyTimeout: BUSY_TIMEOUT_MS });
    // Concepts and scope records share one connection (and its secure_delete), each under its own key namespace.
    const keyvOf = <Value>(namespace: string) => {
      const keyv = new Keyv<Value>({
        store: sqlite,
        namespace,
        serialize: (data) => JSON.stringify(data),
        // Only the envelope's shape is assumed here; the decoders check every record they read.
        deserialize: <V>(text: string) => JSON.parse(text) as DeserializedData<V>,
        throwOnErrors: true,
      });
      keyv.on('error', (error: unknown) => log.error({ err: error }, 'concept database error'));
      return keyv;
    };
    const scopeKeyv = keyvOf<unknown>(SCOPE_NAMESPACE);
    const keyv = keyvOf<StoredConcept>(NAMESPACE);
    try {
      await configureDatabase(sqlite, file);
      await chmod(file, 0o600);
      const store = new KeyvConceptStore(
        directory,
        keyv,
        sqlite,
        new PhotoBlobs(path.join(directory, PHOTOS_FOLDER)),
        release,
        options.beforeStep ?? (() => {}),
        scopeKeyv,
      );
      await store.sweepPhotos();
      return store;
    } catch (error) {
      await sqlite.disconnect().catch(() => {});
      await release();
      throw error;
    }
  }

  async scopes(): Promise<Scope[]> {
    if (this.closed) throw new InternalError('the concept store is closed');
    const found = new Set<Scope>();
    // Keys are `<encoded scope>/<id>`, and encodeURIComponent never emits '/'.
    for (const key of await this.keysBetween(`${NAMESPACE}:`, `${NAMESPACE};`)) {
      const slash = key.indexOf('/');
      if (slash <= 0) continue;
      try {
        found.add(decodeURIComponent(key.slice(0, slash)));
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
    return this.locks.run(input.scope, async () => {
      refuseNameClash((await this.readScope(input.scope)).records, input.name, null);
      const now = new Date().toISOString();
      const record = await this.write({
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
      });
      log.info({ scope: input.scope, id: record.id }, 'concept created');
      return record;
    });
  }

  async update(scope: Scope, id: string, expectedVersion: number, change: ConceptChange): Promise<ConceptRecord> {
    this.check(scope);
    return this.locks.run(scope, () => this.apply(scope, id, expectedVersion, change));
  }

  /**
   * Reads the latest version under the scope lock, so within this process it
   * never conflicts (and never starves, however many callers queue up).
   */
  async modify(scope: Scope, id: string, change: ConceptChange): Promise<ConceptRecord> {
    this.check(scope);
    return this.locks.run(scope, () => this.apply(scope, id, null, change));
  }

  async putPhoto(scope: Scope, bytes: Uint8Array): Promise<string> {
    this.check(scope);
    return this.photos.put(scope, bytes);
  }

  async getPhoto(scope: Scope, sha256: string): Promise<Uint8Array | null> {
    this.check(scope);
    return this.photos.get(scope, sha256);
  }

  async forget(scope: Scope, id: string): Promise<boolean> {
    this.check(scope);
    if (!UUID.test(id)) return false;
    return this.locks.run(scope, async () => {
      const key = recordKey(scope, id);
      const stored = await this.keyv.get(key);
      if (stored === undefined) return false;
      let photos: string[] = [];
      try {
        photos = decodeConcept(stored).photos.map((p) => p.sha256);
      } catch (error) {
        // A damaged record is still erased; its photos go at the next open's sweep.
        log.warn({ scope, id, err: error }, 'forgetting a damaged concept record');
      }
      this.beforeStep('delete-record');
      await this.keyv.delete(key);
      if (photos.length > 0) await this.discardPhotos(scope, photos);
      log.info({ scope, id }, 'concept forgotten');
      return true;
    });
  }

  async scopeMemory(scope: Scope): Promise<ScopeMemory | null> {
    this.check(scope);
    return this.scopeRecords.get(scope);
  }

  async changeScopeMemory(scope: Scope, change: ScopeMemoryChange): Promise<ScopeMemory | null> {
    this.check(scope);
    return this.scopeRecords.change(scope, change);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.locks.idle();
    await this.keyv.disconnect();
    await this.release();
  }

  /** The read-check-write of one update; the caller holds the scope lock. */
  private async apply(
    scope: Scope,
    id: string,
    expectedVersion: number | null,
    change: ConceptChange,
  ): Promise<ConceptRecord> {
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
    const next = await this.write({ ...changed, version: current.version + 1, updatedAt: new Date().toISOString() });
    const kept = new Set(next.photos.map((p) => p.sha256));
    const dropped = current.photos.map((p) => p.sha256).filter((sha256) => !kept.has(sha256));
    if (dropped.length > 0) await this.discardPhotos(scope, dropped);
    log.info({ scope, id, version: next.version }, 'concept updated');
    return next;
  }

  private check(scope: Scope): void {
    if (this.closed) throw new InternalError('the concept store is closed');
    if (typeof scope !== 'string' || scope.length === 0)
      throw new InternalError('a concept store call needs a non-empty scope');
  }

  private async readOne(scope: Scope, id: string): Promise<ConceptRecord | null> {
    if (!UUID.test(id)) return null;
    const stored = await this.keyv.get(recordKey(scope, id));
    if (stored === undefined) return null;
    const record = decodeConcept(stored);
    if (record.scope !== scope || record.id !== id)
      throw new StoredConceptError(`stored concept ${id} does not match its key`);
    return record;
  }

  private async readScope(scope: Scope): Promise<ScopeRead> {
    const prefix = `${NAMESPACE}:${scopePrefix(scope)}`;
    // '0' sorts right after '/', so this range is exactly the keys under the prefix.
    return this.readKeys(await this.keysBetween(prefix, `${prefix.slice(0, -1)}0`), scope);
  }

  private async keysBetween(from: string, to: string): Promise<string[]> {
    const rows = (await this.sqlite.query(`SELECT key FROM ${TABLE} WHERE key >= ? AND key < ?`, from, to)) as Array<{
      key: string;
    }>;
    return rows.map((row) => row.key.slice(NAMESPACE.length + 1));
  }

  private async readKeys(keys: string[], scope: Scope | null): Promise<ScopeRead> {
    const records: ConceptRecord[] = [];
    let damaged = 0;
    for (let start = 0; start < keys.length; start += SCAN_BATCH) {
      const batch = keys.slice(start, start + SCAN_BATCH);
      const values = await this.keyv.getMany<StoredConcept>(batch);
      values.forEach((stored, i) => {
        if (stored === undefined) return; // deleted since the key scan
        try {
          const record = decodeConcept(stored);
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

  /** Writes one record as one key; its photos must already be stored. */
  private async write(record: ConceptRecord): Promise<ConceptRecord> {
    const stored = encodeConcept(record);
    for (const photo of record.photos) {
      if (!(await this.photos.has(record.scope, photo.sha256))) {
        throw new InternalError(
          `photo ${photo.sha256} is not stored in this scope; putPhoto must come before the record`,
        );
      }
    }
    this.beforeStep('write-record');
    await this.keyv.set(recordKey(record.scope, record.id), stored);
    this.photos.settle(
      record.scope,
      record.photos.map((p) => p.sha256),
    );
    return parseConceptRecord(record);
  }

  private async discardPhotos(scope: Scope, candidates: string[]): Promise<void> {
    this.beforeStep('discard-photos');
    const { records, damaged } = await this.readScope(scope);
    if (damaged > 0) return; // a damaged record might use them; the open-time sweep decides later
    await this.photos.discard(scope, candidates, new Set(records.flatMap((r) => r.photos.map((p) => p.sha256))));
  }

  private async sweepPhotos(): Promise<void> {
    const { records, damaged } = await this.readKeys(await this.keysBetween(`${NAMESPACE}:`, `${NAMESPACE};`), null);
    if (damaged > 0) {
      log.warn({ damaged }, 'not sweeping photos while some concept records are damaged');
      return;
    }
    const referenced = new Map<string, Set<string>>();
    for (const record of records) {
      const folder = scopeFolder(record.scope);
      const used = referenced.get(folder) ?? new Set<string>();
      for (const photo of record.photos) used.add(photo.sha256);
      referenced.set(folder, used);
    }
    await this.photos.sweep(referenced);
  }
}

/** Rollback journal (deleted at commit), full fsync, and freed space overwritten with zeros. */
async function configureDatabase(sqlite: KeyvSqlite, file: string): Promise<void> {
  try {
    await sqlite.query('PRAGMA journal_mode = DELETE');
    await sqlite.query('PRAGMA synchronous = FULL');
    await sqlite.query('PRAGMA secure_delete = ON');
    const [row] = (await sqlite.query('PRAGMA secure_delete')) as Array<Record<string, unknown>>;
    if (Object.values(row ?? {})[0] !== 1) throw new Error('SQLite did not enable secure_delete');
  } catch (error) {
    throw new OperatorError(`Cannot open the concept database ${file}: ${(error as Error).message}.`, {
      cause: error,
      hint: 'Restore it from a backup, or move it away to start with an empty memory.',
    });
  }
}

function scopePrefix(scope: Scope): string {
  // encodeURIComponent never emits '/', so one scope's prefix is never a prefix of another's.
  return `${encodeURIComponent(scope)}/`;
}

function recordKey(scope: Scope, id: string): string {
  return `${scopePrefix(scope)}${id}`;
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
