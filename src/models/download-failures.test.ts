import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeWeights, serve, startFakeHub, toyHubEntry, type FakeHub } from '../../test/fakes/hub.ts';
import { delay } from '../../test/fakes/http.ts';
import { ModelMissingError, OperatorError } from '../errors.ts';
import type { ModelEntryBase } from './entry.ts';
import { resolveModel, type ResolveOptions } from './resolve.ts';

const { bytes: payload, sha256 } = fakeWeights(20_000, 7);

const hubEntry = (repo: string, revision = 'main'): ModelEntryBase =>
  toyHubEntry({ path: 'model.onnx', bytes: payload.length, sha256 }, repo, revision);

let hub: FakeHub;
/** A second origin, standing in for the CDN the hub redirects large files to. */
let cdn: FakeHub;

beforeAll(async () => {
  cdn = await startFakeHub({ '/blobs/model.onnx': serve(payload) });
  hub = await startFakeHub({
    '/someone/gated/resolve/main/model.onnx': (req, res) =>
      req.headers.authorization === 'Bearer hf_good'
        ? serve(payload)(req, res)
        : void res.writeHead(401).end('Access to model someone/gated is restricted.'),
    '/someone/forbidden/resolve/main/model.onnx': (_req, res) => void res.writeHead(403).end(),
    '/someone/down/resolve/main/model.onnx': (_req, res) => void res.writeHead(503).end(),
    '/someone/busy/resolve/main/model.onnx': (_req, res) => void res.writeHead(429).end(),
    '/someone/redirected/resolve/main/model.onnx': (_req, res) =>
      void res.writeHead(302, { location: `${cdn.origin}/blobs/model.onnx` }).end(),
    '/someone/local-redirect/resolve/main/model.onnx': (_req, res) =>
      void res.writeHead(307, { location: '/someone/gated/resolve/main/model.onnx' }).end(),
    // Accepts the request and never answers.
    '/someone/silent/resolve/main/model.onnx': () => undefined,
    // Sends the headers and a first chunk, then nothing more.
    '/someone/stalled/resolve/main/model.onnx': (_req, res) => {
      res.writeHead(200, { 'content-length': payload.length });
      res.write(payload.subarray(0, 1000));
    },
    // Sends part of the body, then drops the connection.
    '/someone/reset/resolve/main/model.onnx': async (req, res) => {
      res.writeHead(200, { 'content-length': payload.length });
      res.write(payload.subarray(0, 1000));
      await delay(20);
      req.socket.destroy();
    },
  });
});

afterAll(async () => {
  await hub.close();
  await cdn.close();
});

const temp = () => mkdtempSync(path.join(tmpdir(), 'myvlm-download-'));

async function failure(
  repo: string,
  options: Partial<ResolveOptions> = {},
  revision = 'main',
): Promise<{ error: OperatorError; cacheDir: string }> {
  const cacheDir = temp();
  const error: unknown = await resolveModel(hubEntry(repo, revision), {
    cacheDir,
    allowDownload: true,
    hubEndpoint: hub.origin,
    ...options,
  }).then(
    () => new Error('resolved, but a failure was expected'),
    (e: unknown) => e,
  );
  // Only whoever runs the assistant can do something about a download.
  expect(error).toBeInstanceOf(OperatorError);
  return { error: error as OperatorError, cacheDir };
}

const leftovers = (cacheDir: string) => {
  const dir = path.join(cacheDir, 'toy-model');
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe('download failures each say whose problem it is', () => {
  it('401 without a token: gated repository, set HF_TOKEN', async () => {
    const { error } = await failure('someone/gated');
    expect(error).not.toBeInstanceOf(ModelMissingError);
    expect(error.message).toMatch(/HTTP 401/);
    expect(error.message).toMatch(/gated or private/);
    expect(error.hint).toMatch(/set HF_TOKEN/);
    expect(error.message).not.toMatch(/offline/);
  });

  it('401 or 403 with a token: the token lacks access', async () => {
    const { error } = await failure('someone/gated', { hubToken: 'hf_wrong' });
    expect(error.hint).toMatch(/HF_TOKEN that was sent does not grant access/);
    const forbidden = await failure('someone/forbidden', { hubToken: 'hf_wrong' });
    expect(forbidden.error.message).toMatch(/HTTP 403.*gated or private/);
  });

  it('404: the registry names a file or revision the hub does not have', async () => {
    const { error } = await failure('someone/missing', {}, '0123456789abcdef0123456789abcdef01234567');
    expect(error).not.toBeInstanceOf(ModelMissingError);
    expect(error.message).toMatch(/HTTP 404/);
    expect(error.message).toMatch(
      /model\.onnx in someone\/missing at revision 0123456789abcdef0123456789abcdef01234567/,
    );
    expect(error.message).toMatch(/problem with the registry entry/);
    expect(error.hint).toMatch(/^Please report it; meanwhile you can place the files yourself\. Looked in: /);
    expect(error.message).not.toMatch(/offline/);
  });

  it('5xx: a problem on the server side, try later', async () => {
    const { error } = await failure('someone/down');
    expect(error.message).toMatch(/HTTP 503.*server's side/);
    expect(error.hint).toMatch(/Try again in a while/);
  });

  it('429: rate limited, with the token as a way out', async () => {
    const { error } = await failure('someone/busy');
    expect(error.message).toMatch(/rate-limiting downloads \(HTTP 429\)/);
    expect(error.hint).toMatch(/set HF_TOKEN/);
  });

  it('a refused connection is "offline" and names the missing files', async () => {
    const closed = await startFakeHub();
    const origin = closed.origin;
    await closed.close();
    const { error } = await failure('someone/any', { hubEndpoint: origin });
    expect(error).toBeInstanceOf(ModelMissingError);
    expect(error.message).toMatch(/missing 1 file\(s\): model\.onnx/);
    expect(error.hint).toMatch(/connection was refused\): are you offline\?/);
  });

  it('a connection dropped mid-transfer is "offline" too, and leaves no part file', async () => {
    const { error, cacheDir } = await failure('someone/reset');
    expect(error).toBeInstanceOf(ModelMissingError);
    expect(error.hint).toMatch(/are you offline/);
    expect(leftovers(cacheDir)).toEqual([]);
  });
});

describe('download timeouts', () => {
  it('no response headers within the connect timeout aborts with a clear message', async () => {
    const started = Date.now();
    const { error } = await failure('someone/silent', { connectTimeoutMs: 150, idleTimeoutMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.message).toMatch(
      /No response from 127\.0\.0\.1:\d+ within 150 ms while starting the download of toy-model\/model\.onnx/,
    );
  });

  it('no bytes for the idle timeout while streaming aborts and deletes the part file', async () => {
    const started = Date.now();
    const { error, cacheDir } = await failure('someone/stalled', { connectTimeoutMs: 60_000, idleTimeoutMs: 150 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.message).toMatch(
      /download of toy-model\/model\.onnx stalled: no data from 127\.0\.0\.1:\d+ for 150 ms/,
    );
    expect(leftovers(cacheDir)).toEqual([]);
  });
});

describe('HF_TOKEN', () => {
  it('is sent to the hub, opens a gated repository, and is not passed on to the host it redirects to', async () => {
    const cacheDir = temp();
    const resolved = await resolveModel(hubEntry('someone/redirected'), {
      cacheDir,
      allowDownload: true,
      hubEndpoint: hub.origin,
      hubToken: 'hf_good',
    });
    expect(readFileSync(resolved.files['model.onnx'])).toEqual(payload);
    expect(
      hub.requests.filter((r) => r.url === '/someone/redirected/resolve/main/model.onnx').at(-1)?.authorization,
    ).toBe('Bearer hf_good');
    expect(cdn.requests.at(-1)).toEqual({ url: '/blobs/model.onnx', authorization: null });

    const gated = await resolveModel(hubEntry('someone/local-redirect'), {
      cacheDir: temp(),
      allowDownload: true,
      hubEndpoint: hub.origin,
      hubToken: 'hf_good',
    });
    expect(readFileSync(gated.files['model.onnx'])).toEqual(payload);
  });

  it('is never sent to URL sources', async () => {
    const entry: ModelEntryBase = { ...hubEntry('unused'), source: { kind: 'url', baseUrl: `${cdn.origin}/blobs` } };
    await resolveModel(entry, { cacheDir: temp(), allowDownload: true, hubEndpoint: hub.origin, hubToken: 'hf_good' });
    expect(cdn.requests.at(-1)).toEqual({ url: '/blobs/model.onnx', authorization: null });
  });
});

describe('part files', () => {
  it('removes part files of processes that are gone and keeps those of live ones', async () => {
    const cacheDir = temp();
    const dir = path.join(cacheDir, 'toy-model');
    mkdirSync(dir, { recursive: true });
    // Pid 2^22+1 is above Linux's pid_max default: no such process.
    const dead = `model.onnx.${2 ** 22 + 1}-deadbeef.part`;
    const live = `model.onnx.${process.ppid}-0badcafe.part`;
    writeFileSync(path.join(dir, dead), 'half a file');
    writeFileSync(path.join(dir, live), 'someone else is writing this');
    writeFileSync(path.join(dir, 'model.onnx.part'), 'left by an older version');
    await resolveModel(hubEntry('someone/redirected'), { cacheDir, allowDownload: true, hubEndpoint: hub.origin });
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', live].sort());
  });
});
