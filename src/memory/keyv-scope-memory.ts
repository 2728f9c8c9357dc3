// Scope records in the concept store's own SQLite database, beside the
// concepts: one key per scope (`scope:<encoded scope>`), written whole by one
// statement, so a crash leaves the old record or the new one. Erasing a
// record is one delete, and the database's secure_delete overwrites the freed
// bytes, so nothing a scope kept survives in the file.
import type { Keyv } from 'keyv';
import { StoredConceptError } from './codec.ts';
import type { Scope } from './concept.ts';
import type { KeyedLock } from './keyed-lock.ts';
import { decodeScopeMemory, encodeScopeMemory, type ScopeMemory, type ScopeMemoryChange } from './scope-memory.ts';

/** Key namespace of scope records in the concept database. */
export const SCOPE_NAMESPACE = 'scope';

export class KeyvScopeMemory {
  constructor(
    private readonly keyv: Keyv<unknown>,
    /** The concept store's scope lock: a scope's concepts and record are never written at once. */
    private readonly locks: KeyedLock,
    private readonly beforeStep: (step: 'write-record' | 'delete-record') => void,
  ) {}

  async get(scope: Scope): Promise<ScopeMemory | null> {
    const stored = await this.keyv.get(scopeKey(scope));
    if (stored === undefined) return null;
    const record = decodeScopeMemory(stored);
    if (record.scope !== scope)
      throw new StoredConceptError(`stored scope record of ${record.scope} sits under ${scope}`);
    return record;
  }

  /** Reads, changes and writes (or deletes) the record under the scope lock. */
  change(scope: Scope, change: ScopeMemoryChange): Promise<ScopeMemory | null> {
    return this.locks.run(scope, async () => {
      const current = await this.get(scope);
      const next = change(current === null ? null : structuredClone(current));
      if (next === null) {
        if (current !== null) {
          this.beforeStep('delete-record');
          await this.keyv.delete(scopeKey(scope));
        }
        return null;
      }
      const record: ScopeMemory = {
        rememberFaces: next.rememberFaces,
        faceClusters: next.faceClusters,
        scope,
        version: (current?.version ?? 0) + 1,
        updatedAt: new Date().toISOString(),
      };
      const stored = encodeScopeMemory(record);
      this.beforeStep('write-record');
      await this.keyv.set(scopeKey(scope), stored);
      return decodeScopeMemory(stored);
    });
  }
}

function scopeKey(scope: Scope): string {
  return encodeURIComponent(scope);
}
