// What `eval objects` says about folders that do not have the expected
// layout: refusals (OperatorError with a hint) and warnings, on small folders
// written here. The loader only hashes files, so a few bytes stand for a photo.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evalObjectsCommand } from '../../src/cli/eval-objects.ts';
import { OperatorError } from '../../src/errors.ts';
import { loadObjectDataset } from '../../src/heads/object/dataset.ts';

let root: string;

/** Writes files whose contents are their given strings (same string: byte-identical copies). */
async function files(spec: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(spec)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

function refusal(folder: string): OperatorError {
  try {
    loadObjectDataset(folder, { shots: 2 });
  } catch (error) {
    expect(error).toBeInstanceOf(OperatorError);
    return error as OperatorError;
  }
  throw new Error(`${folder} loaded`);
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'myvlm-objects-layout-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('object evaluation folder layout', () => {
  it('refuses the concepts/ folder itself and names the folder above it', async () => {
    await files({ 'concepts/mug/a.jpg': 'a', 'concepts/mug/b.jpg': 'b' });
    const error = refusal(path.join(root, 'concepts'));
    expect(error.message).toBe(
      `${path.join(root, 'concepts')} has no concepts/ folder: it looks like the concepts/ folder itself; name the folder above it (${root}).`,
    );
    expect(error.hint).toContain('concepts/<concept>/*.jpg');
  });

  it("refuses one concept's folder, folders of photos outside concepts/, and a missing folder", async () => {
    await files({ 'mug/a.jpg': 'a', 'mug/b.jpg': 'b' });
    expect(refusal(path.join(root, 'mug')).message).toBe(
      `${path.join(root, 'mug')} has no concepts/ folder, only 2 photo(s) (a.jpg, b.jpg): it looks like one concept's folder.`,
    );
    expect(refusal(root).message).toBe(
      `${root} has no concepts/ folder, only folders of photos (mug): put them in ${path.join(root, 'concepts')}/.`,
    );
    expect(refusal(path.join(root, 'nowhere')).message).toBe(`${path.join(root, 'nowhere')} is not a folder.`);
  });

  it('refuses when no concept has 2 distinct photos', async () => {
    await files({ 'concepts/mug/a.jpg': 'a', 'concepts/mug/copy.jpg': 'a', 'concepts/cup/c.jpg': 'c' });
    expect(refusal(root).message).toBe(
      `${path.join(root, 'concepts')} holds no concept folder with at least 2 distinct photos.`,
    );
  });

  it('warns about thin, empty and odd folders and files, and copies, and keeps what can be evaluated', async () => {
    await files({
      'concepts/mug/a.jpg': 'a',
      'concepts/mug/b.jpg': 'b',
      'concepts/mug/a-again.jpg': 'a',
      'concepts/mug/captions.json': '{}',
      'concepts/mug/clip.gif': 'g',
      'concepts/cup/c.jpg': 'c',
      'concepts/cup/d.jpg': 'd',
      'concepts/cup/e.jpg': 'e',
      'concepts/cup/shared.jpg': 's',
      'concepts/bowl/shared.jpg': 's',
      'concepts/bowl/f.jpg': 'f',
      'concepts/empty/notes.txt': 'nothing here',
      'concepts/loose.jpg': 'l',
      'negatives/mug/n1.jpg': 'n1',
      'negatives/mug/is-cup.jpg': 'c',
      'negatives/cup/n1.jpg': 'n1',
      'negatives/plate/n2.jpg': 'n2',
      'random/r1.jpg': 'r1',
      'random/r1-copy.jpg': 'r1',
      'random/n1.jpg': 'n1',
      'extra/x.jpg': 'x',
    });
    const dataset = loadObjectDataset(root, { shots: 2 });
    const at = (...parts: string[]) => path.join(root, ...parts);
    expect(dataset.concepts).toEqual([
      { name: 'cup', photos: [at('concepts/cup/c.jpg'), at('concepts/cup/d.jpg'), at('concepts/cup/e.jpg')] },
      { name: 'mug', photos: [at('concepts/mug/a-again.jpg'), at('concepts/mug/b.jpg')] },
    ]);
    expect([...dataset.hardNegatives]).toEqual([
      ['cup', [at('negatives/cup/n1.jpg')]],
      ['mug', [at('negatives/cup/n1.jpg')]],
      ['plate', [at('negatives/plate/n2.jpg')]],
    ]);
    expect(dataset.random).toEqual([at('random/r1-copy.jpg')]);
    expect(dataset.warnings).toEqual([
      `${at('extra')} is ignored: only concepts/, negatives/ and random/ are read.`,
      `${at('concepts')}: 1 photo(s) directly inside are ignored: put them in a folder per concept.`,
      `${at('concepts/mug')}: 1 file(s) ignored (clip.gif): only .jpg, .jpeg, .png and .webp are read.`,
      `${at('concepts/bowl/shared.jpg')} is left out: the same photo is in bowl and cup.`,
      `${at('concepts/bowl')} is skipped: 1 photo cannot both teach and test a concept.`,
      `${at('concepts/cup/shared.jpg')} is left out: the same photo is in bowl and cup.`,
      `${at('concepts/empty')} is skipped: it holds no photos.`,
      `${at('concepts/mug/a.jpg')} is a copy of another photo of mug: it counts once.`,
      `${at('concepts/mug')} has 2 distinct photos: 2 shots and 1 test photo need 3; it is taught from 1.`,
      `${at('negatives/mug/is-cup.jpg')} is left out: it is a photo of cup.`,
      "negatives/plate names no concept folder here: its photos only count as other concepts' hard negatives.",
      '1 photo(s) are in more than one negatives/ folder: each counts once, as an own hard negative of every concept that lists it.',
      `${at('random/n1.jpg')} is left out of random/: the same photo is a concept photo, a hard negative or in random/ twice.`,
      `${at('random/r1.jpg')} is left out of random/: the same photo is a concept photo, a hard negative or in random/ twice.`,
    ]);
  });

  it('eval objects refuses a wrong folder before loading any model', async () => {
    await files({ 'concepts/mug/a.jpg': 'a', 'concepts/mug/b.jpg': 'b' });
    await expect(
      evalObjectsCommand([path.join(root, 'concepts'), '--features', 'mobilenet-v3-small-576']),
    ).rejects.toThrow(/looks like the concepts\/ folder itself/);
  });
});
