// Models whose weights arrive with `npm install`, inside an installed npm
// package, in a format ONNX Runtime cannot run. The package's files are
// checked against the registry (size and sha256), converted once into an
// ONNX model in the download cache (written to a temporary file and renamed,
// so an interrupted conversion leaves nothing behind), and from then on the
// model loads from the cache like any downloaded one. No network involved.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InternalError, ModelMissingError, OperatorError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { OnnxModel } from '../onnx/model.ts';
import { dlibResnetModel } from './dlib-resnet.ts';
import type { ModelEntryBase, ModelFile } from './entry.ts';
import { readTfjsWeights } from './tfjs-weights.ts';

const logger = moduleLogger('models');

/** How each kind of packaged weights becomes an ONNX model, from the package files in `files` order. */
const CONVERTERS = {
  /** face-api's FaceRecognitionNet: [weights manifest, weights bin] -> dlib's ResNet. */
  'face-api-recognition': ([manifest, bin]: Uint8Array[]) =>
    dlibResnetModel(readTfjsWeights(JSON.parse(new TextDecoder().decode(manifest)) as unknown, bin)),
} satisfies Record<string, (files: Uint8Array[]) => OnnxModel>;

/** Weights shipped in an npm package, and how to turn them into the entry's one ONNX file. */
export interface PackagedWeights {
  /** npm package name, a dependency of this project. */
  package: string;
  /** The version whose files the hashes below describe (for messages: the hashes decide). */
  version: string;
  /** Files inside the package folder, each with its exact size and sha256. */
  files: ModelFile[];
  convert: keyof typeof CONVERTERS;
}

/** Where the converted model lives: `<cacheDir>/<entry id>/<its one file>`. */
export function packagedModelPath(entry: ModelEntryBase, cacheDir: string): string {
  if (entry.files.length !== 1) throw new InternalError(`${entry.id}: a packaged model converts into exactly one file`);
  return path.join(cacheDir, entry.id, entry.files[0].path);
}

/**
 * The path of the entry's ONNX file in the cache, converting it from the
 * installed package first if it is not there yet. Synchronous: conversion
 * takes a fraction of a second and happens once per cache.
 */
export function ensurePackagedModel(entry: ModelEntryBase, packaged: PackagedWeights, cacheDir: string): string {
  const target = packagedModelPath(entry, cacheDir);
  if (existsSync(target)) return target;
  const inputs = packaged.files.map((file) => readPackageFile(entry, packaged, file));
  const bytes = CONVERTERS[packaged.convert](inputs).toBytes();
  const expected = entry.files[0];
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // The conversion is deterministic: other bytes than the registry's mean the converter changed, not the user's files.
  if ((expected.sha256 && sha256 !== expected.sha256) || (expected.bytes && bytes.byteLength !== expected.bytes))
    throw new InternalError(
      `${entry.id}: converted model has ${bytes.byteLength} bytes, sha256 ${sha256}; the registry expects ` +
        `${expected.bytes ?? '?'} bytes, sha256 ${expected.sha256 ?? '?'}`,
    );
  writeAtomically(target, bytes);
  logger.info({ modelId: entry.id, package: packaged.package, file: target }, 'converted packaged model');
  return target;
}

/** Writes `bytes` to a temporary file beside `target`, then renames it into place. */
export function writeAtomically(target: string, bytes: Uint8Array): void {
  mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, target);
  } catch (cause) {
    rmSync(temp, { force: true });
    throw new OperatorError(`Cannot write ${target} (${cause instanceof Error ? cause.message : String(cause)}).`, {
      cause,
      hint: 'Check the free space and the permissions of that folder (MYVLM_CACHE_DIR).',
    });
  }
}

/** The folder of an installed package, or null when `npm install` has not put it there. */
function packageFolder(name: string): string | null {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

function readPackageFile(entry: ModelEntryBase, packaged: PackagedWeights, file: ModelFile): Uint8Array {
  const folder = packageFolder(packaged.package);
  const where = folder ? path.join(folder, file.path) : null;
  if (!where || !existsSync(where)) {
    throw new ModelMissingError(
      entry.id,
      [`${packaged.package}/${file.path}`],
      `Its weights come with the npm package ${packaged.package}: run \`npm install\` in the project folder (no download of models needed).`,
    );
  }
  const bytes = readFileSync(where);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if ((file.sha256 && sha256 !== file.sha256) || (file.bytes !== undefined && bytes.byteLength !== file.bytes)) {
    throw new OperatorError(
      `${where} is not the file the model registry expects for ${entry.id} ` +
        `(${bytes.byteLength} bytes, sha256 ${sha256}; expected ${file.bytes ?? '?'} bytes, sha256 ${file.sha256 ?? '?'}).`,
      {
        hint: `Install the version the registry describes: \`npm install ${packaged.package}@${packaged.version}\`, or run \`npm ci\`.`,
      },
    );
  }
  return bytes;
}
