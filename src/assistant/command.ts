// Reading a message as a command: "/teach Anna person", "/forget Rex",
// "@bot /ask what is Rex holding?", or a plain question with a photo.
import { COMMANDS, type CommandName } from './turn.ts';

export interface ParsedCommand {
  /** null for a message that is not a slash command. */
  name: CommandName | null;
  /** The text after the command word (or the whole message). */
  rest: string;
  /** An unknown slash command the user typed, for a helpful answer. */
  unknown?: string;
}

const KNOWN = new Set<string>(COMMANDS.map((c) => c.name));

export function parseCommand(text: string): ParsedCommand {
  const trimmed = text.trim();
  const match = /^\/([A-Za-z_-]+)(?:@\S+)?(?:\s+([\s\S]*))?$/.exec(trimmed);
  if (!match) return { name: null, rest: trimmed };
  // Telegram command names cannot hold a hyphen, so /forget_fact is the command; /forget-fact is read as the same.
  const word = match[1].toLowerCase().replace(/-/g, '_');
  const rest = (match[2] ?? '').trim();
  if (KNOWN.has(word)) return { name: word as CommandName, rest };
  if (word === 'start') return { name: 'help', rest };
  return { name: null, rest, unknown: word };
}

/** Splits "/teach Grandma's mug object" into name and optional kind. */
export function splitTeachArgs(rest: string): { name: string; kind: 'person' | 'object' | null } {
  const match = /^(.*?)(?:\s+(person|object|people|thing|pet))?$/i.exec(rest.trim());
  const name = (match?.[1] ?? '').trim();
  const word = match?.[2]?.toLowerCase();
  const kind = word === undefined ? null : word === 'person' || word === 'people' ? 'person' : 'object';
  return { name, kind };
}

/**
 * The names of "/teach Anna, Bob and Carol": separated by commas or " and "
 * (an Oxford comma too). One name comes back as it was given.
 */
export function splitTeachNames(names: string): string[] {
  return names
    .split(/\s*,\s*(?:and\s+)?|\s+and\s+/iu)
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/**
 * Splits "/remember Anna likes horses" into a known name and the fact. Names
 * can have several words, so the longest known name that starts the text wins.
 */
export function splitNameAndFact(rest: string, knownNames: readonly string[]): { name: string; fact: string } | null {
  const lower = rest.toLowerCase();
  const sorted = [...knownNames].sort((a, b) => b.length - a.length);
  for (const name of sorted) {
    if (lower.startsWith(name.toLowerCase()) && /^(\s|:|$)/.test(rest.slice(name.length))) {
      return {
        name,
        fact: rest
          .slice(name.length)
          .replace(/^[\s:]+/, '')
          .trim(),
      };
    }
  }
  return null;
}

/**
 * Splits "/rename Back to school to BTS" (word "to") or "/merge Annie into
 * Anna" (word "into") into the first name and the second. Names can have
 * several words, the word among them, so the longest known name that starts
 * the text and is followed by the word wins; failing that, the text splits at
 * the word's first appearance (and the first name will be reported unknown).
 */
export function splitTwoNames(
  rest: string,
  knownNames: readonly string[],
  word: 'to' | 'into',
): { name: string; other: string } | null {
  const lower = rest.toLowerCase();
  const sorted = [...knownNames].sort((a, b) => b.length - a.length);
  const afterWord = new RegExp(`^\\s+${word}\\s+(\\S[\\s\\S]*)$`, 'i');
  for (const name of sorted) {
    const after = afterWord.exec(rest.slice(name.length));
    if (lower.startsWith(name.toLowerCase()) && after) return { name, other: after[1].trim() };
  }
  const first = new RegExp(`^(\\S.*?)\\s+${word}\\s+(\\S[\\s\\S]*)$`, 'i').exec(rest.trim());
  return first ? { name: first[1], other: first[2].trim() } : null;
}
