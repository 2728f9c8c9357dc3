// Object heads: feature extraction per photo (against the bare ONNX Runtime
// session on the same batch), head training on cached features (against a
// plain two-row AdamW), and scoring 1, 100 and 10,000 heads on one photo
// (against scoring each head on its own in JavaScript).
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OBJECT_HEAD } from '../src/config/defaults.ts';
import { openImageFeatureExtractor } from '../src/heads/object/features.ts';
import { HeadBank } from '../src/heads/object/head-bank.ts';
import {
  cosineLearningRate,
  crossEntropy,
  initLinearLayer,
  positiveProbability,
} from '../src/heads/object/linear-head.ts';
import { simdAvailable } from '../src/heads/object/matvec-kernel.ts';
import { fitNormalization, normalizeFeature } from '../src/heads/object/normalization.ts';
import { trainObjectHead } from '../src/heads/object/trainer.ts';
import { decodeImage } from '../src/image/decode.ts';
import type { LinearHeadParams } from '../src/memory/concept.ts';
import { SessionPool } from '../src/models/session.ts';
import { normal, seededRandom } from '../src/random.ts';
import { SHARED_DATA, SHARED_MODELS } from '../test/support/paths.ts';
import { measure, table, type BenchSection } from './harness.ts';

const EXTRACTOR = 'mobilenet-v3-small-576';
const BATCH = 8;
const DIMS = 1024;

export default async function (): Promise<BenchSection> {
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];

  // Feature extraction on real photos.
  const sessions = new SessionPool();
  try {
    const extractor = await openImageFeatureExtractor(EXTRACTOR, {
      modelsDir: SHARED_MODELS,
      cacheDir: SHARED_MODELS,
      allowDownload: false,
      sessions,
    });
    const dir = path.join(SHARED_DATA, 'myvlm', 'random');
    const files = readdirSync(dir)
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort()
      .slice(0, BATCH);
    const photos = await Promise.all(
      files.map(async (f) => decodeImage(new Uint8Array(await readFile(path.join(dir, f))))),
    );
    const session = await sessions.get(
      path.join(SHARED_MODELS, extractor.entry.directory, extractor.entry.files[0].path),
    );
    const input = await extractor.preprocess(photos);
    const raw = await measure(() => session.run({ [extractor.entry.input]: input }), { iterations: 10 });
    const full = await measure(() => extractor.extract(photos), { iterations: 10 });
    rows.push([
      `features, ${EXTRACTOR}, batch ${BATCH} (ms/photo)`,
      full.medianMs / BATCH,
      raw.medianMs / BATCH,
      'bare session.run, same batch',
      full.medianMs / raw.medianMs,
    ]);
    notes.push(
      `Feature extraction includes resizing with sharp and normalization to NCHW; photos are the first ${BATCH} of myvlm/random (at most 512 px).`,
    );
  } finally {
    await sessions.dispose();
  }

  // Head training on cached 1024-d features: 4 positives (8 views each), 150 negatives.
  const random = seededRandom(1);
  const vector = (shift: number) =>
    Float32Array.from({ length: DIMS }, (_, i) => Math.abs(normal(random)) + (i < 16 ? shift : 0));
  const positives = Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => vector(1)));
  const negatives = Array.from({ length: 150 }, () => [vector(0)]);
  const training = await measure(() => trainObjectHead({ positives, negatives }, { extractor: 'bench', seed: 1 }), {
    iterations: 15,
  });
  const reference = await measure(() => plainTraining(positives, negatives), { iterations: 5, warmup: 1 });
  rows.push([
    `head training, ${OBJECT_HEAD.steps} steps, 4 pos + 150 neg, ${DIMS}-d (ms)`,
    training.medianMs,
    reference.medianMs,
    'plain two-row AdamW',
    training.medianMs / reference.medianMs,
  ]);

  // Scoring many heads against one feature.
  const { params: head } = trainObjectHead({ positives, negatives }, { extractor: 'bench', seed: 2, steps: 10 });
  const feature = vector(0.5);
  for (const count of [1, 100, 10_000]) {
    const heads = Array.from({ length: count }, (_, i) => ({
      conceptId: String(i),
      params: i % 2 === 0 ? head : perturbed(head, i),
    }));
    const bank = new HeadBank(DIMS, 'bench');
    bank.sync(heads);
    const banked = await measure(() => bank.probabilities(feature), { iterations: 50 });
    const each = await measure(
      () => heads.map((h) => positiveProbability(h.params, normalizeFeature(feature, h.params.normalization))),
      { iterations: 10 },
    );
    rows.push([
      `score ${count.toLocaleString('en')} head${count === 1 ? '' : 's'}, ${DIMS}-d (ms)`,
      banked.medianMs,
      each.medianMs,
      'each head on its own (JS)',
      banked.medianMs / each.medianMs,
    ]);
  }
  notes.push(
    `Scoring runs in ${simdAvailable() ? 'WebAssembly SIMD' : 'JavaScript (no WebAssembly SIMD here)'}; ` +
      'compiling a bank is paid once per head change, not per photo.',
  );

  return {
    title: 'Object heads',
    markdown: [table(['what', 'median', 'reference', 'reference is', 'ratio'], rows), '', ...notes].join('\n'),
  };
}

/** The straightforward trainer: both rows, full cross-entropy gradient, textbook AdamW; the same sampling. */
function plainTraining(positives: Float32Array[][], negatives: Float32Array[][]): void {
  const normalization = fitNormalization('l2-center', positives.flat(), negatives.flat());
  const pos = positives.map((v) => v.map((f) => normalizeFeature(f, normalization)));
  const neg = negatives.map((v) => v.map((f) => normalizeFeature(f, normalization)));
  const random = seededRandom(1);
  const layer = initLinearLayer(DIMS, random);
  const size = 2 * DIMS + 2;
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  for (let step = 0; step < OBJECT_HEAD.steps; step++) {
    const batch: Float32Array[] = [];
    const labels: number[] = [];
    for (let s = 0; s < OBJECT_HEAD.batchSize; s++) {
      const positive = s < OBJECT_HEAD.batchSize / 2;
      const pool = positive ? pos : neg;
      const views = pool[Math.floor(random() * pool.length)];
      batch.push(views[Math.floor(random() * views.length)]);
      labels.push(positive ? 1 : 0);
    }
    const lr = cosineLearningRate(step, OBJECT_HEAD.steps, OBJECT_HEAD.learningRate, OBJECT_HEAD.minLearningRate);
    const g = crossEntropy(layer, batch, labels);
    const grads = [...g.weight, ...g.bias];
    const norm = Math.sqrt(grads.reduce((a, x) => a + x * x, 0));
    const clip = Math.min(1, OBJECT_HEAD.gradientClipNorm / (norm + 1e-6));
    const t = step + 1;
    grads.forEach((raw, k) => {
      const p = k < 2 * DIMS ? layer.weight : layer.bias;
      const i = k < 2 * DIMS ? k : k - 2 * DIMS;
      const grad = raw * clip;
      p[i] *= 1 - lr * OBJECT_HEAD.weightDecay;
      m[k] = OBJECT_HEAD.adamBeta1 * m[k] + (1 - OBJECT_HEAD.adamBeta1) * grad;
      v[k] = OBJECT_HEAD.adamBeta2 * v[k] + (1 - OBJECT_HEAD.adamBeta2) * grad * grad;
      p[i] -=
        (lr * (m[k] / (1 - OBJECT_HEAD.adamBeta1 ** t))) /
        (Math.sqrt(v[k] / (1 - OBJECT_HEAD.adamBeta2 ** t)) + OBJECT_HEAD.adamEpsilon);
    });
  }
}

function perturbed(head: LinearHeadParams, seed: number): LinearHeadParams {
  const random = seededRandom(seed);
  return { ...head, weight: Float32Array.from(head.weight, (w) => w + 0.01 * normal(random)) };
}
