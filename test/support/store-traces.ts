// The search that proves something left the store. Secrets (texts and float
// vectors) become byte needles: a text as it is, a float vector as raw bytes
// and as the base64 the codec writes, at each of base64's three alignments,
// so a vector packed after others (a second face key) is found too. The
// store suite searches each backend's data with them; `tracesInFiles` is the
// search of a store folder (SQLite's database, journals and photo files).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Secrets {
  texts?: Record<string, string>;
  floats?: Record<string, Float32Array>;
}

/** The byte strings whose presence betrays each secret, by label. */
export type Needles = Record<string, Buffer[]>;

export function needlesOf(secrets: Secrets): Needles {
  const needles: Needles = {};
  for (const [label, text] of Object.entries(secrets.texts ?? {})) needles[label] = [Buffer.from(text)];
  for (const [label, values] of Object.entries(secrets.floats ?? {})) {
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const head = bytes.subarray(0, Math.min(bytes.length, 30));
    const encoded = [0, 1, 2].map((shift) => Buffer.from(head.subarray(shift, shift + 24).toString('base64')));
    needles[label] = [head, ...encoded];
  }
  return needles;
}

/** The labels of the needles `content` holds. */
export function hitsIn(content: Buffer, needles: Needles): string[] {
  return Object.entries(needles)
    .filter(([, variants]) => variants.some((needle) => content.includes(needle)))
    .map(([label]) => label);
}

/** Which needles each file under `dir` still holds, by label; {} when none is left anywhere. */
export async function tracesInFiles(dir: string, needles: Needles): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries.filter((e) => e.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    const hits = hitsIn(await readFile(file), needles);
    if (hits.length > 0) found[path.relative(dir, file)] = hits;
  }
  return found;
}
