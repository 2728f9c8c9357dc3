// The few primitives the concept store needs from a key-value backend, so its
// logic (scopes, versions, names, photos, forget) exists once over SQLite,
// Redis and PostgreSQL. Keyv's adapters give the connection, the table and
// the record layout; Keyv itself has no compare-and-set, so `commit` uses each
// backend's own transaction (an SQLite transaction, a Redis Lua script, a
// PostgreSQL transaction with row locks).

/** Raw keys and raw (serialized) values, exactly as they sit in the backend. */
export interface RecordBackend {
  /** 'sqlite', 'redis' or 'postgres': for logs and messages. */
  readonly kind: BackendKind;
  get(key: string): Promise<string | undefined>;
  getMany(keys: string[]): Promise<Array<string | undefined>>;
  /** Every key that starts with `prefix`, in code-unit order. `prefix` must end with ':' or '/'. */
  keysWithPrefix(prefix: string): Promise<string[]>;
  /**
   * Atomically, across every process using the backend: when each key of
   * `expect` holds exactly that value (undefined: absent), applies `writes`
   * (undefined: delete) and returns true; otherwise writes nothing and
   * returns false.
   */
  commit(
    expect: ReadonlyMap<string, string | undefined>,
    writes: ReadonlyMap<string, string | undefined>,
  ): Promise<boolean>;
  /** After deletes that must leave no trace: reclaims the space they used, where the backend keeps it. */
  scrub(): Promise<void>;
  close(): Promise<void>;
}

export type BackendKind = 'sqlite' | 'redis' | 'postgres';

/** The exclusive upper bound of the keys under `prefix` (its last character, ':' or '/', plus one). */
export function prefixEnd(prefix: string): string {
  const last = prefix.at(-1);
  if (last !== ':' && last !== '/') throw new Error(`key prefix must end with ':' or '/', got "${prefix}"`);
  return `${prefix.slice(0, -1)}${String.fromCharCode(last.charCodeAt(0) + 1)}`;
}
