// Teaching photos as keys of a shared backend (Redis, PostgreSQL), so every
// process serving a chat reads them: `photo:<scope folder>/<sha256>` holds
// the bytes (base64), `pending:<scope folder>/<sha256>` the time until which
// a photo stored for a teach in progress is protected. Unlike files, these
// keys change in the same atomic commit as the record that stops (or starts)
// referencing them, so no crash leaves a photo behind, and no process can
// delete a photo another process has just referenced.
import { createHash } from 'node:crypto';
import { InternalError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { Scope } from './concept.ts';
import { PENDING_PHOTO_MS, scopeFolder, type GuardedSweep, type PhotoStore, type Writes } from './photo-blobs.ts';
import type { RecordBackend } from './record-backend.ts';

const log = moduleLogger('memory.photos');
const SHA256 = /^[0-9a-f]{64}$/;
export const PHOTO_PREFIX = 'photo:';
const PENDING_PREFIX = 'pending:';

export class BackendPhotos implements PhotoStore {
  constructor(private readonly backend: RecordBackend) {}

  prepare(scope: Scope, bytes: Uint8Array): Promise<{ sha256: string; writes: Writes }> {
    if (bytes.byteLength === 0) return Promise.reject(new InternalError('refusing to store an empty photo'));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const writes: Writes = new Map([
      [photoKey(scope, sha256), Buffer.from(bytes).toString('base64')],
      [pendingKey(scopeFolder(scope), sha256), String(Date.now() + PENDING_PHOTO_MS)],
    ]);
    return Promise.resolve({ sha256, writes });
  }

  async get(scope: Scope, sha256: string): Promise<Uint8Array | null> {
    if (!SHA256.test(sha256)) return null;
    const text = await this.backend.get(photoKey(scope, sha256));
    if (text === undefined) return null;
    const bytes = Buffer.from(text, 'base64');
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
      log.error({ folder: scopeFolder(scope), sha256 }, 'stored photo is damaged (content does not match its hash)');
      return null;
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(scope: Scope, sha256: string): Promise<boolean> {
    return SHA256.test(sha256) && (await this.backend.get(photoKey(scope, sha256))) !== undefined;
  }

  async commitWrites(scope: Scope, referenced: string[], unreferenced: string[]): Promise<Writes> {
    const folder = scopeFolder(scope);
    const writes: Writes = new Map();
    for (const sha256 of referenced) writes.set(pendingKey(folder, sha256), undefined);
    await this.dropUnprotected(folder, unreferenced, writes);
    return writes;
  }

  async afterCommit(): Promise<void> {}

  /**
   * Deletes photos no record references and no teach protects (what a crash
   * between storing photos and writing the record leaves). Each folder with
   * such photos is re-read and cleaned in one guarded commit.
   */
  async sweep(referenced: ReadonlyMap<string, ReadonlySet<string>>, guarded: GuardedSweep): Promise<void> {
    const byFolder = new Map<string, string[]>();
    for (const key of await this.backend.keysWithPrefix(PHOTO_PREFIX)) {
      const [folder, sha256] = key.slice(PHOTO_PREFIX.length).split('/');
      if (!referenced.get(folder)?.has(sha256)) byFolder.set(folder, [...(byFolder.get(folder) ?? []), sha256]);
    }
    for (const [folder, candidates] of byFolder) {
      await guarded(folder, async (used) => {
        const writes: Writes = new Map();
        await this.dropUnprotected(
          folder,
          candidates.filter((sha256) => !used.has(sha256)),
          writes,
        );
        return writes;
      });
    }
  }

  private async dropUnprotected(folder: string, candidates: string[], writes: Writes): Promise<void> {
    const unique = [...new Set(candidates)].filter((sha256) => SHA256.test(sha256));
    const markers = await this.backend.getMany(unique.map((sha256) => pendingKey(folder, sha256)));
    unique.forEach((sha256, i) => {
      if (Number(markers[i] ?? 0) > Date.now()) return; // a teach in progress stored it
      writes.set(`${PHOTO_PREFIX}${folder}/${sha256}`, undefined);
      writes.set(pendingKey(folder, sha256), undefined);
    });
  }
}

function photoKey(scope: Scope, sha256: string): string {
  return `${PHOTO_PREFIX}${scopeFolder(scope)}/${sha256}`;
}

function pendingKey(folder: string, sha256: string): string {
  return `${PENDING_PREFIX}${folder}/${sha256}`;
}
