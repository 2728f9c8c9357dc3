// Reads a face evaluation set laid out one folder per identity: folders whose
// name starts with `_` are not identities; `_strangers/` holds negatives and
// `_groups/groups.json` describes photos with several labelled faces.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../../../errors.ts';
import type { Box } from '../../../image/box.ts';

const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** The set is named on the command line: whoever runs the evaluation fixes it. */
const LAYOUT_HINT = 'docs/faces.md describes the layout of a face evaluation set.';

function wrongDataset(problem: string, cause?: unknown): OperatorError {
  return new OperatorError(problem, { cause, hint: LAYOUT_HINT });
}

export interface IdentityPhotos {
  name: string;
  /** Absolute paths, sorted by file name. */
  photos: string[];
}

export interface LabelledFace {
  box: Box;
  /** An identity's folder name, or null for someone not enrolled. */
  identity: string | null;
}

export interface GroupPhoto {
  path: string;
  /** Enrolled identities visible in the photo, including ones a detector may miss. */
  present: string[];
  /** Labelled face boxes; `everyoneStranger` photos list none and every detected face is a stranger. */
  faces: LabelledFace[];
  everyoneStranger: boolean;
}

export interface FaceDataset {
  root: string;
  identities: IdentityPhotos[];
  strangers: string[];
  groups: GroupPhoto[];
}

/** Loads the folder layout; a folder that is not such a set is an OperatorError that says what is wrong. */
export function loadFaceDataset(root: string): FaceDataset {
  const dir = path.resolve(root);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw wrongDataset(`${root} is not a folder.`);
  const folders = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const identities = folders
    .filter((name) => !name.startsWith('_'))
    .map((name) => ({ name, photos: photosIn(path.join(dir, name)) }))
    .filter((identity) => identity.photos.length > 0);
  if (identities.length === 0) {
    const loose = photosIn(dir).length;
    throw wrongDataset(
      `${root} has no identity folders (one folder of photos per person; folders starting with "_" are not people)` +
        (loose > 0 ? `, only ${loose} photo(s): it looks like one person's folder; name the folder above it.` : '.'),
    );
  }
  const strangersDir = path.join(dir, '_strangers');
  const strangers = existsSync(strangersDir) ? photosIn(strangersDir) : [];
  const groups = loadGroups(path.join(dir, '_groups'), new Set(identities.map((i) => i.name)));
  return { root: dir, identities, strangers, groups };
}

/** Files that may sit beside the photos without being read (notes, manifests, licences). */
const EXPECTED_OTHER = new Set(['.json', '.txt', '.md']);

/**
 * What a loaded set does not do as its layout probably meant, for stderr:
 * folders and files that are ignored, identities with no photo or with one
 * (taught from the calibration half, never tested), group photos not listed.
 */
export function faceLayoutWarnings(dataset: FaceDataset): string[] {
  const warnings: string[] = [];
  const entries = readdirSync(dataset.root, { withFileTypes: true }).filter((d) => !d.name.startsWith('.'));
  const loose = entries.filter((d) => d.isFile() && PHOTO_EXTENSIONS.has(path.extname(d.name).toLowerCase()));
  if (loose.length > 0)
    warnings.push(`${dataset.root}: ${loose.length} photo(s) directly inside belong to no person and are ignored.`);
  for (const d of entries.filter((e) => e.isDirectory())) {
    const dir = path.join(dataset.root, d.name);
    if (d.name.startsWith('_') && d.name !== '_strangers' && d.name !== '_groups') {
      warnings.push(`${dir} is ignored: of the folders starting with "_", only _strangers/ and _groups/ are read.`);
      continue;
    }
    const files = readdirSync(dir, { withFileTypes: true }).filter((f) => !f.name.startsWith('.'));
    const nested = files.filter((f) => f.isDirectory()).map((f) => f.name);
    if (nested.length > 0) warnings.push(`${dir}: subfolders are ignored (${nested.join(', ')}).`);
    const odd = files
      .filter((f) => f.isFile() && !PHOTO_EXTENSIONS.has(path.extname(f.name).toLowerCase()))
      .map((f) => f.name)
      .filter((f) => !EXPECTED_OTHER.has(path.extname(f).toLowerCase()));
    if (odd.length > 0)
      warnings.push(
        `${dir}: ${odd.length} file(s) ignored (${odd.slice(0, 3).join(', ')}): only .jpg, .jpeg, .png and .webp are read.`,
      );
    if (d.name.startsWith('_')) continue;
    const count = photosIn(dir).length;
    if (count === 0) warnings.push(`${dir} is skipped: it holds no photos.`);
    else if (count === 1)
      warnings.push(`${dir} has 1 photo: the person can be taught from the calibration half but is never tested.`);
  }
  const groupsDir = path.join(dataset.root, '_groups');
  if (existsSync(groupsDir)) {
    const listed = new Set(dataset.groups.map((g) => g.path));
    const unlisted = photosIn(groupsDir).filter((file) => !listed.has(file));
    if (unlisted.length > 0)
      warnings.push(
        `${groupsDir}: ${unlisted.length} photo(s) are not in groups.json and are ignored` +
          (existsSync(path.join(groupsDir, 'groups.json')) ? '.' : ' (there is no groups.json).'),
      );
  }
  return warnings;
}

function photosIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => PHOTO_EXTENSIONS.has(path.extname(f).toLowerCase()))
    .sort()
    .map((f) => path.join(dir, f));
}

function loadGroups(dir: string, identities: ReadonlySet<string>): GroupPhoto[] {
  const file = path.join(dir, 'groups.json');
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw wrongDataset(`${file} is not valid JSON.`, cause);
  }
  const groups = (parsed as { groups?: unknown }).groups;
  if (!Array.isArray(groups)) throw wrongDataset(`${file} has no "groups" list.`);
  return groups.map((raw: unknown, i) => {
    const g = raw as { file?: unknown; identities_present?: unknown; faces?: unknown };
    if (typeof g.file !== 'string') throw wrongDataset(`${file}: group ${i} has no "file".`);
    const present = Array.isArray(g.identities_present)
      ? g.identities_present.filter((x): x is string => typeof x === 'string')
      : [];
    const unknown = present.filter((name) => !identities.has(name));
    if (unknown.length > 0) throw wrongDataset(`${file}: ${g.file} names ${unknown.join(', ')}, which have no folder.`);
    const where = `${file}: ${g.file}`;
    const faces = Array.isArray(g.faces) ? g.faces.map((f: unknown) => labelledFace(f, identities, where)) : [];
    if (!existsSync(path.join(dir, g.file))) throw wrongDataset(`${file} lists ${g.file}, which is not in ${dir}.`);
    return {
      path: path.join(dir, g.file),
      present,
      faces,
      everyoneStranger: !Array.isArray(g.faces) && present.length === 0,
    };
  });
}

function labelledFace(raw: unknown, identities: ReadonlySet<string>, where: string): LabelledFace {
  const f = raw as { box_xywh?: unknown; label?: unknown };
  const box = f.box_xywh;
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number'))
    throw wrongDataset(`${where}: a face has no [x, y, w, h] box.`);
  const label = typeof f.label === 'string' ? f.label : '';
  return {
    box: { x: box[0], y: box[1], width: box[2], height: box[3] },
    identity: identities.has(label) ? label : null,
  };
}
