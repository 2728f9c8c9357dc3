// Teaching photos as content-addressed files: `<root>/<scope folder>/<sha256>`.
// A photo is written to a temp file, fsynced and renamed into place, so a
// crash leaves either the whole photo or nothing. Photos are written before
// the record that references them; ones no record references are removed by
// `discard` (after forget/update) and `sweep` (at open, after a crash).
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InternalError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { Scope } from './concept.ts';

const log = moduleLogger('memory.photos');
const SHA256 = /^[0-9a-f]{64}$/;
const TEMP_SUFFIX = '.tmp';

/**
 * How long a photo stored with `put` but not yet referenced by a record is
 * protected from `discard`: the time a teach may take between storing its
 * photos and writing the concept (face fitting, object-head training).
 */
export const PENDING_PHOTO_MS = 30 * 60_000;

/** Per-scope folder name: a hash, so scope ids never become paths (and `:` works on every OS). */
export function scopeFolder(scope: Scope): string {
  return createHash('sha256').update(scope, 'utf8').digest('hex').slice(0, 32);
}

/** Keys to write (a value) or delete (undefined) in one commit. */
export type Writes = Map<string, string | undefined>;

/** Where a store keeps teaching photos: a folder (PhotoBlobs) or the backend itself (BackendPhotos). */
export interface PhotoStore {
  /** Stores the bytes (a folder writes them now) and returns keys the caller commits (the backend's way). */
  prepare(scope: Scope, bytes: Uint8Array): Promise<{ sha256: string; writes: Writes }>;
  get(scope: Scope, sha256: string): Promise<Uint8Array | null>;
  has(scope: Scope, sha256: string): Promise<boolean>;
  /** Keys that change in the same commit as a record now using `referenced` and no longer `unreferenced`. */
  commitWrites(scope: Scope, referenced: string[], unreferenced: string[]): Promise<Writes>;
  /** Work after that commit (a folder settles and deletes files here). */
  afterCommit(scope: Scope, referenced: string[], unreferenced: string[]): Promise<void>;
  /**
   * Removes photos no record references (`referenced` maps scope folder to
   * the sha256s its records use) and no teach protects: what a crash leaves.
   * A shared backend deletes through `guarded`, which re-reads the folder.
   */
  sweep(referenced: ReadonlyMap<string, ReadonlySet<string>>, guarded: GuardedSweep): Promise<unknown>;
}

/** Runs `plan` for `folder` inside a guarded commit, giving it the photos the folder's records use now. */
export type GuardedSweep = (folder: string, plan: (used: ReadonlySet<string>) => Promise<Writes>) => Promise<void>;

/** The photo files of a concept store. */
export class PhotoBlobs implements PhotoStore {
  private readonly pending = new Map<string, number>();

  constructor(readonly root: string) {}

  /** Stores `bytes` for `scope` (idempotent) and returns their sha256. */
  async put(scope: Scope, bytes: Uint8Array): Promise<string> {
    // Photos are stored re-encoded after decoding, so an empty one is a bug.
    if (bytes.byteLength === 0) throw new InternalError('refusing to store an empty photo');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const folder = scopeFolder(scope);
    this.pending.set(`${folder}/${sha256}`, Date.now() + PENDING_PHOTO_MS);
    const dir = path.join(this.root, folder);
    const file = path.join(dir, sha256);
    if (await exists(file)) return sha256;
    const created = !(await exists(dir));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created) await syncDirectory(this.root);
    const temp = path.join(dir, `${sha256}.${randomUUID()}${TEMP_SUFFIX}`);
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await syncDirectory(dir);
    return sha256;
  }

  async prepare(scope: Scope, bytes: Uint8Array): Promise<{ sha256: string; writes: Writes }> {
    return { sha256: await this.put(scope, bytes), writes: new Map() };
  }

  commitWrites(): Promise<Writes> {
    return Promise.resolve<Writes>(new Map());
  }

  /** Files cannot join the record's commit: they are settled and deleted once it is durable. */
  async afterCommit(scope: Scope, referenced: string[], unreferenced: string[]): Promise<void> {
    this.settle(scope, referenced);
    if (unreferenced.length > 0) await this.discard(scope, unreferenced, new Set());
  }

  /** The photo's bytes, or null when missing or when its content no longer matches its name. */
  async get(scope: Scope, sha256: string): Promise<Uint8Array | null> {
    if (!SHA256.test(sha256)) return null;
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(this.root, scopeFolder(scope), sha256));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
      log.error({ folder: scopeFolder(scope), sha256 }, 'stored photo is damaged (content does not match its hash)');
      return null;
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(scope: Scope, sha256: string): Promise<boolean> {
    return SHA256.test(sha256) && exists(path.join(this.root, scopeFolder(scope), sha256));
  }

  /** Marks photos as referenced by a written record: they no longer need protection. */
  settle(scope: Scope, sha256s: Iterable<string>): void {
    const folder = scopeFolder(scope);
    for (const sha256 of sha256s) this.pending.delete(`${folder}/${sha256}`);
  }

  /** Deletes `candidates` of `scope` that are not in `stillUsed` and not pending; drops an emptied scope folder. */
  async discard(scope: Scope, candidates: Iterable<string>, stillUsed: ReadonlySet<string>): Promise<number> {
    const folder = scopeFolder(scope);
    let removed = 0;
    for (const sha256 of new Set(candidates)) {
      if (stillUsed.has(sha256) || this.isPending(folder, sha256) || !SHA256.test(sha256)) continue;
      await rm(path.join(this.root, folder, sha256), { force: true });
      removed += 1;
    }
    if (removed > 0) await removeIfEmpty(path.join(this.root, folder));
    return removed;
  }

  /**
   * Deletes every photo no record references (`referenced` maps scope folder
   * to the sha256s its records use) and every leftover temp file: what a crash
   * between a photo write and its record write leaves behind.
   */
  async sweep(referenced: ReadonlyMap<string, ReadonlySet<string>>): Promise<number> {
    let removed = 0;
    for (const folder of await listDirectory(this.root)) {
      const dir = path.join(this.root, folder);
      if (!(await stat(dir)).isDirectory()) continue;
      const used = referenced.get(folder);
      for (const name of await listDirectory(dir)) {
        const orphan = SHA256.test(name) && !used?.has(name) && !this.isPending(folder, name);
        if (orphan || name.endsWith(TEMP_SUFFIX)) {
          await rm(path.join(dir, name), { force: true });
          removed += 1;
        }
      }
      await removeIfEmpty(dir);
    }
    if (removed > 0) log.info({ removed }, 'removed photos no concept references');
    return removed;
  }

  private isPending(folder: string, sha256: string): boolean {
    const key = `${folder}/${sha256}`;
    const until = this.pending.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.pending.delete(key);
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error;
  }
}

/** Makes a rename or a new entry in `dir` durable (a no-op where directories cannot be fsynced). */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
