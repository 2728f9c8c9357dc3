// Where a concept record sits in a backend, and how its value is wrapped.
// Keys are `concept:<scope, URI-encoded>/<id>`: a scope's records are exactly
// the keys under its prefix, since encodeURIComponent never emits '/'.
import { StoredConceptError, type StoredConcept } from './codec.ts';
import type { Scope } from './concept.ts';

export const CONCEPT_PREFIX = 'concept:';

/** The prefix of every key of `scope`'s records; never a prefix of another scope's. */
export function scopePrefix(scope: Scope): string {
  return `${CONCEPT_PREFIX}${encodeURIComponent(scope)}/`;
}

export function recordKey(scope: Scope, id: string): string {
  return `${scopePrefix(scope)}${id}`;
}

/** Values keep Keyv's envelope (`{"value": …}`), so Keyv itself reads the same rows. */
export function wrap(stored: StoredConcept | { format: number }): string {
  return JSON.stringify({ value: stored });
}

export function unwrap(text: string): unknown {
  try {
    return (JSON.parse(text) as { value?: unknown }).value;
  } catch (error) {
    throw new StoredConceptError(`stored concept is not JSON (${(error as Error).message})`);
  }
}
