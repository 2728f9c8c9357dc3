// Identifiers in, names out. Prompts and embeddings know a concept by its
// identifier (a short token-friendly word such as "sks"); the user knows it by
// the name they gave ("Rex", "grandma's mug"). Answers are rewritten word by
// word: "sks" inside "asks" stays, "sks's" becomes "Rex's", and a
// sentence-initial "Sks" becomes "Rex" (or "Grandma's mug").

/** The two spellings of one concept. */
export interface NamedIdentifier {
  identifier: string;
  name: string;
}

/** Letters, digits and underscores continue a word; anything else ends it (apostrophes included, so possessives split off). */
const WORD_BEFORE = String.raw`(?<![\p{L}\p{N}\p{M}_])`;
const WORD_AFTER = String.raw`(?![\p{L}\p{N}\p{M}_])`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function wholeWord(text: string): RegExp {
  return new RegExp(`${WORD_BEFORE}${escapeRegExp(text)}${WORD_AFTER}`, 'giu');
}

function startsUpper(text: string): boolean {
  const first = text.charAt(0);
  return first !== first.toLowerCase() && first === first.toUpperCase();
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Replaces every whole-word occurrence of each identifier (any letter case)
 * by the display name. When the model capitalized a lower-case identifier
 * (start of a sentence), the name is capitalized too.
 */
export function namesForIdentifiers(text: string, concepts: readonly NamedIdentifier[]): string {
  const ordered = [...concepts]
    .filter((c) => c.identifier.length > 0)
    .sort((a, b) => b.identifier.length - a.identifier.length);
  if (ordered.length === 0) return text;
  const byKey = new Map(ordered.map((c) => [c.identifier.toLowerCase(), c]));
  const pattern = new RegExp(
    `${WORD_BEFORE}(?:${ordered.map((c) => escapeRegExp(c.identifier)).join('|')})${WORD_AFTER}`,
    'giu',
  );
  return text.replace(pattern, (found) => {
    const concept = byKey.get(found.toLowerCase());
    if (!concept) return found;
    const capitalized = startsUpper(found) && !startsUpper(concept.identifier);
    return capitalized ? capitalize(concept.name) : concept.name;
  });
}

/**
 * The reverse, for user text going into a prompt: whole-word display names
 * (any letter case, longest first) become identifiers, so "What is Rex's
 * ball?" asks "What is sks's ball?".
 */
export function identifiersForNames(text: string, concepts: readonly NamedIdentifier[]): string {
  let result = text;
  for (const concept of [...concepts].sort((a, b) => b.name.length - a.name.length)) {
    if (concept.name.length === 0) continue;
    result = result.replace(wholeWord(concept.name), () => concept.identifier);
  }
  return result;
}

/** Whether `text` mentions `word` as a whole word (any letter case). */
export function mentions(text: string, word: string): boolean {
  return word.length > 0 && wholeWord(word).test(text);
}
