// Photos in evaluation folders are told apart by their content, not their
// names: some shared folders hold byte-identical copies under different
// names, and a copy on both sides of a split would be tested on what it
// trained on.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** sha256 of a file's bytes, hex. */
export function contentHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
