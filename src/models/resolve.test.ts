import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelMissingError, UserError } from '../errors.ts';
import type { ModelEntryBase } from './entry.ts';
import { resolveModel, type DownloadProgress } from './resolve.ts';

const payload = Buffer.from('pretend these are ONNX weights '.repeat(2000));
const sha256 = createHash('sha256').update(payload).digest('hex');

function entry(overrides: Partial<ModelEntryBase> = {}): ModelEntryBase {
  return {
    id: 'toy-model',
    task: 'image-features',
    family: 'toy',
    description: 'a toy',
    licence: 'MIT',
    directory: 'toy',
    files: [{ path: 'onnx/model.onnx', bytes: payload.length, sha256 }],
    source: { kind: 'hub', repo: 'someone/toy', revision: 'main' },
    ...overrides,
  };
}

let server: Server;
let endpoint: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/someone/toy/resolve/main/onnx/model.onnx') {
      res.writeHead(200, { 'content-length': payload.length });
      res.end(payload);
    } else if (req.url === '/someone/corrupt/resolve/main/onnx/model.onnx') {
      res.end(Buffer.concat([payload.subarray(1), Buffer.from('!')]));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const temp = () => mkdtempSync(path.join(tmpdir(), 'myvlm-models-'));

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
    const resolved = await resolveModel(entry(), { cacheDir, allowDownload: true, hubEndpoint: endpoint, onProgress: (p) => progress.push(p) });
    expect(readFileSync(resolved.files['onnx/model.onnx'])).toEqual(payload);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: payload.length, totalBytes: payload.length });
    expect(existsSync(`${resolved.files['onnx/model.onnx']}.part`)).toBe(false);
  });

  it('deletes a corrupt download and says so', async () => {
    const cacheDir = temp();
    const corrupt = entry({ source: { kind: 'hub', repo: 'someone/corrupt', revision: 'main' } });
    const error = await resolveModel(corrupt, { cacheDir, allowDownload: true, hubEndpoint: endpoint }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/corrupt/);
    expect(existsSync(path.join(cacheDir, 'toy-model', 'onnx/model.onnx'))).toBe(false);
    expect(existsSync(path.join(cacheDir, 'toy-model', 'onnx/model.onnx.part'))).toBe(false);
  });

  it('offline, names the missing files and where to put them without any request', async () => {
    const before = requests.length;
    const error = await resolveModel(entry(), { cacheDir: temp(), modelsDir: '/nowhere', allowDownload: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelMissingError);
    expect((error as Error).message).toMatch(/onnx\/model\.onnx/);
    expect((error as Error).message).toMatch(/MYVLM_MODELS_DIR/);
    expect(requests.length).toBe(before);
  });

  it('an unreachable hub becomes a clear missing-model error', async () => {
    const error = await resolveModel(entry(), { cacheDir: temp(), allowDownload: true, hubEndpoint: 'http://127.0.0.1:9' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelMissingError);
    expect((error as Error).message).toMatch(/are you offline/);
  });

  it('never downloads models whose licence requires manual placement', async () => {
    const manual = entry({ source: { kind: 'manual', instructions: 'Unzip buffalo_l.zip into <models dir>/toy.' } });
    const error = await resolveModel(manual, { cacheDir: temp(), allowDownload: true, hubEndpoint: endpoint }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Unzip buffalo_l\.zip/);
  });
});
