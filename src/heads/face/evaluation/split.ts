// The two halves of an evaluation set: thresholds are chosen on the
// calibration half and reported on the other, so no reported photo ever
// helped choose the number it is judged by. Photos are told apart by their
// content (sha256), not their names: byte-identical copies in several
// places count once and always land in the same half, across folders too
// (a group photo that is also in a person's folder goes where that one goes).
import { contentHash } from '../../../image/content-hash.ts';
import type { FaceDataset } from './dataset.ts';

export interface DatasetSplit {
  /** Where thresholds are chosen (and people are taught from, in both halves). */
  calibration: FaceDataset;
  /** Where the chosen threshold is measured; never seen before that. */
  report: FaceDataset;
  /** Photos left out because their folders contradict each other, for stderr. */
  warnings: string[];
}

/**
 * Splits a set's photos into halves. Folders are dealt in turn (identities,
 * strangers, groups): each folder's distinct contents, sorted by hash, keep
 * the half an earlier folder gave them, and the others go alternately to the
 * half that holds fewer of this folder's so far (calibration on a tie), so
 * each half holds half of every identity whatever its size. Copies within a
 * folder count once (the first path, by name, stands for them). A content
 * in two people's folders, or in a person's folder and in _strangers/, says
 * two things about one face: it is left out everywhere, with a warning.
 */
export function splitByContent(dataset: FaceDataset, hashOf: (file: string) => string = contentHash): DatasetSplit {
  const memo = new Map<string, string>();
  const hash = (file: string) => {
    let h = memo.get(file);
    if (h === undefined) memo.set(file, (h = hashOf(file)));
    return h;
  };
  const labels = new Map<string, Set<string>>();
  const label = (file: string, who: string) => labels.set(hash(file), (labels.get(hash(file)) ?? new Set()).add(who));
  for (const identity of dataset.identities) for (const file of identity.photos) label(file, identity.name);
  for (const file of dataset.strangers) label(file, '_strangers');
  const contradicted = new Set([...labels].filter(([, who]) => who.size > 1).map(([h]) => h));
  const warnings = [...dataset.identities.flatMap((i) => i.photos), ...dataset.strangers]
    .filter((file) => contradicted.has(hash(file)))
    .map(
      (file) =>
        `${file} is left out: the same photo is in ${[...(labels.get(hash(file)) as Set<string>)].join(' and ')}.`,
    );

  const side = new Map<string, 0 | 1>();
  function halves<T>(items: readonly T[], pathOf: (item: T) => string): [T[], T[]] {
    const byHash = new Map<string, T>();
    for (const item of items) {
      const h = hash(pathOf(item));
      if (!contradicted.has(h) && !byHash.has(h)) byHash.set(h, item);
    }
    const parts: [T[], T[]] = [[], []];
    for (const [h, item] of [...byHash].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      let s = side.get(h);
      if (s === undefined) side.set(h, (s = parts[0].length <= parts[1].length ? 0 : 1));
      parts[s].push(item);
    }
    return parts;
  }
  const identities = dataset.identities.map((identity) => ({
    name: identity.name,
    parts: halves(identity.photos, (p) => p),
  }));
  const strangers = halves(dataset.strangers, (p) => p);
  const groups = halves(dataset.groups, (g) => g.path);
  const half = (s: 0 | 1): FaceDataset => ({
    root: dataset.root,
    identities: identities.map(({ name, parts }) => ({ name, photos: parts[s] })),
    strangers: strangers[s],
    groups: groups[s],
  });
  return { calibration: half(0), report: half(1), warnings };
}
