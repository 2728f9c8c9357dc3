// The newcomer's path without a network: `myvlm models fetch --defaults`
// fills an empty cache from a fake hub (licence and size shown before the
// first byte), and then the terminal chat, offline, starts from that cache,
// says the models are here, and learns a person. Before the fetch, the same
// offline start says what is missing, what works, and the one command to run.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { modelsCommand } from '../../src/cli/models.ts';
import { chatCommand } from '../../src/cli/start.ts';
import { serve, startFakeHub, type FakeHub } from '../fakes/hub.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';

const YUNET = path.join(SHARED_MODELS, 'face-detection', 'yunet_2023mar_640.onnx');
const YUNET_ROUTE = '/opencv/face_detection_yunet/resolve/main/face_detection_yunet_2023mar.onnx';
const LAURA = path.join(SHARED_DATA, 'faces', 'laura_dern');
/** CLIP's 352 MB are not in ../shared: the small real MobileNet stands in for the object features, placed by hand. */
const SMALL_FEATURES = ['image-features', 'mobilenet_v3_small_576.onnx'] as const;

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

/** The terminal chat fed `lines`, as `npm start` runs it without a token; returns what it printed. */
async function chat(lines: string[]): Promise<string> {
  const input = new PassThrough();
  const output = collect();
  input.end(`${lines.join('\n')}\n`);
  expect(await chatCommand([], { input, output: output.stream, interactive: false })).toBe(0);
  return output.text();
}

describe.skipIf(!existsSync(YUNET) || !existsSync(LAURA))('a first run offline', () => {
  let hub: FakeHub;
  let errWhenAsked: string | null = null;
  const err = collect();
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-first-cache-'));
  // The object features placed by hand (a link to ../shared, not a copy); the default face models are left to the fetch.
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'myvlm-first-models-'));
  const photos = ['jp_ellie_sattler_00000000.jpg', 'jp_ellie_sattler_00000001.jpg'].map((p) => path.join(LAURA, p));

  beforeAll(async () => {
    const [dir, file] = SMALL_FEATURES;
    mkdirSync(path.join(modelsDir, dir));
    symlinkSync(path.join(SHARED_MODELS, dir, file), path.join(modelsDir, dir, file));
    hub = await startFakeHub({
      [YUNET_ROUTE]: (req, res) => {
        errWhenAsked = err.text();
        return serve(readFileSync(YUNET))(req, res);
      },
    });
    vi.stubEnv('MYVLM_DATA_DIR', mkdtempSync(path.join(tmpdir(), 'myvlm-first-data-')));
    vi.stubEnv('MYVLM_CACHE_DIR', cacheDir);
    vi.stubEnv('MYVLM_MODELS_DIR', modelsDir);
    vi.stubEnv('MYVLM_HF_ENDPOINT', hub.origin);
    vi.stubEnv('MYVLM_IMAGE_FEATURES', 'mobilenet-v3-small-576');
    vi.stubEnv('MYVLM_VLM', '');
    vi.stubEnv('MYVLM_THREADS', '1');
    vi.stubEnv('MYVLM_LOG_LEVEL', 'silent');
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await hub.close();
  });

  it('before the fetch, says what is missing, what works now, and the command that fetches it', async () => {
    vi.stubEnv('MYVLM_OFFLINE', '1');
    const printed = await chat([`/teach Anna ${photos[0]}`]);
    expect(printed).toMatch(
      /^• face detector yunet-2023mar \(Apache-2\.0\): not here, and MYVLM_OFFLINE=1 stops its download \(233 KB\)$/m,
    );
    expect(printed).toMatch(
      /^• face recognizer dlib-resnet-v1 \(.*\): made from @vladmandic\/face-api on first use, no download$/m,
    );
    expect(printed).toMatch(/^• no vision-language model \(MYVLM_VLM unset\)/m);
    expect(printed).toContain(
      'Until then I cannot learn or recognize people (needs yunet-2023mar). ' +
        '`npx myvlm models fetch --defaults` fetches what downloads, once online. /help, /concepts, /remember and /forget work now.',
    );
    // The reply to /teach: one sentence of what is missing, then the command.
    expect(printed).toMatch(
      /^Model "yunet-2023mar" is missing 1 file\(s\): yunet_2023mar_640\.onnx\. Downloads are off \(MYVLM_OFFLINE=1\): run `npx myvlm models fetch --defaults`/m,
    );
    expect(printed).not.toMatch(/det_10g|w600k/);
    expect(hub.requests).toEqual([]);
  });

  it('`models fetch --defaults` offline downloads nothing, says so, and prepares what needs no network', async () => {
    vi.stubEnv('MYVLM_OFFLINE', '1');
    const out = collect();
    const denied = collect();
    expect(await modelsCommand(['fetch', '--defaults'], out.stream, denied.stream)).toBe(1);
    expect(out.text()).toBe(
      `dlib-resnet-v1: ready in ${path.join(cacheDir, 'dlib-resnet-v1')}\n` +
        `mobilenet-v3-small-576: ready in ${path.join(modelsDir, 'image-features')}\n`,
    );
    expect(denied.text()).toMatch(/^yunet-2023mar: Model "yunet-2023mar" is missing 1 file\(s\)/);
    expect(hub.requests).toEqual([]);
  });

  it('`models fetch --defaults` fills the cache, the licence and size shown before the first byte', async () => {
    vi.stubEnv('MYVLM_OFFLINE', '0');
    const out = collect();
    expect(await modelsCommand(['fetch', '--defaults'], out.stream, err.stream)).toBe(0);
    expect(errWhenAsked).toBe('Licence of yunet-2023mar: Apache-2.0. Download: 233 KB.\n');
    expect(out.text()).toBe(
      `yunet-2023mar: ready in ${path.join(cacheDir, 'yunet-2023mar')}\n` +
        `dlib-resnet-v1: ready in ${path.join(cacheDir, 'dlib-resnet-v1')}\n` +
        `mobilenet-v3-small-576: ready in ${path.join(modelsDir, 'image-features')}\n`,
    );
    expect(
      readFileSync(path.join(cacheDir, 'yunet-2023mar', 'yunet_2023mar_640.onnx')).equals(readFileSync(YUNET)),
    ).toBe(true);
    expect(hub.requests.map((r) => r.url)).toEqual([YUNET_ROUTE]);
  });

  it('then the same first run, offline, says every model is here and learns a person', async () => {
    vi.stubEnv('MYVLM_OFFLINE', '1');
    const asked = hub.requests.length;
    const printed = await chat([`/teach Anna ${photos.join(' ')}`]);
    expect(printed).toMatch(/^• face detector yunet-2023mar \(Apache-2\.0\): here$/m);
    expect(printed).not.toMatch(/Until then|fetch --defaults/);
    expect(printed).toMatch(/^Nice to meet Anna! I learned their face from 2 photo\(s\)\.$/m);
    expect(hub.requests.length).toBe(asked);
  });
});

describe('a first run with a model id the registry does not know', () => {
  afterAll(() => vi.unstubAllEnvs());

  it("names the setting's problem in the start-up lines and still starts", async () => {
    vi.stubEnv('MYVLM_DATA_DIR', mkdtempSync(path.join(tmpdir(), 'myvlm-first-data-')));
    vi.stubEnv('MYVLM_CACHE_DIR', mkdtempSync(path.join(tmpdir(), 'myvlm-first-cache-')));
    vi.stubEnv('MYVLM_OFFLINE', '1');
    vi.stubEnv('MYVLM_FACE_DETECTOR', 'no-such-detector');
    vi.stubEnv('MYVLM_LOG_LEVEL', 'silent');
    const printed = await chat(['/concepts']);
    expect(printed).toMatch(/^Unknown face-detection model "no-such-detector"\. Known: yunet-2023mar, /m);
    expect(printed).toMatch(/^I don't know anyone or anything here yet\./m);
  });
});
