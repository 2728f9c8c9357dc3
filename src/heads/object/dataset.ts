// The folder layout of an object-head evaluation, as the MyVLM dataset has it:
// `concepts/<concept>/*.jpg` (captions and other files are ignored here),
// optional `negatives/<concept>/*.jpg` (same-category photos that are not the
// concept) and optional `random/*.jpg` (unrelated photos).
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../../errors.ts';

export interface ObjectDataset {
  root: string;
  /** Concepts in name order, each with its photos in name order (absolute paths). */
  concepts: Array<{ name: string; photos: string[] }>;
  /** Hard negatives by concept name (absent: none). */
  hardNegatives: Map<string, string[]>;
  random: string[];
}

const PHOTO = /\.(jpe?g|png|webp)$/i;
const LAYOUT_HINT =
  'An evaluation folder holds concepts/<concept>/*.jpg, and optionally negatives/<concept>/*.jpg and random/*.jpg.';

/**
 * Lists the photos of an evaluation folder. The folder is named on the
 * command line, so a wrong one is an OperatorError that says what is expected.
 */
export function loadObjectDataset(root: string): ObjectDataset {
  const conceptsDir = path.join(root, 'concepts');
  if (!isDirectory(conceptsDir)) {
    throw new OperatorError(`${root} has no concepts/ folder.`, { hint: LAYOUT_HINT });
  }
  const concepts = subfolders(conceptsDir)
    .map((name) => ({ name, photos: photosIn(path.join(conceptsDir, name)) }))
    .filter((c) => c.photos.length > 0);
  if (concepts.length === 0)
    throw new OperatorError(`${conceptsDir} holds no concept folders with photos.`, { hint: LAYOUT_HINT });
  const hardNegatives = new Map<string, string[]>();
  const negativesDir = path.join(root, 'negatives');
  if (isDirectory(negativesDir)) {
    for (const name of subfolders(negativesDir)) {
      const photos = photosIn(path.join(negativesDir, name));
      if (photos.length > 0) hardNegatives.set(name, photos);
    }
  }
  const randomDir = path.join(root, 'random');
  return { root, concepts, hardNegatives, random: isDirectory(randomDir) ? photosIn(randomDir) : [] };
}

/** The photo files directly inside a folder, in name order (absolute paths). */
export function photosIn(directory: string): string[] {
  return readdirSync(directory)
    .filter((f) => PHOTO.test(f) && statSync(path.join(directory, f)).isFile())
    .sort()
    .map((f) => path.join(directory, f));
}

function subfolders(directory: string): string[] {
  return readdirSync(directory)
    .filter((f) => !f.startsWith('.') && isDirectory(path.join(directory, f)))
    .sort();
}

function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
