import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OperatorError, UsageError } from '../errors.ts';
import { checkNamedFile, namedPathError, parseFlags, readNamedFile, wholeNumber } from './flags.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-flags-'));
const aFile = path.join(scratch, 'photo.jpg');
writeFileSync(aFile, 'not really a photo');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A file-system error as node makes them. */
function errno(code: string, message: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}, open '${file}'`), { code, path: file });
}

/** The message an OperatorError carries, or a failure naming what came back instead. */
function messageOf(error: unknown): string {
  expect(error).toBeInstanceOf(OperatorError);
  return (error as OperatorError).message;
}

describe('file problems in plain words', () => {
  it('reads a file, and says what is wrong with one it cannot read', async () => {
    expect((await readNamedFile(aFile)).toString()).toBe('not really a photo');
    await expect(readNamedFile(path.join(scratch, 'missing.jpg'))).rejects.toThrow(
      new OperatorError(`No such file: ${path.join(scratch, 'missing.jpg')}`),
    );
    await expect(readNamedFile(scratch)).rejects.toThrow(`${scratch} is a folder, not a file.`);
    await expect(readNamedFile(path.join(aFile, 'inside.jpg'))).rejects.toThrow(`${aFile} is a file, not a folder.`);
  });

  it('says where a relative path was looked for', async () => {
    await expect(readNamedFile('no-such-photo.jpg')).rejects.toThrow(
      `No such file: no-such-photo.jpg (in ${process.cwd()})`,
    );
  });

  it('checks a file another reader will open, with the same words', async () => {
    await expect(checkNamedFile(aFile)).resolves.toBeUndefined();
    await expect(checkNamedFile(scratch)).rejects.toThrow(`${scratch} is a folder, not a file.`);
    await expect(checkNamedFile(path.join(scratch, 'nothing.onnx'))).rejects.toThrow(/^No such file: /);
  });

  it('words permission, disk and unknown errors without their codes', () => {
    const denied = namedPathError(errno('EACCES', 'permission denied', '/root/x.jpg'), '/root/x.jpg', 'read');
    expect(messageOf(denied)).toBe('Cannot read /root/x.jpg: permission denied.');
    expect((denied as OperatorError).hint).toBe('Check that this user may read it.');
    const readOnly = namedPathError(errno('EROFS', 'read-only file system', '/mnt/out'), '/mnt/out', 'write');
    expect(messageOf(readOnly)).toBe('Cannot write /mnt/out: the file system is read-only.');
    const full = namedPathError(errno('ENOSPC', 'no space left on device', '/tmp/out'), '/tmp/out', 'write');
    expect(messageOf(full)).toBe('Cannot write /tmp/out: no space left on the disk.');
    const odd = namedPathError(errno('EXDEV', 'cross-device link not permitted', '/a'), '/a', 'write');
    expect(messageOf(odd)).toBe('Cannot write /a: cross-device link not permitted.');
    expect(messageOf(namedPathError(errno('ENOENT', 'no such file', '/x/y/out'), '/x/y/out', 'write'))).toBe(
      'Cannot write /x/y/out: no such folder.',
    );
  });

  it('names the file that stands where a folder should be when writing', () => {
    const blocked = errno('ENOTDIR', 'not a directory', path.join(aFile, 'onnx'));
    expect(messageOf(namedPathError(blocked, aFile, 'write'))).toBe(`${aFile} is a file, not a folder.`);
    const exists = errno('EEXIST', 'file already exists', aFile);
    expect(messageOf(namedPathError(exists, aFile, 'write'))).toBe(`${aFile} is a file, not a folder.`);
  });

  it('leaves errors that are not about the file system alone', () => {
    const bug = new TypeError('x is undefined');
    expect(namedPathError(bug, aFile, 'read')).toBe(bug);
    const worded = new OperatorError('already said');
    expect(namedPathError(worded, aFile, 'read')).toBe(worded);
  });
});

describe('flags', () => {
  const options = { steps: { type: 'string' }, json: { type: 'boolean' } } as const;

  it('parses, and turns a wrong flag into a short UsageError with the usage', () => {
    expect(parseFlags(['Rex', '--steps', '3', '--json'], options, 'Usage: x').values).toEqual({
      steps: '3',
      json: true,
    });
    expect(() => parseFlags(['--bogus'], options, 'Usage: x')).toThrow(
      new UsageError('Unknown option --bogus.\nUsage: x'),
    );
    expect(() => parseFlags(['--steps'], options, 'Usage: x')).toThrow(UsageError);
  });

  it('takes whole numbers at or above the minimum only', () => {
    expect(wholeNumber(undefined, '--steps', 100, 1)).toBe(100);
    expect(wholeNumber('7', '--steps', 100, 1)).toBe(7);
    for (const raw of ['0', '2.5', 'two', ''])
      expect(() => wholeNumber(raw, '--steps', 100, 1)).toThrow(
        new UsageError(`--steps takes a whole number of at least 1, not "${raw}".`),
      );
  });
});
