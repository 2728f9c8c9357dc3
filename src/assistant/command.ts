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
 * Splits "/rename Back to school to BTS" into the old name and the new one.
 * Names can have several words, " to " among them, so the longest known name
 * that starts the text and is followed by " to " wins; failing that, the text
 * splits at its first " to " (and the old name will be reported unknown).
 */
export function splitRenameArgs(rest: string, knownNames: readonly string[]): { name: string; newName: string } | null {
  const lower = rest.toLowerCase();
  const sorted = [...knownNames].sort((a, b) => b.length - a.length);
  for (const name of sorted) {
    const after = /^\s+to\s+(\S[\s\S]*)$/i.exec(rest.slice(name.length));
    if (lower.startsWith(name.toLowerCase()) && after) return { name, newName: after[1].trim() };
  }
  const first = /^(\S.*?)\s+to\s+(\S[\s\S]*)$/i.exec(rest.trim());
  return first ? { name: first[1], newName: first[2].trim() } : null;
}
