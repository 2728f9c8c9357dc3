// Concept names as users write them, and the identifiers that stand for them
// inside prompts. A name is validated (length, characters, look-alikes) and
// never pasted into a prompt: prompts only ever see the identifier, a plain word.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { UserError } from '../errors.ts';
import type { ConceptKind, ConceptRecord } from '../memory/concept.ts';

export const NAME_MAX_LENGTH = 40;

/**
 * Longest names text a /teach takes where a form limits it (Discord's option):
 * room for a group photo's names, "Anna, Bob, Carol", each up to NAME_MAX_LENGTH.
 */
export const TEACH_NAMES_MAX_LENGTH = 200;

// Letters (any script), digits, spaces, apostrophes, hyphens and dots.
const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} '’.-]*$/u;

/**
 * Normalizes and validates a display name; throws a UserError that says what
 * is allowed. NFKC folds compatibility forms (full-width "Ｏｂａｍａ",
 * ligatures) into the letters they stand for, as the store's name key does,
 * so a name is shown as it is looked up.
 */
export function validateName(raw: string): string {
  const name = raw.normalize('NFKC').trim().replace(/\s+/g, ' ');
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

/**
 * Refuses a new name that would look like another: like the name of a
 * concept of the scope (`others`), or written in two look-alike alphabets in
 * one word ("Оbama" with a Cyrillic О). Both would show as two identical
 * names in replies and /concepts.
 */
export function assertDistinctName(name: string, others: readonly ConceptRecord[]): void {
  const twin = others.find((c) => looksAlike(c.name, name));
  if (twin) throw new UserError(`${name} looks just like ${twin.name}, whom I know already; pick a different name.`);
  const scripts = mixedScripts(name);
  if (scripts)
    throw new UserError(
      `${name} mixes ${scripts.join(' and ')} letters that look alike in one word; please write it in one alphabet.`,
    );
}

/** Whether two names look the same on screen (case aside), after Unicode TR39's skeleton. */
export function looksAlike(a: string, b: string): boolean {
  return skeleton(a) === skeleton(b) || skeleton(a.toLowerCase()) === skeleton(b.toLowerCase());
}

/**
 * TR39's skeleton, over the scripts that pass for Latin: NFKC (full-width
 * and compatibility forms), NFD (accents apart), each character replaced by
 * the Latin letter it is drawn like, NFD again, then lower case. The table
 * is a compact subset of Unicode's confusables.txt: the Cyrillic and Greek
 * letters drawn as a Latin letter, and the Latin and digit shapes that pass
 * for one another (l, I, 1; O, 0). Unlike TR39 it leaves letter pairs alone
 * ("rn" for "m"): Arnie and Amie are two people, not a spoof.
 */
export function skeleton(text: string): string {
  const decomposed = text.normalize('NFKC').normalize('NFD');
  let mapped = '';
  for (const char of decomposed) mapped += PROTOTYPES.get(char) ?? char;
  return mapped.normalize('NFD').toLowerCase();
}

/** Each look-alike and the Latin letter (or digit) it is drawn as. */
const PROTOTYPES = new Map<string, string>(
  Object.entries({
    // Latin and digits that pass for one another.
    I: 'l',
    '1': 'l',
    '|': 'l',
    ı: 'i',
    '0': 'O',
    // Cyrillic capitals.
    А: 'A',
    В: 'B',
    С: 'C',
    Е: 'E',
    Н: 'H',
    І: 'l',
    Ӏ: 'l',
    Ј: 'J',
    К: 'K',
    М: 'M',
    О: 'O',
    Р: 'P',
    Ѕ: 'S',
    Т: 'T',
    Х: 'X',
    У: 'Y',
    Ү: 'Y',
    Ԛ: 'Q',
    Ԝ: 'W',
    З: '3',
    // Cyrillic small letters.
    а: 'a',
    с: 'c',
    ԁ: 'd',
    е: 'e',
    һ: 'h',
    і: 'i',
    ј: 'j',
    ӏ: 'l',
    о: 'o',
    р: 'p',
    ԛ: 'q',
    ѕ: 's',
    у: 'y',
    ү: 'y',
    ԝ: 'w',
    х: 'x',
    ɡ: 'g',
    // Greek capitals.
    Α: 'A',
    Β: 'B',
    Ε: 'E',
    Ζ: 'Z',
    Η: 'H',
    Ι: 'l',
    Κ: 'K',
    Μ: 'M',
    Ν: 'N',
    Ο: 'O',
    Ρ: 'P',
    Τ: 'T',
    Υ: 'Y',
    Χ: 'X',
    // Greek small letters.
    α: 'a',
    ι: 'i',
    κ: 'k',
    ν: 'v',
    ο: 'o',
    ρ: 'p',
    υ: 'u',
    ϲ: 'c',
    ϳ: 'j',
    γ: 'y',
  }),
);

const CONFUSABLE_SCRIPTS = [
  { name: 'Latin', pattern: /\p{Script=Latin}/u },
  { name: 'Cyrillic', pattern: /\p{Script=Cyrillic}/u },
  { name: 'Greek', pattern: /\p{Script=Greek}/u },
] as const;

/**
 * The look-alike alphabets one word of `name` mixes, or null. Other scripts
 * mix legitimately (Japanese writes kanji with kana) and are left alone.
 */
function mixedScripts(name: string): string[] | null {
  for (const word of name.split(/[\s'’.-]+/u)) {
    const scripts = CONFUSABLE_SCRIPTS.filter((s) => s.pattern.test(word)).map((s) => s.name);
    if (scripts.length > 1) return scripts;
  }
  return null;
}
