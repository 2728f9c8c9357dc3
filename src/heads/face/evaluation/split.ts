// The two halves of an evaluation set: thresholds are chosen on the
// calibration half and reported on the other, so no reported photo ever
// helped choose the number it is judged by. Photos are told apart by their
// content (sha256), not their names: byte-identical copies in several
// places count once and always land in the same half.
import { contentHash } from '../../../image/content-hash.ts';
import type { FaceDataset, GroupPhoto } from './dataset.ts';

export interface DatasetSplit {
  /** Where thresholds are chosen (and people are taught from, in both halves). */
  calibration: FaceDataset;
  /** Where the chosen threshold is measured; never seen before that. */
  report: FaceDataset;
}

/**
 * Splits one folder's photos: distinct contents sorted by hash, alternately
 * to calibration (first, third, ...) and report, so each half holds half of
 * every identity whatever its size. Copies of a content are dropped (the
 * first path, by name, stands for it).
 */
function halves<T>(items: readonly T[], pathOf: (item: T) => string, hashOf: (file: string) => string): [T[], T[]] {
  const byHash = new Map<string, T>();
  for (const item of items) {
    const hash = hashOf(pathOf(item));
    if (!byHash.has(hash)) byHash.set(hash, item);
  }
  const ordered = [...byHash.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, item]) => item);
  return [ordered.filter((_, i) => i % 2 === 0), ordered.filter((_, i) => i % 2 === 1)];
}

/** The calibration and report halves of a set; `hashOf` is injectable for tests. */
export function splitByContent(dataset: FaceDataset, hashOf: (file: string) => string = contentHash): DatasetSplit {
  const memo = new Map<string, string>();
  const hash = (file: string) => {
    let h = memo.get(file);
    if (h === undefined) memo.set(file, (h = hashOf(file)));
    return h;
  };
  const identities = dataset.identities.map((identity) => ({
    identity,
    parts: halves(identity.photos, (p) => p, hash),
  }));
  const strangers = halves(dataset.strangers, (p) => p, hash);
  const groups = halves<GroupPhoto>(dataset.groups, (g) => g.path, hash);
  const half = (side: 0 | 1): FaceDataset => ({
    root: dataset.root,
    identities: identities.map(({ identity, parts }) => ({ name: identity.name, photos: parts[side] })),
    strangers: strangers[side],
    groups: groups[side],
  });
  return { calibration: half(0), report: half(1) };
}
