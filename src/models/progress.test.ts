// A chat turn that waits for a download sees it as status updates: the
// licence and size first, then progress (throttled), then the end of the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeWeights, serve, startFakeHub, toyHubEntry, type FakeHub } from '../../test/fakes/hub.ts';
import { downloadStatusText, statusWhileDownloading, type DownloadStatus } from './progress.ts';
import { resolveModel } from './resolve.ts';

const { bytes, sha256 } = fakeWeights(3_000_000);
let hub: FakeHub;

beforeAll(async () => {
  hub = await startFakeHub({ '/someone/toy/resolve/main/model.onnx': serve(bytes) });
});
afterAll(() => hub.close());

describe('statusWhileDownloading', () => {
  it('shows the licence before any progress, throttled progress, and the end of the file; nothing once stopped', async () => {
    const updates: DownloadStatus[] = [];
    const stop = statusWhileDownloading((u) => void updates.push(u), 60_000);
    const options = {
      cacheDir: mkdtempSync(path.join(tmpdir(), 'myvlm-progress-')),
      allowDownload: true,
      hubEndpoint: hub.origin,
    };
    await resolveModel(toyHubEntry({ path: 'model.onnx', bytes: bytes.length, sha256 }), options);
    stop();
    expect(updates[0]).toEqual({ text: 'Licence of toy-model: MIT. Download: 3 MB.' });
    // The first chunk, then nothing until the end (the interval is a minute): two progress lines.
    expect(updates).toHaveLength(3);
    expect(updates[1].text).toMatch(/^Downloading toy-model \(model\.onnx\): \d+% of 3 MB$/);
    expect(updates[2]).toEqual({ text: 'Downloading toy-model (model.onnx): 100% of 3 MB', progress: 1 });

    const after: DownloadStatus[] = [];
    const stopAfter = statusWhileDownloading((u) => void after.push(u));
    stopAfter();
    const again = { ...options, cacheDir: mkdtempSync(path.join(tmpdir(), 'myvlm-progress-')) };
    await resolveModel(toyHubEntry({ path: 'model.onnx', bytes: bytes.length, sha256 }), again);
    expect(after).toEqual([]);
  });

  it('words a download of unknown length by what has arrived', () => {
    expect(downloadStatusText({ modelId: 'm', file: 'f.onnx', receivedBytes: 2_500_000, totalBytes: null })).toBe(
      'Downloading m (f.onnx): 3 MB so far',
    );
  });
});
