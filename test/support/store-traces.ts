// The search that proves something left the store: every file under the
// store's folder (database, journals, photos) is read as bytes and searched
// for the texts and float vectors given. Floats are looked for as raw bytes
// and as the base64 the codec writes, at each of base64's three alignments,
// so a vector packed after others (a second face key) is found too.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Secrets {
  texts?: Record<string, string>;
  floats?: Record<string, Float32Array>;
}

function needles(values: Float32Array): Buffer[] {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const head = bytes.subarray(0, Math.min(bytes.length, 30));
  const encoded = [0, 1, 2].map((shift) => Buffer.from(head.subarray(shift, shift + 24).toString('base64')));
  return [head, ...encoded];
}

/** Which secrets each file still holds, by label; {} when none is left anywhere. */
export async function tracesInFiles(dir: string, secrets: Secrets): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries.filter((e) => e.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    const content = await readFile(file);
    const hits = [
      ...Object.entries(secrets.texts ?? {}).filter(([, text]) => content.includes(Buffer.from(text))),
      ...Object.entries(secrets.floats ?? {}).filter(([, values]) => needles(values).some((n) => content.includes(n))),
    ].map(([label]) => label);
    if (hits.length > 0) found[path.relative(dir, file)] = hits;
  }
  return found;
}
