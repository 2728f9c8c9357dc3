// Scope records beside the concepts, in the same backend: one key per scope
// (`scope:<encoded scope>`), written whole in one commit, so a crash leaves
// the old record or the new one. Erasing a record is one delete, followed by
// the backend's scrub (SQLite's secure_delete, PostgreSQL's VACUUM), so
// nothing a scope kept survives in the backend's data.
import { StoredConceptError } from './codec.ts';
import type { Scope } from './concept.ts';
import type { RecordBackend } from './record-backend.ts';
import { unwrap, wrap } from './record-keys.ts';
import { decodeScopeMemory, encodeScopeMemory, type ScopeMemory, type ScopeMemoryChange } from './scope-memory.ts';

/** Key prefix of scope records; `scopes()` and the photo sweep read only `concept:` keys. */
export const SCOPE_MEMORY_PREFIX = 'scope:';

export function scopeMemoryKey(scope: Scope): string {
  return `${SCOPE_MEMORY_PREFIX}${encodeURIComponent(scope)}`;
}

export async function readScopeMemory(backend: RecordBackend, scope: Scope): Promise<ScopeMemory | null> {
  const stored = await backend.get(scopeMemoryKey(scope));
  if (stored === undefined) return null;
  const record = decodeScopeMemory(unwrap(stored));
  if (record.scope !== scope)
    throw new StoredConceptError(`stored scope record of ${record.scope} sits under ${scope}`);
  return record;
}

/** What changing a scope record writes: the new record, its deletion, or nothing. */
export type ScopeMemoryWrite =
  | { step: 'write-record'; value: string; result: ScopeMemory }
  | { step: 'delete-record'; value: undefined; result: null }
  | null;

/** Applies `change` to the current record (a private copy) and says what to write; the caller commits it. */
export function planScopeMemory(
  scope: Scope,
  current: ScopeMemory | null,
  change: ScopeMemoryChange,
): ScopeMemoryWrite {
  const next = change(current === null ? null : structuredClone(current));
  if (next === null) return current === null ? null : { step: 'delete-record', value: undefined, result: null };
  const record: ScopeMemory = {
    rememberFaces: next.rememberFaces,
    faceClusters: next.faceClusters,
    scope,
    version: (current?.version ?? 0) + 1,
    updatedAt: new Date().toISOString(),
  };
  const stored = encodeScopeMemory(record);
  return { step: 'write-record', value: wrap(stored), result: decodeScopeMemory(stored) };
}
