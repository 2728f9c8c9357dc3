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
    throw wrongDataset(
      `${root} has no identity folders (one folder of photos per person; folders starting with "_" are not people).`,
    );
  }
  const strangersDir = path.join(dir, '_strangers');
  const strangers = existsSync(strangersDir) ? photosIn(strangersDir) : [];
  const groups = loadGroups(path.join(dir, '_groups'), new Set(identities.map((i) => i.name)));
  return { root: dir, identities, strangers, groups };
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
