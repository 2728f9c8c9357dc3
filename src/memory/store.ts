// The concept store as the conversation core sees it: scoped, versioned
// records plus the teaching photos they reference. `KeyvConceptStore`
// implements it on SQLite (embedded), Redis or PostgreSQL (shared by processes).
import { UserError } from '../errors.ts';
import type { ConceptEmbedding, ConceptKind, ConceptRecord, HeadParams, PhotoRef, Scope, UserRef } from './concept.ts';
import type { ScopeMemory, ScopeMemoryChange } from './scope-memory.ts';

/** What a caller supplies to create a concept; the store fills id, timestamps and version. */
export interface NewConcept {
  scope: Scope;
  name: string;
  /** Word used inside prompts; defaults to `name`. */
  identifier?: string;
  kind: ConceptKind;
  owner: UserRef;
  /** Default null (not trained yet). */
  head?: HeadParams | null;
  /** Default {}. */
  embeddings?: Record<string, ConceptEmbedding>;
  /** Default []. */
  facts?: string[];
  /** Default []. Every referenced photo must have been stored with `putPhoto` first. */
  photos?: PhotoRef[];
}

/**
 * Edits a private copy of the stored record, in place or by returning a
 * replacement. It may run more than once (`modify` retries on conflicts), so it
 * must only touch the draft. The store sets `version` and `updatedAt`; changing
 * `id`, `scope` or `createdAt` is refused.
 */
export type ConceptChange = (draft: ConceptRecord) => void | ConceptRecord;

/**
 * Where concepts live. Every call names its scope and sees only that scope:
 * a concept taught in one chat is invisible, unreadable and undeletable from
 * every other chat.
 */
export interface ConceptStore {
  /** The backend it runs on, for health reports and logs. */
  readonly kind: 'sqlite' | 'redis' | 'postgres';
  /**
   * Every scope that holds at least one concept, each once, in code-unit
   * order. For the assistant's own upkeep across chats (lessons to resume
   * when a VLM appears), never for answering a chat: reading a scope's
   * concepts still goes through `list(scope)`.
   */
  scopes(): Promise<Scope[]>;
  /** Every concept of `scope`, ordered by name (case-insensitive), then id. */
  list(scope: Scope): Promise<ConceptRecord[]>;
  /** The concept with this id in `scope`, or null. */
  get(scope: Scope, id: string): Promise<ConceptRecord | null>;
  /** The concept of `scope` whose display name matches (case- and width-insensitive, trimmed), or null. */
  findByName(scope: Scope, name: string): Promise<ConceptRecord | null>;
  /** Stores a new concept at version 1; a name already used in the scope is a UserError. */
  create(input: NewConcept): Promise<ConceptRecord>;
  /**
   * Writes `change` applied to the stored record as version `expectedVersion + 1`,
   * atomically. Throws ConflictError when the stored version is not
   * `expectedVersion` (someone else wrote first: re-read and decide again),
   * ConceptNotFoundError when the concept is gone, UserError on a name clash.
   */
  update(scope: Scope, id: string, expectedVersion: number, change: ConceptChange): Promise<ConceptRecord>;
  /**
   * `update` against whatever version is stored when the write happens, for
   * changes that do not depend on what the caller saw (add a fact, set an
   * embedding). Concurrent calls all land, from any process; none is lost.
   * Only a long burst of other processes' writes to the same scope makes it
   * give up with ConflictError.
   */
  modify(scope: Scope, id: string, change: ConceptChange): Promise<ConceptRecord>;
  /** Keeps a teaching photo (content-addressed, per scope); returns its sha256 for a PhotoRef. */
  putPhoto(scope: Scope, bytes: Uint8Array): Promise<string>;
  /** A stored photo of `scope`, or null when it is not there (or damaged). */
  getPhoto(scope: Scope, sha256: string): Promise<Uint8Array | null>;
  /**
   * Erases the concept and everything derived from it: its record (weights,
   * embeddings, facts) and its photos unless another concept of the scope
   * uses them. Returns false when there was nothing to forget.
   */
  forget(scope: Scope, id: string): Promise<boolean>;
  /** The scope's settings and unknown faces (scope-memory.ts), or null: every setting at its default, nothing kept. */
  scopeMemory(scope: Scope): Promise<ScopeMemory | null>;
  /**
   * Writes `change` applied to the scope's record atomically, against the
   * version stored when the write happens (as `modify`). A change that
   * returns null erases the record and leaves no trace of it in the store.
   */
  changeScopeMemory(scope: Scope, change: ScopeMemoryChange): Promise<ScopeMemory | null>;
  /** Waits for writes in flight, then releases the files. */
  close(): Promise<void>;
}

/** The concept asked for does not exist (any more) in this scope. */
export class ConceptNotFoundError extends UserError {
  override readonly name = 'ConceptNotFoundError';
  constructor(readonly conceptId: string) {
    super("I don't know that concept any more; it may have just been forgotten.");
  }
}

/**
 * The form of a display name used to compare names: "Anna", " anna " and
 * "ＡＮＮＡ" are the same concept name.
 */
export function conceptNameKey(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}
