// Two processes downloading the same model file into one cache at the same
// time: each writes its own part file and renames it into place, so neither
// corrupts nor deletes the other's download.
import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageFor } from '../../src/errors.ts';
import { resolveModel } from '../../src/models/resolve.ts';
import { fakeWeights, startFakeHub, type FakeHub } from '../fakes/hub.ts';
import { delay } from '../fakes/http.ts';
import { REPO_ROOT } from '../support/paths.ts';

const { bytes: payload, sha256 } = fakeWeights(2_000_000, 3);
const FILE = '/someone/shared/resolve/main/onnx/model.onnx';

/** Lets requests through in pairs: each waits until its partner has asked too (or 20 s passed). */
function pairBarrier(): () => Promise<number> {
  let arrived = 0;
  let release: () => void = () => undefined;
  let pair = new Promise<void>((resolve) => (release = resolve));
  return async () => {
    const index = arrived++;
    const mine = pair;
    if (index % 2 === 1) {
      release();
      pair = new Promise<void>((resolve) => (release = resolve));
    }
    await Promise.race([mine, delay(20_000)]);
    return index;
  };
}

let hub: FakeHub;
const bothAsked = pairBarrier();
/** Requests of the second test: the first to ask has its connection dropped a third of the way. */
const bothAskedAgain = pairBarrier();

async function stream(res: ServerResponse, until: number): Promise<void> {
  res.writeHead(200, { 'content-length': payload.length });
  for (let offset = 0; offset < until; offset += 65_536) {
    res.write(payload.subarray(offset, Math.min(offset + 65_536, until)));
    await delay(5);
  }
}

beforeAll(async () => {
  hub = await startFakeHub({
    // Holds the answers until both processes have asked, then streams in slices, so the transfers overlap.
    [FILE]: async (_req, res) => {
      await bothAsked();
      await stream(res, payload.length);
      res.end();
    },
    '/someone/flaky/resolve/main/onnx/model.onnx': async (req, res) => {
      const index = await bothAskedAgain();
      if (index % 2 === 0) {
        await stream(res, Math.floor(payload.length / 3));
        req.socket.destroy();
        return;
      }
      await stream(res, payload.length);
      res.end();
    },
  });
});

afterAll(() => hub.close());

function runChild(cacheDir: string, repo = 'someone/shared'): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'test/models/fixtures/resolve-child.ts'),
        cacheDir,
        hub.origin,
        String(payload.length),
        sha256,
        repo,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' } },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function sharedEntry(repo: string) {
  return {
    id: 'shared-model',
    task: 'image-features' as const,
    family: 'toy',
    description: 'a toy shared by two processes',
    licence: 'MIT',
    directory: 'shared',
    files: [{ path: 'onnx/model.onnx', bytes: payload.length, sha256 }],
    source: { kind: 'hub' as const, repo, revision: 'main' },
  };
}

describe('two processes resolving one file', () => {
  it('both download at once into their own part files and end with one intact file', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-shared-'));
    const child = runChild(cacheDir);
    const here = resolveModel(sharedEntry('someone/shared'), {
      cacheDir,
      hubEndpoint: hub.origin,
      allowDownload: true,
    });
    const [childResult, resolved] = await Promise.all([child, here]);
    const target = path.join(cacheDir, 'shared-model', 'onnx', 'model.onnx');
    expect(childResult.output).toContain(`resolved ${target}`);
    expect(childResult.code).toBe(0);
    expect(resolved.files['onnx/model.onnx']).toBe(target);
    // Both really downloaded, at the same time: the server held its answers until it had both requests.
    expect(hub.requests.filter((r) => r.url === FILE)).toHaveLength(2);
    expect(readFileSync(target).equals(payload)).toBe(true);
    expect(readdirSync(path.dirname(target))).toEqual(['model.onnx']);
  });

  it('one failing mid-transfer does not spoil the other: its cleanup removes only its own part file', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-shared-'));
    const child = runChild(cacheDir, 'someone/flaky');
    const here = resolveModel(sharedEntry('someone/flaky'), {
      cacheDir,
      hubEndpoint: hub.origin,
      allowDownload: true,
    }).then(
      () => 'resolved',
      (error: unknown) => `failed ${messageFor(error, 'operator')}`,
    );
    const [childResult, hereResult] = await Promise.all([child, here]);
    const outcomes = [childResult.output.trim().split(' ')[0], hereResult.split(' ')[0]].sort();
    // Exactly one connection was dropped; the other download must finish intact.
    expect(outcomes, `child: ${childResult.output} here: ${hereResult}`).toEqual(['failed', 'resolved']);
    expect(`${childResult.output} ${hereResult}`).toMatch(/are you offline/);
    const target = path.join(cacheDir, 'shared-model', 'onnx', 'model.onnx');
    expect(readFileSync(target).equals(payload)).toBe(true);
    expect(readdirSync(path.dirname(target))).toEqual(['model.onnx']);
  });
});
