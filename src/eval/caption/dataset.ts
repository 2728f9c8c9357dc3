// The MyVLM dataset layout, as the paper's evaluation reads it
// (ALGORITHM.md section 6): `<data>/<concept>/*.jpg` with `captions.json`
// ({"photo.jpg": ["caption", ...]}), optionally `captions_augmented.json`
// (five captions per photo, the references of the standard metrics) and
// `additional_llava_vqa_data.json` ({"any/path/photo.jpg": [[question,
// answer], ...]}). The concept's folder name appears literally in its
// captions and stands for the concept.
//
// Photos are told apart by content: a file that is byte-identical to another
// one counts once (the first by name), so no photo can be taught in a fold
// and captioned as held out in the same fold.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../../errors.ts';
import { contentHash } from '../../image/content-hash.ts';

/** One photo of a concept and what the dataset says about it. */
export interface CaptionedPhoto {
  /** Absolute path. */
  file: string;
  /** sha256 of the file's bytes. */
  sha256: string;
  /** The captions of captions.json, with the concept's folder name in them (the teaching targets). */
  captions: string[];
  /** The captions the metrics compare against: captions_augmented.json's, else captions.json's. */
  references: string[];
  /** [question, answer] pairs of additional_llava_vqa_data.json (the answers say `sks`). */
  qa: [string, string][];
}

export interface CaptionConcept {
  /** The folder name, as it appears in the captions ("billy_dog"). */
  name: string;
  photos: CaptionedPhoto[];
  /** True when the references are captions_augmented.json's. */
  augmented: boolean;
}

export interface CaptionDataset {
  root: string;
  concepts: CaptionConcept[];
  /** Things a user should know about the folder (skipped files, copies, missing references), one line each. */
  warnings: string[];
}

const PHOTO = /\.(jpe?g|png|webp)$/i;
const LAYOUT_HINT =
  'A caption evaluation folder holds one folder per concept, each with its photos and a captions.json ' +
  '({"photo.jpg": ["a caption naming <folder name>"]}), as ../shared/data/myvlm/concepts does.';

/**
 * Reads the concept folders under `root` (all, or those named in `only`).
 * A folder that is not a dataset is an OperatorError saying what is
 * expected; photos without a caption, and copies, are skipped with a warning.
 */
export function loadCaptionDataset(root: string, only?: readonly string[]): CaptionDataset {
  if (!isDirectory(root)) throw new OperatorError(`${root} is not a folder.`, { hint: LAYOUT_HINT });
  const warnings: string[] = [];
  const folders = readdirSync(root)
    .filter((f) => !f.startsWith('.') && isDirectory(path.join(root, f)))
    .sort();
  const withCaptions = folders.filter((f) => existsSync(path.join(root, f, 'captions.json')));
  for (const f of folders)
    if (!withCaptions.includes(f)) warnings.push(`${f}/ has no captions.json and is not evaluated.`);
  if (withCaptions.length === 0)
    throw new OperatorError(`${root} holds no concept folder with a captions.json.`, { hint: LAYOUT_HINT });
  if (only) {
    const unknown = only.filter((name) => !withCaptions.includes(name));
    if (unknown.length > 0)
      throw new OperatorError(`No concept folder with captions named ${unknown.join(', ')} in ${root}.`, {
        hint: `The concepts there: ${withCaptions.join(', ')}.`,
      });
  }
  const seen = new Map<string, string>();
  const concepts: CaptionConcept[] = [];
  for (const name of only ? withCaptions.filter((f) => only.includes(f)) : withCaptions) {
    const concept = readConcept(root, name, seen, warnings);
    if (concept.photos.length > 0) concepts.push(concept);
    else warnings.push(`${name}/ has no captioned photo and is not evaluated.`);
  }
  return { root, concepts, warnings };
}

function readConcept(root: string, name: string, seen: Map<string, string>, warnings: string[]): CaptionConcept {
  const dir = path.join(root, name);
  const captions = readCaptionFile(path.join(dir, 'captions.json'));
  const augmentedFile = path.join(dir, 'captions_augmented.json');
  const augmented = existsSync(augmentedFile) ? readCaptionFile(augmentedFile) : null;
  if (!augmented)
    warnings.push(`${name}/ has no captions_augmented.json: its captions.json captions are the references.`);
  const qa = readQa(path.join(dir, 'additional_llava_vqa_data.json'));
  const photos: CaptionedPhoto[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!PHOTO.test(file)) continue;
    const own = captions.get(file);
    if (!own || own.length === 0) {
      warnings.push(`${name}/${file} has no caption in captions.json and is not evaluated.`);
      continue;
    }
    const absolute = path.join(dir, file);
    const sha256 = contentHash(absolute);
    const first = seen.get(sha256);
    if (first) {
      warnings.push(`${name}/${file} is a copy of ${first} and counts once.`);
      continue;
    }
    seen.set(sha256, `${name}/${file}`);
    const references = augmented?.get(file) ?? own;
    photos.push({ file: absolute, sha256, captions: own, references, qa: qa.get(file) ?? [] });
  }
  return { name, photos, augmented: augmented !== null };
}

/** A captions file as photo name -> captions; a broken file is the operator's to fix. */
function readCaptionFile(file: string): Map<string, string[]> {
  const parsed = readJson(file);
  const map = new Map<string, string[]>();
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new OperatorError(`${file} is not an object of photo names to captions.`, { hint: LAYOUT_HINT });
  for (const [photo, value] of Object.entries(parsed as Record<string, unknown>)) {
    const list = Array.isArray(value) ? value : [value];
    map.set(
      path.basename(photo),
      list.filter((c): c is string => typeof c === 'string' && c.trim() !== '').map((c) => c.trim()),
    );
  }
  return map;
}

/** The question-answer file, keyed by photo file name (its keys are paths on the authors' machine). */
function readQa(file: string): Map<string, [string, string][]> {
  const map = new Map<string, [string, string][]>();
  if (!existsSync(file)) return map;
  const parsed = readJson(file);
  if (typeof parsed !== 'object' || parsed === null) return map;
  for (const [photo, pairs] of Object.entries(parsed as Record<string, unknown>)) {
    if (!Array.isArray(pairs)) continue;
    const valid = pairs.filter(
      (p): p is [string, string] =>
        Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string',
    );
    map.set(path.basename(photo), valid);
  }
  return map;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (cause) {
    throw new OperatorError(`${file} is not readable JSON: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: LAYOUT_HINT,
      cause,
    });
  }
}

function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
