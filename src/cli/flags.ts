// Command-line flags for the `myvlm` commands: node's parseArgs with its
// errors turned into one plain line plus the command's usage, and the number
// checks every command needs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.ts';

/** parseArgs (positionals allowed) whose unknown or malformed flags become a UserError with `usage`. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  usage: string,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true });
  } catch (cause) {
    throw new UserError(`${cause instanceof Error ? cause.message : String(cause)}\n${usage}`, { cause });
  }
}

/** A whole-number flag of at least `min`; `fallback` when absent. */
export function wholeNumber(raw: string | undefined, flag: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new UserError(`${flag} takes a whole number of at least ${min}, not "${raw}".`);
  return value;
}
