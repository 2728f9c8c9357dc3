// A child process for crash.test.ts: rewrites one concept as fast as it can
// (a new photo, then a 1 MB embedding and a caption that all carry the new
// version number) and prints each version once it is written, until killed.
import { pathToFileURL } from 'node:url';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';

export const CRASH_SCOPE = 'terminal:crash-test';
export const CRASH_DIMS = 250_000;

export function photoBytes(version: number): Buffer {
  return Buffer.from(`photo of version ${version} `.repeat(2_000));
}

async function main(directory: string): Promise<void> {
  const store = await KeyvConceptStore.open({ directory });
  let concept =
    (await store.findByName(CRASH_SCOPE, 'Crashy')) ??
    (await store.create({ scope: CRASH_SCOPE, name: 'Crashy', kind: 'object', owner: 'terminal:me' }));
  for (;;) {
    const version = concept.version + 1;
    const sha256 = await store.putPhoto(CRASH_SCOPE, photoBytes(version));
    const now = new Date().toISOString();
    concept = await store.update(CRASH_SCOPE, concept.id, concept.version, (draft) => {
      draft.embeddings.m = {
        vector: new Float32Array(CRASH_DIMS).fill(version),
        steps: version,
        finalLoss: null,
        updatedAt: now,
      };
      draft.photos = [{ sha256, width: 1, height: 1, caption: `v${version}`, role: 'example', addedAt: now }];
    });
    process.stdout.write(`${concept.version}\n`);
  }
}

// Only when run as a script; crash.test.ts imports the constants above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv[2]) throw new Error('usage: crash-writer.ts <store folder>');
  await main(process.argv[2]);
}
