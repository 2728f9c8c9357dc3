import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorError } from '../../../errors.ts';
import { faceLayoutWarnings, loadFaceDataset } from './dataset.ts';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

function layout(files: Record<string, string>): string {
  root = mkdtempSync(path.join(tmpdir(), 'faces-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

describe('loadFaceDataset', () => {
  it('reads identities, strangers and labelled group photos', () => {
    const groups = {
      groups: [
        {
          file: 'g1.jpg',
          identities_present: ['anna'],
          faces: [
            { box_xywh: [1, 2, 30, 40], label: 'anna' },
            { box_xywh: [50, 2, 30, 40], label: 'not_enrolled: man' },
          ],
        },
        { file: 'crowd.jpg', identities_present: [], faces: 'all not_enrolled' },
      ],
    };
    const dir = layout({
      'anna/b.jpg': '',
      'anna/a.JPG': '',
      'anna/notes.txt': '',
      'bob/1.png': '',
      'empty/readme.md': '',
      '_strangers/x.jpeg': '',
      '_groups/groups.json': JSON.stringify(groups),
      '_groups/g1.jpg': '',
      '_groups/crowd.jpg': '',
    });
    const dataset = loadFaceDataset(dir);
    expect(dataset.identities.map((i) => [i.name, i.photos.map((p) => path.basename(p))])).toEqual([
      ['anna', ['a.JPG', 'b.jpg']],
      ['bob', ['1.png']],
    ]);
    expect(dataset.strangers.map((p) => path.basename(p))).toEqual(['x.jpeg']);
    expect(dataset.groups).toHaveLength(2);
    expect(dataset.groups[0]).toMatchObject({ present: ['anna'], everyoneStranger: false });
    expect(dataset.groups[0].faces).toEqual([
      { box: { x: 1, y: 2, width: 30, height: 40 }, identity: 'anna' },
      { box: { x: 50, y: 2, width: 30, height: 40 }, identity: null },
    ]);
    expect(dataset.groups[1]).toMatchObject({ present: [], faces: [], everyoneStranger: true });
  });

  it('explains what is wrong with a folder that is not a face set', () => {
    const missing = path.join(tmpdir(), 'no-such-folder-for-faces');
    expect(() => loadFaceDataset(missing)).toThrow(OperatorError);
    expect(() => loadFaceDataset(missing)).toThrow(`${missing} is not a folder.`);
    const strangersOnly = layout({ '_strangers/x.jpg': '' });
    expect(() => loadFaceDataset(strangersOnly)).toThrow(OperatorError);
    expect(() => loadFaceDataset(strangersOnly)).toThrow(/no identity folders/);
    const bad = { groups: [{ file: 'g.jpg', identities_present: ['carol'], faces: [] }] };
    const unknownName = layout({ 'anna/a.jpg': '', '_groups/groups.json': JSON.stringify(bad) });
    expect(() => loadFaceDataset(unknownName)).toThrow(OperatorError);
    expect(() => loadFaceDataset(unknownName)).toThrow(/g\.jpg names carol, which have no folder/);
  });

  it("refuses a person's folder given as the set, and a group photo that is not there", () => {
    const person = layout({ 'a.jpg': '', 'b.jpg': '' });
    expect(() => loadFaceDataset(person)).toThrow(
      /only 2 photo\(s\): it looks like one person's folder; name the folder above it\./,
    );
    const groups = { groups: [{ file: 'gone.jpg', identities_present: [], faces: [] }] };
    const dir = layout({ 'anna/a.jpg': '', '_groups/groups.json': JSON.stringify(groups) });
    expect(() => loadFaceDataset(dir)).toThrow(OperatorError);
    expect(() => loadFaceDataset(dir)).toThrow(
      `${path.join(dir, '_groups', 'groups.json')} lists gone.jpg, which is not in ${path.join(dir, '_groups')}.`,
    );
  });

  it('warns about what it ignores and about people who cannot be tested', () => {
    const dir = layout({
      'anna/a.jpg': '',
      'anna/b.jpg': '',
      'anna/c.gif': '',
      'anna/old/d.jpg': '',
      'bob/1.jpg': '',
      'carol/captions.json': '',
      'loose.jpg': '',
      '_extra/x.jpg': '',
      '_groups/unlisted.jpg': '',
    });
    expect(faceLayoutWarnings(loadFaceDataset(dir))).toEqual([
      `${dir}: 1 photo(s) directly inside belong to no person and are ignored.`,
      `${path.join(dir, '_extra')} is ignored: of the folders starting with "_", only _strangers/ and _groups/ are read.`,
      `${path.join(dir, 'anna')}: subfolders are ignored (old).`,
      `${path.join(dir, 'anna')}: 1 file(s) ignored (c.gif): only .jpg, .jpeg, .png and .webp are read.`,
      `${path.join(dir, 'bob')} has 1 photo: the person can be taught from the calibration half but is never tested.`,
      `${path.join(dir, 'carol')} is skipped: it holds no photos.`,
      `${path.join(dir, '_groups')}: 1 photo(s) are not in groups.json and are ignored (there is no groups.json).`,
    ]);
  });
});
