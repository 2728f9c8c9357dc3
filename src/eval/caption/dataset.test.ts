import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorError } from '../../errors.ts';
import { SHARED_DATA } from '../../../test/support/paths.ts';
import { loadCaptionDataset } from './dataset.ts';

const CONCEPTS = path.join(SHARED_DATA, 'myvlm/concepts');
const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(files: Record<string, string | { copyOf: string }>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'myvlm-caption-data-'));
  scratch.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    if (typeof content === 'string') writeFileSync(path.join(root, name), content);
    else copyFileSync(content.copyOf, path.join(root, name));
  }
  return root;
}

describe('loadCaptionDataset', () => {
  it('reads the MyVLM concepts with their captions, augmented references and questions', () => {
    const data = loadCaptionDataset(CONCEPTS);
    expect(data.concepts.map((c) => c.name)).toHaveLength(16);
    const billy = data.concepts.find((c) => c.name === 'billy_dog')!;
    expect(billy.augmented).toBe(true);
    const first = billy.photos.find((p) => p.file.endsWith('billy_dog_1.jpg'))!;
    expect(first.captions).toEqual(['billy_dog wearing a blue raincoat in a pet store']);
    expect(first.references).toHaveLength(5);
    expect(first.qa[0]).toEqual(['What color is sks?', 'sks in the image is brown and white.']);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    // bo has no captions_augmented.json: its captions are the references, and the run says so.
    const bo = data.concepts.find((c) => c.name === 'bo')!;
    expect(bo.augmented).toBe(false);
    expect(bo.photos[0].references).toEqual(bo.photos[0].captions);
    expect(data.warnings).toContain(
      'bo/ has no captions_augmented.json: its captions.json captions are the references.',
    );
  });

  it('keeps only the concepts asked for, and names the unknown ones', () => {
    expect(loadCaptionDataset(CONCEPTS, ['bo', 'skulls_mug']).concepts.map((c) => c.name)).toEqual([
      'bo',
      'skulls_mug',
    ]);
    expect(() => loadCaptionDataset(CONCEPTS, ['bo', 'unicorn'])).toThrow(/unicorn/);
  });

  it('counts a byte-identical photo once, across concepts, and skips photos without a caption', () => {
    const photo = path.join(CONCEPTS, 'billy_dog/billy_dog_1.jpg');
    const root = folder({
      'a/one.jpg': { copyOf: photo },
      'a/two.jpg': { copyOf: path.join(CONCEPTS, 'billy_dog/billy_dog_2.jpg') },
      'a/captions.json': JSON.stringify({ 'one.jpg': ['a on a rug'], 'two.jpg': ['a again'] }),
      'b/copy.jpg': { copyOf: photo },
      'b/other.jpg': { copyOf: path.join(CONCEPTS, 'bo/0.png') },
      'b/uncaptioned.jpg': { copyOf: path.join(CONCEPTS, 'billy_dog/billy_dog_3.jpg') },
      'b/captions.json': JSON.stringify({ 'copy.jpg': ['b'], 'other.jpg': ['b outside'] }),
      'c/x.jpg': { copyOf: photo },
    });
    const data = loadCaptionDataset(root);
    expect(data.concepts.map((c) => [c.name, c.photos.map((p) => path.basename(p.file))])).toEqual([
      ['a', ['one.jpg', 'two.jpg']],
      ['b', ['other.jpg']],
    ]);
    expect(data.warnings).toEqual(
      expect.arrayContaining([
        'b/copy.jpg is a copy of a/one.jpg and counts once.',
        'b/uncaptioned.jpg has no caption in captions.json and is not evaluated.',
        'c/ has no captions.json and is not evaluated.',
      ]),
    );
  });

  it('refuses a folder that is not a caption dataset, saying what is expected', () => {
    const caught = (root: string) => {
      try {
        loadCaptionDataset(root);
      } catch (error) {
        return error;
      }
      return null;
    };
    const none = caught(path.join(SHARED_DATA, 'myvlm'));
    expect(none).toBeInstanceOf(OperatorError);
    expect((none as OperatorError).message).toMatch(/no concept folder with a captions.json/);
    expect((none as OperatorError).hint).toMatch(/captions.json/);
    const broken = folder({ 'a/captions.json': '{ not json', 'a/x.jpg': 'x' });
    expect((caught(broken) as Error).message).toMatch(/captions.json is not readable JSON/);
  });
});
