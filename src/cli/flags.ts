// Command-line flags for the `myvlm` commands: node's parseArgs with its
// errors turned into one plain line plus the command's usage, the number
// checks every command needs, and the files a command line names.
// A usage mistake is a UsageError (exit 2): its message is for the person
// typing, as it is. A named file that cannot be read or written is an
// OperatorError said plainly ("No such file: <path>"), never a raw ENOENT.
// This module stays light (no native libraries): every command checks its
// arguments with it before loading anything heavy, so a mistake is answered
// at once.
import { open, readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OperatorError, UsageError } from '../errors.ts';

/** parseArgs (positionals allowed) whose unknown or malformed flags become a UsageError with `usage`. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true });
  } catch (cause) {
    // Node words an unknown flag at length, with advice about '--' that helps nobody here.
    const unknown = /^Unknown option '([^']+)'/.exec(cause instanceof Error ? cause.message : '');
    const message = unknown ? `Unknown option ${unknown[1]}.` : cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(`${message}\n${usage}`, { cause });
  }
}

/** A whole-number flag of at least `min`; `fallback` when absent. */
export function wholeNumber(raw: string | undefined, flag: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min)
    throw new UsageError(`${flag} takes a whole number of at least ${min}, not "${raw}".`);
  return value;
}

/** The bytes of a file named on the command line. */
export async function readNamedFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw namedPathError(cause, file, 'read');
  }
}

/** Checks that a file named on the command line can be read, for a reader that opens it itself (and its neighbours). */
export async function checkNamedFile(file: string): Promise<void> {
  try {
    // Opening a folder succeeds on Linux; reading it is what fails, so ask first.
    if ((await stat(file)).isDirectory()) throw Object.assign(new Error(`EISDIR: ${file}`), { code: 'EISDIR' });
    await (await open(file, 'r')).close();
  } catch (cause) {
    throw namedPathError(cause, file, 'read');
  }
}

/** Plain words for what the system said about a path: the meaning of the errno code, without the code. */
const PROBLEMS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'the disk quota is used up',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many files are open',
  EBUSY: 'it is busy',
};

/**
 * What went wrong with `file`, a path the person typed, as an OperatorError
 * in plain words; `cause` itself when it is not a file-system error (a bug,
 * or already worded). `doing`: reading that file, or writing the file or
 * folder it names.
 */
export function namedPathError(cause: unknown, file: string, doing: 'read' | 'write'): unknown {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return cause;
  if (code === 'ENOENT') {
    // A relative path says where it was looked for: a command run from another folder is the usual cause.
    const where = path.isAbsolute(file) ? '' : ` (in ${process.cwd()})`;
    return new OperatorError(
      doing === 'read' ? `No such file: ${file}${where}` : `Cannot write ${file}${where}: no such folder.`,
      { cause },
    );
  }
  if (code === 'EISDIR') return new OperatorError(`${file} is a folder, not a file.`, { cause });
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    // A folder on the way is a file; name it, since it may be a parent of what was typed.
    const blocker = firstFileOnTheWay((cause as NodeJS.ErrnoException).path ?? file, file);
    return new OperatorError(
      blocker ? `${blocker} is a file, not a folder.` : `Cannot ${doing} ${file}: part of the path is not a folder.`,
      { cause },
    );
  }
  const denied = code === 'EACCES' || code === 'EPERM';
  // An unlisted code keeps the system's own words ("EXDEV: cross-device link not permitted, rename 'a'" -> "cross-device link not permitted").
  const problem = PROBLEMS[code] ?? (cause as Error).message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*$/, '');
  return new OperatorError(`Cannot ${doing} ${file}: ${problem}.`, {
    cause,
    hint: denied
      ? `Check that this user may ${doing} it${doing === 'write' ? ', or choose another place' : ''}.`
      : undefined,
  });
}

/** The first path from `start` up to the root that exists and is not a folder (as typed when it is `typed`), or null. */
function firstFileOnTheWay(start: string, typed: string): string | null {
  for (let current = path.resolve(start); ; current = path.dirname(current)) {
    let entry;
    try {
      entry = statSync(current);
    } catch {
      // Missing, or under a file: look further up.
    }
    // The first thing that exists decides: a folder means no file blocks the way.
    if (entry) return entry.isDirectory() ? null : current === path.resolve(typed) ? typed : current;
    if (path.dirname(current) === current) return null;
  }
}
