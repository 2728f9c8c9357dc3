import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeWeights, serve, startFakeHub, toyHubEntry, type FakeHub } from '../../test/fakes/hub.ts';
import { delay } from '../../test/fakes/http.ts';
import { ModelMissingError, OperatorError } from '../errors.ts';
import type { ModelEntryBase } from './entry.ts';
import { findModel } from './registry.ts';
import { resolveModel, type DownloadProgress, type LicenceNotice } from './resolve.ts';

const { bytes: payload, sha256 } = fakeWeights(64_000);

function entry(overrides: Partial<ModelEntryBase> = {}): ModelEntryBase {
  return { ...toyHubEntry({ path: 'onnx/model.onnx', bytes: payload.length, sha256 }), ...overrides };
}

let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub({
    '/someone/toy/resolve/main/onnx/model.onnx': serve(payload),
    '/someone/corrupt/resolve/main/onnx/model.onnx': serve(Buffer.concat([payload.subarray(1), Buffer.from('!')])),
    // Slow enough that a second resolve starts while the first is still streaming.
    '/someone/slow/resolve/main/onnx/model.onnx': async (_req, res) => {
      res.writeHead(200, { 'content-length': payload.length });
      for (let offset = 0; offset < payload.length; offset += 8000) {
        res.write(payload.subarray(offset, offset + 8000));
        await delay(10);
      }
      res.end();
    },
  });
});

afterAll(() => hub.close());

const temp = () => mkdtempSync(path.join(tmpdir(), 'myvlm-models-'));
const partFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((name) => name.includes('.part')) : []);
const requestsFor = (suffix: string) => hub.requests.filter((r) => r.url.endsWith(suffix)).length;

describe('resolveModel', () => {
  it('prefers an explicit folder, then MYVLM_MODELS_DIR, then the cache', async () => {
    const explicit = temp();
    const modelsDir = temp();
    const cacheDir = temp();
    for (const dir of [explicit, path.join(modelsDir, 'toy'), path.join(cacheDir, 'toy-model')]) {
      mkdirSync(path.join(dir, 'onnx'), { recursive: true });
      writeFileSync(path.join(dir, 'onnx/model.onnx'), payload);
    }
    const options = { cacheDir, allowDownload: false };
    expect((await resolveModel(entry(), { ...options, path: explicit, modelsDir })).directory).toBe(explicit);
    expect((await resolveModel(entry(), { ...options, modelsDir })).directory).toBe(path.join(modelsDir, 'toy'));
    const cached = await resolveModel(entry(), options);
    expect(cached.files['onnx/model.onnx']).toBe(path.join(cacheDir, 'toy-model', 'onnx/model.onnx'));
  });

  it('downloads from the hub into the cache with progress, verifying size and sha256', async () => {
    const cacheDir = temp();
    const progress: DownloadProgress[] = [];
    const resolved = await resolveModel(entry(), {
      cacheDir,
      allowDownload: true,
      hubEndpoint: hub.origin,
      onProgress: (p) => progress.push(p),
    });
    expect(readFileSync(resolved.files['onnx/model.onnx'])).toEqual(payload);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: payload.length, totalBytes: payload.length });
    expect(partFiles(path.join(cacheDir, 'toy-model', 'onnx'))).toEqual([]);
  });

  it('deletes a corrupt download and says so', async () => {
    const cacheDir = temp();
    const corrupt = entry({ source: { kind: 'hub', repo: 'someone/corrupt', revision: 'main' } });
    const error = await resolveModel(corrupt, { cacheDir, allowDownload: true, hubEndpoint: hub.origin }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toMatch(/^The download of toy-model\/onnx\/model\.onnx is corrupt: /);
    expect((error as OperatorError).hint).toMatch(/^Try again/);
    expect(existsSync(path.join(cacheDir, 'toy-model', 'onnx/model.onnx'))).toBe(false);
    expect(partFiles(path.join(cacheDir, 'toy-model', 'onnx'))).toEqual([]);
  });

  it('offline, names the missing files and where to put them without any request', async () => {
    const before = hub.requests.length;
    const error = await resolveModel(entry(), { cacheDir: temp(), modelsDir: '/nowhere', allowDownload: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelMissingError);
    expect((error as ModelMissingError).message).toMatch(/onnx\/model\.onnx/);
    expect((error as ModelMissingError).hint).toMatch(/MYVLM_MODELS_DIR/);
    expect(hub.requests.length).toBe(before);
  });

  it('offline, names the command that fetches the defaults, and only the files of this model', async () => {
    const cacheDir = temp();
    const error = await resolveModel(entry(), { cacheDir, allowDownload: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelMissingError);
    expect((error as ModelMissingError).message).toBe('Model "toy-model" is missing 1 file(s): onnx/model.onnx.');
    expect((error as ModelMissingError).hint).toBe(
      'Downloads are off (MYVLM_OFFLINE=1): run `npx myvlm models fetch --defaults` once on a machine that is online, ' +
        `with the same MYVLM_CACHE_DIR (it fills ${cacheDir}). Set MYVLM_MODELS_DIR to a folder with toy/onnx/model.onnx inside to use a copy of your own.`,
    );
  });

  it('for a research-only model placed by hand, names its own files and the permissive model that needs no manual step', async () => {
    const manual = entry({
      task: 'face-recognition',
      licenceUse: 'research-only',
      files: [{ path: 'w600k_r50.onnx' }],
      source: { kind: 'manual', instructions: 'Download buffalo_l.zip and unzip it.' },
      alternative: { id: 'toy-permissive', why: 'MIT, works offline' },
    });
    const error = (await resolveModel(manual, { cacheDir: temp(), allowDownload: false }).catch(
      (e: unknown) => e,
    )) as ModelMissingError;
    expect(error.message).toBe('Model "toy-model" is missing 1 file(s): w600k_r50.onnx.');
    expect(error.hint).toMatch(
      /^Download buffalo_l\.zip and unzip it\. Set MYVLM_MODELS_DIR to a folder with toy\/w600k_r50\.onnx inside \(looked in: [^)]+\)\. /,
    );
    expect(error.hint).toContain(
      'Or use toy-permissive instead (MIT, works offline): set MYVLM_FACE_RECOGNIZER=toy-permissive, and `npx myvlm models fetch --defaults` prepares it.',
    );
  });

  it('converts weights that came with npm install into the cache, offline, once', async () => {
    const cacheDir = temp();
    const dlib = findModel('face-recognition', 'dlib-resnet-v1');
    const resolved = await resolveModel(dlib, { cacheDir, allowDownload: false });
    const file = path.join(cacheDir, 'dlib-resnet-v1', dlib.files[0].path);
    expect(resolved.files[dlib.files[0].path]).toBe(file);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(dlib.files[0].sha256);
    const converted = statSync(file).mtimeMs;
    await resolveModel(dlib, { cacheDir, allowDownload: false });
    expect(statSync(file).mtimeMs).toBe(converted);
  });

  it('never downloads models whose licence requires manual placement', async () => {
    const manual = entry({ source: { kind: 'manual', instructions: 'Unzip buffalo_l.zip into <models dir>/toy.' } });
    const error = await resolveModel(manual, { cacheDir: temp(), allowDownload: true, hubEndpoint: hub.origin }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelMissingError);
    expect((error as ModelMissingError).hint).toMatch(/^Unzip buffalo_l\.zip into <models dir>\/toy\./);
  });

  it('two resolves of one file in one process share a single download', async () => {
    const cacheDir = temp();
    const slow = entry({ source: { kind: 'hub', repo: 'someone/slow', revision: 'main' } });
    const before = requestsFor('/someone/slow/resolve/main/onnx/model.onnx');
    const first: DownloadProgress[] = [];
    const second: DownloadProgress[] = [];
    const options = { cacheDir, allowDownload: true, hubEndpoint: hub.origin };
    const [a, b] = await Promise.all([
      resolveModel(slow, { ...options, onProgress: (p) => first.push(p) }),
      resolveModel(slow, { ...options, onProgress: (p) => second.push(p) }),
    ]);
    expect(requestsFor('/someone/slow/resolve/main/onnx/model.onnx') - before).toBe(1);
    expect(a.files).toEqual(b.files);
    expect(readFileSync(a.files['onnx/model.onnx'])).toEqual(payload);
    // Both callers see the one download's progress to the end.
    expect(first.at(-1)?.receivedBytes).toBe(payload.length);
    expect(second.at(-1)?.receivedBytes).toBe(payload.length);
  });
});

describe('licence notice', () => {
  it('reaches the caller before the first byte is requested, with a plain warning for research-only licences', async () => {
    const research = entry({
      id: 'toy-research',
      licence: 'Tongyi Qianwen research licence',
      alternative: { id: 'toy-apache', why: 'Apache-2.0, same family' },
    });
    const notices: Array<{ notice: LicenceNotice; requestsSoFar: number }> = [];
    const before = requestsFor('/someone/toy/resolve/main/onnx/model.onnx');
    await resolveModel(research, {
      cacheDir: temp(),
      allowDownload: true,
      hubEndpoint: hub.origin,
      onLicence: (notice) =>
        notices.push({ notice, requestsSoFar: requestsFor('/someone/toy/resolve/main/onnx/model.onnx') }),
    });
    expect(notices).toHaveLength(1);
    expect(notices[0].requestsSoFar).toBe(before);
    expect(notices[0].notice).toMatchObject({
      modelId: 'toy-research',
      licence: 'Tongyi Qianwen research licence',
      researchOnly: true,
      alternative: 'toy-apache (Apache-2.0, same family)',
      size: '64 KB',
    });
    expect(notices[0].notice.warning).toMatch(/research and evaluation only.*commercial/);
  });

  it('is plain for permissive licences and not repeated once the files are here', async () => {
    const cacheDir = temp();
    const notices: LicenceNotice[] = [];
    const options = {
      cacheDir,
      allowDownload: true,
      hubEndpoint: hub.origin,
      onLicence: (n: LicenceNotice) => notices.push(n),
    };
    await resolveModel(entry({ licenceUse: 'permissive', alternative: { id: 'unused', why: '' } }), options);
    await resolveModel(entry({ licenceUse: 'permissive' }), options);
    expect(notices).toEqual([
      { modelId: 'toy-model', licence: 'MIT', researchOnly: false, warning: null, alternative: null, size: '64 KB' },
    ]);
  });

  it('is not given offline, when nothing is downloaded', async () => {
    const notices: LicenceNotice[] = [];
    await resolveModel(entry(), { cacheDir: temp(), allowDownload: false, onLicence: (n) => notices.push(n) }).catch(
      () => undefined,
    );
    expect(notices).toEqual([]);
  });
});
