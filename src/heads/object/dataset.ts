// The folder layout of an object-head evaluation, as the MyVLM dataset has it:
// `concepts/<concept>/*.jpg` (captions and other JSON files are ignored here),
// optional `negatives/<concept>/*.jpg` (same-category photos that are not the
// concept) and optional `random/*.jpg` (unrelated photos).
//
// Photos are told apart by their content (sha256), not their paths: the
// MyVLM negatives/ folders hold byte-identical copies under several concepts,
// and keyed by path a photo one head trained on came back as its test photo.
// Every distinct content appears once in a loaded dataset, under one path.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../../errors.ts';
import { contentHash } from '../../image/content-hash.ts';

export interface ObjectDataset {
  root: string;
  /** Concepts in name order, each with its photos in name order (absolute paths, one per content). */
  concepts: Array<{ name: string; photos: string[] }>;
  /**
   * Hard negatives by the name of the negatives/ folder that lists them
   * (absent: none). A content listed under several folders is one path,
   * listed under each: it is an own hard negative of every concept listing it.
   */
  hardNegatives: Map<string, string[]>;
  random: string[];
  /** The sha256 of every photo above, by path. */
  hashes: Map<string, string>;
  /** What does not look as expected (skipped folders, ignored files, copies), for stderr. */
  warnings: string[];
}

const PHOTO = /\.(jpe?g|png|webp)$/i;
/** Files that belong in a MyVLM folder but are not photos (captions, VQA data, licences, notes). */
const EXPECTED_OTHER = /\.(json|txt|md)$/i;
const LAYOUT_HINT =
  'An evaluation folder holds concepts/<concept>/*.jpg (at least 2 photos per concept), ' +
  'and optionally negatives/<concept>/*.jpg and random/*.jpg; docs/objects.md describes it.';

function wrongLayout(problem: string): OperatorError {
  return new OperatorError(problem, { hint: LAYOUT_HINT });
}

/**
 * Lists the photos of an evaluation folder, one path per content. The folder
 * is named on the command line, so a folder that cannot be evaluated is an
 * OperatorError that says what is expected and what was found; a folder that
 * can, but not as it probably was meant, loads with `warnings`.
 * `shots` is the number of teaching photos a run will ask for: a concept with
 * fewer than shots + 1 photos is taught from fewer and warned about.
 */
export function loadObjectDataset(
  root: string,
  { shots = 1, hashOf = contentHash }: { shots?: number; hashOf?: (file: string) => string } = {},
): ObjectDataset {
  if (!isDirectory(root)) throw wrongLayout(`${root} is not a folder.`);
  const conceptsDir = path.join(root, 'concepts');
  if (!isDirectory(conceptsDir)) throw wrongLayout(missingConcepts(root));
  const warnings: string[] = [];
  const hashes = new Map<string, string>();
  const hashed = (files: string[]) => files.map((file) => ({ file, hash: hashOf(file) }));

  for (const name of readdirSync(root).sort()) {
    if (
      !name.startsWith('.') &&
      isDirectory(path.join(root, name)) &&
      !['concepts', 'negatives', 'random'].includes(name)
    )
      warnings.push(`${path.join(root, name)} is ignored: only concepts/, negatives/ and random/ are read.`);
  }

  // Concepts: a content in two concept folders would be a positive of both and a negative of neither, so it is
  // left out of both; a copy within one folder counts once.
  const folders = subfolders(conceptsDir, warnings).map((name) => ({
    name,
    photos: hashed(photosIn(path.join(conceptsDir, name), warnings)),
  }));
  const conceptsOf = new Map<string, Set<string>>();
  for (const { name, photos } of folders)
    for (const { hash } of photos) conceptsOf.set(hash, (conceptsOf.get(hash) ?? new Set()).add(name));
  const concepts: ObjectDataset['concepts'] = [];
  for (const { name, photos } of folders) {
    const dir = path.join(conceptsDir, name);
    const kept: string[] = [];
    const seen = new Set<string>();
    for (const { file, hash } of photos) {
      const owners = conceptsOf.get(hash) as Set<string>;
      if (owners.size > 1) {
        warnings.push(`${file} is left out: the same photo is in ${[...owners].sort().join(' and ')}.`);
      } else if (seen.has(hash)) {
        warnings.push(`${file} is a copy of another photo of ${name}: it counts once.`);
      } else {
        seen.add(hash);
        hashes.set(file, hash);
        kept.push(file);
      }
    }
    if (kept.length === 0) warnings.push(`${dir} is skipped: it holds no photos.`);
    else if (kept.length === 1) warnings.push(`${dir} is skipped: 1 photo cannot both teach and test a concept.`);
    else if (kept.length < shots + 1)
      warnings.push(
        `${dir} has ${kept.length} distinct photos: ${shots} shots and 1 test photo need ${shots + 1}; it is taught from ${kept.length - 1}.`,
      );
    if (kept.length >= 2) concepts.push({ name, photos: kept });
  }
  if (concepts.length === 0)
    throw wrongLayout(`${conceptsDir} holds no concept folder with at least 2 distinct photos.`);
  const conceptNames = new Set(concepts.map((c) => c.name));

  // Negatives: a concept photo is already a negative of every other concept (and cannot be "not" its own), so a copy
  // of one among the negatives is left out there. A content listed by several negatives/ folders is one photo.
  const hardNegatives = new Map<string, string[]>();
  const pathOf = new Map<string, string>();
  const listings = new Map<string, number>();
  const negativesDir = path.join(root, 'negatives');
  if (existsSync(negativesDir)) {
    for (const name of subfolders(negativesDir, warnings)) {
      if (!conceptNames.has(name))
        warnings.push(
          `negatives/${name} names no concept folder here: its photos only count as other concepts' hard negatives.`,
        );
      const listed = new Set<string>();
      for (const { file, hash } of hashed(photosIn(path.join(negativesDir, name), warnings))) {
        const owners = conceptsOf.get(hash);
        if (owners) warnings.push(`${file} is left out: it is a photo of ${[...owners].join(' and ')}.`);
        if (owners || listed.has(hash)) continue;
        listed.add(hash);
        listings.set(hash, (listings.get(hash) ?? 0) + 1);
        if (!pathOf.has(hash)) pathOf.set(hash, file);
      }
      const files = [...listed].map((hash) => pathOf.get(hash) as string);
      if (files.length > 0) hardNegatives.set(name, files);
    }
  }
  for (const [hash, file] of pathOf) hashes.set(file, hash);
  const shared = [...listings.values()].filter((n) => n > 1).length;
  if (shared > 0)
    warnings.push(
      `${shared} photo(s) are in more than one negatives/ folder: each counts once, as an own hard negative of every concept that lists it.`,
    );

  const random: string[] = [];
  const randomDir = path.join(root, 'random');
  if (existsSync(randomDir)) {
    const taken = new Set(hashes.values());
    for (const { file, hash } of hashed(photosIn(randomDir, warnings))) {
      if (taken.has(hash) || conceptsOf.has(hash)) {
        warnings.push(
          `${file} is left out of random/: the same photo is a concept photo, a hard negative or in random/ twice.`,
        );
        continue;
      }
      taken.add(hash);
      hashes.set(file, hash);
      random.push(file);
    }
  }
  return { root, concepts, hardNegatives, random, hashes, warnings };
}

export interface ObjectDatasetHalves {
  /** Where anything is chosen: the normalization, any threshold. */
  calibration: ObjectDataset;
  /** Where the results are reported; none of its photos helped choose anything. */
  test: ObjectDataset;
}

/**
 * Splits a dataset into two halves that share no photo. Whole concepts go to
 * one half: a head trains on its scope's other concepts, so a split inside
 * each concept would leave the 9-photo concepts too few photos to teach 4 and
 * test. Concepts are ordered by a hash of their photos' hashes and dealt
 * alternately, the first to calibration, so the split follows the photos,
 * not folder names. A hard negative goes with the first concept (by name)
 * that lists it and is dropped from the other half's lists; random photos,
 * and hard negatives no concept here lists, are dealt alternately by hash.
 */
export function splitForCalibration(dataset: ObjectDataset): ObjectDatasetHalves {
  const hashOf = (file: string) => dataset.hashes.get(file) as string;
  const conceptKey = (photos: readonly string[]) =>
    createHash('sha256').update(photos.map(hashOf).sort().join('\n')).digest('hex');
  const ordered = [...dataset.concepts].sort((a, b) => compare(conceptKey(a.photos), conceptKey(b.photos)));
  const calibrationConcepts = new Set(ordered.filter((_, i) => i % 2 === 0).map((c) => c.name));
  const side = new Map<string, boolean>();
  const deal = (files: readonly string[]) =>
    [...files].sort((a, b) => compare(hashOf(a), hashOf(b))).forEach((file, i) => side.set(file, i % 2 === 0));
  const conceptNames = new Set(dataset.concepts.map((c) => c.name));
  const folders = [...dataset.hardNegatives.keys()].sort();
  for (const name of folders.filter((n) => conceptNames.has(n)))
    for (const file of dataset.hardNegatives.get(name) as string[])
      if (!side.has(file)) side.set(file, calibrationConcepts.has(name));
  const unowned = folders.filter((n) => !conceptNames.has(n)).flatMap((n) => dataset.hardNegatives.get(n) as string[]);
  deal([...new Set(unowned)].filter((file) => !side.has(file)));
  deal(dataset.random);
  const half = (calibration: boolean): ObjectDataset => {
    const concepts = dataset.concepts.filter((c) => calibrationConcepts.has(c.name) === calibration);
    const hardNegatives = new Map<string, string[]>();
    for (const [name, files] of dataset.hardNegatives) {
      const kept = files.filter((file) => side.get(file) === calibration);
      if (kept.length > 0) hardNegatives.set(name, kept);
    }
    const random = dataset.random.filter((file) => side.get(file) === calibration);
    const files = [...concepts.flatMap((c) => c.photos), ...[...hardNegatives.values()].flat(), ...random];
    return {
      root: dataset.root,
      concepts,
      hardNegatives,
      random,
      hashes: new Map(files.map((file) => [file, hashOf(file)])),
      warnings: [],
    };
  };
  return { calibration: half(true), test: half(false) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Why a folder without concepts/ is not an evaluation folder, and the likely right one. */
function missingConcepts(root: string): string {
  const resolved = path.resolve(root);
  const entries = readdirSync(resolved);
  const photoFolders = entries.filter(
    (name) =>
      isDirectory(path.join(resolved, name)) && readdirSync(path.join(resolved, name)).some((f) => PHOTO.test(f)),
  );
  const found = `${root} has no concepts/ folder`;
  if (
    path.basename(resolved) === 'concepts' ||
    (photoFolders.length > 0 && isDirectory(path.join(resolved, '..', 'concepts')))
  )
    return `${found}: it looks like the concepts/ folder itself; name the folder above it (${path.dirname(resolved)}).`;
  if (photoFolders.length > 0)
    return `${found}, only folders of photos (${sample(photoFolders)}): put them in ${path.join(root, 'concepts')}/.`;
  const photos = entries.filter((f) => PHOTO.test(f));
  if (photos.length > 0)
    return `${found}, only ${photos.length} photo(s) (${sample(photos)}): it looks like one concept's folder.`;
  return `${found}.`;
}

/** The first few names of a list, for a message. */
function sample(names: readonly string[]): string {
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`;
}

/**
 * The photo files directly inside a folder, in name order (absolute paths).
 * With `warnings`, files that are neither photos nor expected notes are named there.
 */
export function photosIn(directory: string, warnings?: string[]): string[] {
  const photos: string[] = [];
  const odd: string[] = [];
  for (const f of readdirSync(directory).sort()) {
    if (f.startsWith('.')) continue;
    const file = path.join(directory, f);
    if (!statSync(file).isFile()) {
      if (warnings)
        warnings.push(`${file} is ignored: photos are read directly inside ${directory}, not in subfolders.`);
    } else if (PHOTO.test(f)) photos.push(file);
    else if (!EXPECTED_OTHER.test(f)) odd.push(f);
  }
  if (warnings && odd.length > 0)
    warnings.push(
      `${directory}: ${odd.length} file(s) ignored (${sample(odd)}): only .jpg, .jpeg, .png and .webp are read.`,
    );
  return photos;
}

/** The folders inside a folder, in name order; loose photos there are named in `warnings`. */
function subfolders(directory: string, warnings: string[]): string[] {
  const names = readdirSync(directory).filter((f) => !f.startsWith('.'));
  const loose = names.filter((f) => PHOTO.test(f) && !isDirectory(path.join(directory, f)));
  if (loose.length > 0)
    warnings.push(
      `${directory}: ${loose.length} photo(s) directly inside are ignored: put them in a folder per concept.`,
    );
  return names.filter((f) => isDirectory(path.join(directory, f))).sort();
}

function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
