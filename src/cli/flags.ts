// Command-line flags for the `myvlm` commands: node's parseArgs with its
// errors turned into one plain line plus the command's usage, the number
// checks every command needs, and reading the files a command line names.
// A usage mistake is a UserError: its message is for the person typing, as
// it is. A named file that cannot be read is an OperatorError said plainly
// ("No such file: <path>"), never a raw ENOENT.
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OperatorError, UserError } from '../errors.ts';

/** parseArgs (positionals allowed) whose unknown or malformed flags become a UserError with `usage`. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>> {
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

/** The bytes of a file named on the command line. */
export async function readNamedFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new OperatorError(`No such file: ${file}`, {
        cause,
        hint: `Relative paths start from ${process.cwd()}.`,
      });
    throw new OperatorError(`Cannot read ${file} (${code ?? String(cause)}).`, {
      cause,
      hint: 'Check that it is a file this user may read.',
    });
  }
}
