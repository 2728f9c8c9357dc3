import { describe, expect, it } from 'vitest';
import type { FaceDataset } from './dataset.ts';
import { splitByContent } from './split.ts';

// Content "hashes" by file name: copies share one.
const HASHES: Record<string, string> = {
  'a/1.jpg': 'c3',
  'a/2.jpg': 'a1',
  'a/3.jpg': 'b2',
  'a/copy-of-2.jpg': 'a1',
  'b/1.jpg': 'f0',
  'b/2.jpg': '0e',
  's/1.jpg': '77',
  's/2.jpg': '11',
  'g/1.jpg': '55',
};
const hashOf = (file: string) => HASHES[file];

const dataset: FaceDataset = {
  root: '/set',
  identities: [
    { name: 'a', photos: ['a/1.jpg', 'a/2.jpg', 'a/3.jpg', 'a/copy-of-2.jpg'] },
    { name: 'b', photos: ['b/1.jpg', 'b/2.jpg'] },
  ],
  strangers: ['s/1.jpg', 's/2.jpg'],
  groups: [{ path: 'g/1.jpg', present: ['a'], faces: [], everyoneStranger: false }],
};

describe('splitByContent', () => {
  it('alternates each folder by content hash, calibration first, and keeps one copy of each content', () => {
    const { calibration, report } = splitByContent(dataset, hashOf);
    // a: a1 (2.jpg), b2 (3.jpg), c3 (1.jpg); the copy of 2.jpg is dropped.
    expect(calibration.identities).toEqual([
      { name: 'a', photos: ['a/2.jpg', 'a/1.jpg'] },
      { name: 'b', photos: ['b/2.jpg'] },
    ]);
    expect(report.identities).toEqual([
      { name: 'a', photos: ['a/3.jpg'] },
      { name: 'b', photos: ['b/1.jpg'] },
    ]);
    expect(calibration.strangers).toEqual(['s/2.jpg']);
    expect(report.strangers).toEqual(['s/1.jpg']);
    expect(calibration.groups.map((g) => g.path)).toEqual(['g/1.jpg']);
    expect(report.groups).toEqual([]);
  });

  it('never puts one content in both halves, whatever its file names', () => {
    const { calibration, report } = splitByContent(dataset, hashOf);
    const contents = (d: FaceDataset) =>
      new Set([...d.identities.flatMap((i) => i.photos), ...d.strangers, ...d.groups.map((g) => g.path)].map(hashOf));
    const overlap = [...contents(calibration)].filter((h) => contents(report).has(h));
    expect(overlap).toEqual([]);
  });

  it('keeps a content in one half across folders and leaves out contradicting copies', () => {
    const files: Record<string, string> = {
      'a/1.jpg': '10',
      'a/2.jpg': '20',
      'a/both.jpg': '30',
      'b/both.jpg': '30',
      'b/1.jpg': '40',
      'b/2.jpg': '50',
      'b/stranger.jpg': '60',
      's/stranger.jpg': '60',
      's/1.jpg': '70',
      'g/a2.jpg': '20',
      'g/1.jpg': '05',
    };
    const set: FaceDataset = {
      root: '/set',
      identities: [
        { name: 'a', photos: ['a/1.jpg', 'a/2.jpg', 'a/both.jpg'] },
        { name: 'b', photos: ['b/1.jpg', 'b/2.jpg', 'b/both.jpg', 'b/stranger.jpg'] },
      ],
      strangers: ['s/1.jpg', 's/stranger.jpg'],
      groups: [
        { path: 'g/1.jpg', present: [], faces: [], everyoneStranger: true },
        { path: 'g/a2.jpg', present: ['a'], faces: [], everyoneStranger: false },
      ],
    };
    const { calibration, report, warnings } = splitByContent(set, (f) => files[f]);
    expect(warnings).toEqual([
      'a/both.jpg is left out: the same photo is in a and b.',
      'b/both.jpg is left out: the same photo is in a and b.',
      'b/stranger.jpg is left out: the same photo is in b and _strangers.',
      's/stranger.jpg is left out: the same photo is in b and _strangers.',
    ]);
    expect(calibration.identities).toEqual([
      { name: 'a', photos: ['a/1.jpg'] },
      { name: 'b', photos: ['b/1.jpg'] },
    ]);
    expect(report.identities).toEqual([
      { name: 'a', photos: ['a/2.jpg'] },
      { name: 'b', photos: ['b/2.jpg'] },
    ]);
    expect(calibration.strangers).toEqual(['s/1.jpg']);
    expect(report.strangers).toEqual([]);
    // The group copy of a/2.jpg follows it into the report half, though the group folder alone would deal it second.
    expect(calibration.groups.map((g) => g.path)).toEqual(['g/1.jpg']);
    expect(report.groups.map((g) => g.path)).toEqual(['g/a2.jpg']);
  });
});
