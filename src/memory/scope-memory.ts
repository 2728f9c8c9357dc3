// What a scope keeps besides its concepts: its settings (chosen by the
// chat's admins) and, when the chat opted in, the faces it saw but does not
// know, grouped by person. One record per scope, written whole; a scope at
// its defaults has no record at all, so turning a setting off can erase
// everything it kept in one delete.
import { InternalError } from '../errors.ts';
import { fromJson, StoredConceptError, toJson, type JsonValue } from './codec.ts';
import type { Scope } from './concept.ts';
import { boolean, floats, integer, list, object, text, timestamp } from './record-shape.ts';

/**
 * The faces of one unknown person, as far as the clustering can tell. No
 * photo is kept: only face embeddings, a small crop of one face to show in
 * /who, and the content hashes of recent photos, so a photo sent twice
 * counts once.
 */
export interface FaceCluster {
  /** Stable while the cluster lives; /who numbers clusters for people, this names them for the code. */
  id: string;
  /** Registry id of the recognizer whose embeddings `keys` holds; other recognizers' faces never join. */
  recognizer: string;
  dims: number;
  /** Face embeddings, row-major, `dims` values each; a bounded number of them. */
  keys: Float32Array;
  /** Distinct photos the person was seen in. */
  photos: number;
  /** sha256 of the most recent of those photos (bounded), newest last. */
  recentPhotos: string[];
  /** A small JPEG of one of the faces, base64: what /who shows. */
  thumbnail: string;
  firstSeen: string;
  lastSeen: string;
}

/** What a change to a scope's record may set; the store fills in the rest. */
export interface ScopeMemoryContent {
  /** `/settings remember-faces on`: keep unknown faces (off by default). */
  rememberFaces: boolean;
  faceClusters: FaceCluster[];
}

export interface ScopeMemory extends ScopeMemoryContent {
  scope: Scope;
  /** 1 for a new record, one more at every write. */
  version: number;
  updatedAt: string;
}

/**
 * Edits a scope's record: receives a private copy (null when the scope has
 * none) and returns the new content, or null to erase the record. It may
 * throw to write nothing.
 */
export type ScopeMemoryChange = (current: ScopeMemory | null) => ScopeMemoryContent | null;

/** Layout version of a stored scope record; bump it and migrate in `decodeScopeMemory` when the shape changes. */
export const SCOPE_MEMORY_FORMAT = 1;

const SHA256 = /^[0-9a-f]{64}$/;

/** Checks `value` field by field; throws a plain Error naming the bad field. */
export function parseScopeMemory(value: unknown): ScopeMemory {
  const o = object(value, 'scopeMemory');
  return {
    scope: text(o.scope, 'scope'),
    version: integer(o.version, 'version', 1),
    updatedAt: timestamp(o.updatedAt, 'updatedAt'),
    rememberFaces: boolean(o.rememberFaces, 'rememberFaces'),
    faceClusters: list(o.faceClusters, 'faceClusters').map((c, i) => cluster(c, `faceClusters[${i}]`)),
  };
}

function cluster(value: unknown, path: string): FaceCluster {
  const o = object(value, path);
  const dims = integer(o.dims, `${path}.dims`, 1);
  const keys = floats(o.keys, `${path}.keys`);
  if (keys.length === 0 || keys.length % dims !== 0)
    throw new Error(`${path}.keys has ${keys.length} values, not a positive multiple of dims ${dims}`);
  const recentPhotos = list(o.recentPhotos, `${path}.recentPhotos`).map((h, i) => {
    const hash = text(h, `${path}.recentPhotos[${i}]`);
    if (!SHA256.test(hash)) throw new Error(`${path}.recentPhotos[${i}] is not a sha256`);
    return hash;
  });
  return {
    id: text(o.id, `${path}.id`),
    recognizer: text(o.recognizer, `${path}.recognizer`),
    dims,
    keys,
    photos: integer(o.photos, `${path}.photos`, 1),
    recentPhotos,
    thumbnail: text(o.thumbnail, `${path}.thumbnail`),
    firstSeen: timestamp(o.firstSeen, `${path}.firstSeen`),
    lastSeen: timestamp(o.lastSeen, `${path}.lastSeen`),
  };
}

/** Validates a record and turns it into the value a store writes (a bad record is a bug). */
export function encodeScopeMemory(record: ScopeMemory): { format: number; scopeMemory: JsonValue } {
  try {
    return { format: SCOPE_MEMORY_FORMAT, scopeMemory: toJson(parseScopeMemory(record), 'scopeMemory') };
  } catch (error) {
    if (error instanceof InternalError) throw error;
    throw new InternalError(`refusing to store a malformed scope record: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A stored value back into a checked record; a damaged or newer one is a StoredConceptError (the operator's). */
export function decodeScopeMemory(stored: unknown): ScopeMemory {
  if (typeof stored !== 'object' || stored === null || !('format' in stored) || !('scopeMemory' in stored))
    throw new StoredConceptError('stored scope record has no format/scopeMemory envelope');
  if (stored.format !== SCOPE_MEMORY_FORMAT)
    throw new StoredConceptError(
      `stored scope record has format ${String(stored.format)}, which this version cannot read`,
    );
  try {
    return parseScopeMemory(fromJson(stored.scopeMemory));
  } catch (error) {
    if (error instanceof StoredConceptError) throw error;
    throw new StoredConceptError(`stored scope record is damaged: ${(error as Error).message}`, { cause: error });
  }
}
