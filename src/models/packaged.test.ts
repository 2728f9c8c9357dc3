// The converter of packaged weights, on the real face-api package installed
// by `npm install` (no network): written once, atomically, byte-stable.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InternalError, ModelMissingError, OperatorError } from '../errors.ts';
import { ensurePackagedModel, packagedModelPath, writeAtomically } from './packaged.ts';
import { findModel } from './registry.ts';

const entry = findModel('face-recognition', 'dlib-resnet-v1');
const packaged = entry.packaged;
if (!packaged) throw new Error('dlib-resnet-v1 has no packaged weights');
const cache = mkdtempSync(path.join(tmpdir(), 'packaged-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('ensurePackagedModel', () => {
  it('converts the installed package into the cache once, with the bytes the registry pins', () => {
    const file = ensurePackagedModel(entry, packaged, cache);
    expect(file).toBe(path.join(cache, 'dlib-resnet-v1', 'dlib_face_recognition_resnet_model_v1.onnx'));
    const bytes = readFileSync(file);
    expect(bytes.byteLength).toBe(entry.files[0].bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.files[0].sha256);
    // Nothing but the model is left in the folder (the temporary file was renamed).
    expect(readdirSync(path.dirname(file))).toEqual(['dlib_face_recognition_resnet_model_v1.onnx']);
    // A second call finds it and does not write again.
    const old = new Date('2001-01-01T00:00:00Z');
    utimesSync(file, old, old);
    expect(ensurePackagedModel(entry, packaged, cache)).toBe(file);
    expect(statSync(file).mtime.getTime()).toBe(old.getTime());
  });

  it('refuses package files whose hash differs from the registry, naming the version to install', () => {
    const other = path.join(cache, 'other');
    const tampered = { ...packaged, files: [{ ...packaged.files[0], sha256: '0'.repeat(64) }, packaged.files[1]] };
    expect(() => ensurePackagedModel(entry, tampered, other)).toThrow(OperatorError);
    expect(() => ensurePackagedModel(entry, tampered, other)).toThrow(
      /is not the file the model registry expects for dlib-resnet-v1/,
    );
    try {
      ensurePackagedModel(entry, tampered, other);
    } catch (error) {
      expect((error as OperatorError).hint).toMatch('npm install @vladmandic/face-api@1.7.15');
    }
    expect(existsSync(packagedModelPath(entry, other))).toBe(false);
  });

  it('says to run npm install when the package is not installed', () => {
    const missing = { ...packaged, package: '@myvlm-test/not-installed' };
    expect(() => ensurePackagedModel(entry, missing, path.join(cache, 'none'))).toThrow(ModelMissingError);
  });

  it('refuses a conversion that does not give the pinned bytes (the converter changed)', () => {
    const pinnedOtherwise = { ...entry, files: [{ ...entry.files[0], sha256: 'f'.repeat(64) }] };
    expect(() => ensurePackagedModel(pinnedOtherwise, packaged, path.join(cache, 'pinned'))).toThrow(InternalError);
    expect(existsSync(packagedModelPath(pinnedOtherwise, path.join(cache, 'pinned')))).toBe(false);
  });
});

describe('writeAtomically', () => {
  it('replaces the target whole and leaves no temporary file when it cannot write', () => {
    const target = path.join(cache, 'atomic', 'model.onnx');
    writeAtomically(target, Uint8Array.from([1, 2, 3]));
    writeAtomically(target, Uint8Array.from([4, 5]));
    expect([...readFileSync(target)]).toEqual([4, 5]);
    // A folder in the way: the rename fails, the temporary file is removed.
    const blocked = path.join(cache, 'atomic');
    expect(() => writeAtomically(blocked, Uint8Array.from([1]))).toThrow(OperatorError);
    expect(readdirSync(path.dirname(blocked)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
