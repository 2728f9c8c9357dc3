// Concept names as users write them, and the identifiers that stand for them
// inside prompts. A name is validated (length, characters) and never pasted
// into a prompt: prompts only ever see the identifier, a plain word.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { UserError } from '../errors.ts';
import type { ConceptKind, ConceptRecord } from '../memory/concept.ts';

export const NAME_MAX_LENGTH = 40;

// Letters (any script), digits, spaces, apostrophes, hyphens and dots.
const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} '’.-]*$/u;

/** Normalizes and validates a display name; throws a UserError that says what is allowed. */
export function validateName(raw: string): string {
  const name = raw.normalize('NFC').trim().replace(/\s+/g, ' ');
  if (name.length === 0) throw new UserError('Please give a name, for example: /teach Anna');
  if (name.length > NAME_MAX_LENGTH)
    throw new UserError(`That name is too long; please keep it under ${NAME_MAX_LENGTH} characters.`);
  if (!NAME_PATTERN.test(name)) {
    throw new UserError(
      'Names may use letters, digits, spaces, apostrophes, dots and hyphens, and must start with a letter or digit.',
    );
  }
  return name;
}

/**
 * The word that stands for a concept inside prompts. People keep their first
 * name when it is a plain word ("Anna"); objects use the paper's "sks" unless
 * another object of the scope already does, then a plain word from the name.
 */
export function chooseIdentifier(name: string, kind: ConceptKind, others: readonly ConceptRecord[]): string {
  const taken = new Set(others.map((c) => c.identifier.toLowerCase()));
  const word = plainWord(name);
  const candidates =
    kind === 'object'
      ? [EMBEDDING_TRAINING.defaultObjectIdentifier, word?.toLowerCase()]
      : [word ? word[0].toUpperCase() + word.slice(1) : null];
  for (const candidate of candidates) if (candidate && !taken.has(candidate.toLowerCase())) return candidate;
  const base = (word ?? (kind === 'object' ? EMBEDDING_TRAINING.defaultObjectIdentifier : 'Person')).slice(0, 12);
  if (!taken.has(base.toLowerCase())) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}${i}`.toLowerCase())) return `${base}${i}`;
}

/** The first run of ASCII letters of a name, if it is short enough to be token-friendly. */
function plainWord(name: string): string | null {
  const ascii = name.normalize('NFD').replace(/\p{M}/gu, '');
  const match = /[A-Za-z]{2,12}/.exec(ascii);
  return match ? match[0] : null;
}
