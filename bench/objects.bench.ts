// Object heads: feature extraction per photo (against the bare ONNX Runtime
// session on the same batch), head training on cached features (against a
// plain two-row AdamW), and scoring 1, 100 and 10,000 heads on one photo
// (against scoring each head on its own in JavaScript).
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OBJECT_HEAD, OBJECT_REGIONS } from '../src/config/defaults.ts';
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
import { cropRegion, regionPlan } from '../src/heads/object/regions.ts';
import { trainObjectHead } from '../src/heads/object/trainer.ts';
import { trainMilHead } from '../src/heads/object/mil.ts';
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

    // Recognizing one photo (features not cached, then scoring one head), with and without regions.
    const plan = regionPlan(OBJECT_REGIONS.grids);
    const wholeHead = trainObjectHead(
      { positives: [[photoFeature(extractor.dims, 1)]], negatives: [[photoFeature(extractor.dims, 0)]] },
      { extractor: extractor.id, seed: 1, steps: 10 },
    ).params;
    const regionHead = { ...wholeHead, scoring: 'regions' as const };
    const photo = photos[0];
    const wholeBank = new HeadBank(extractor.dims, extractor.id);
    wholeBank.sync([{ conceptId: 'rex', params: wholeHead }]);
    const regionBank = new HeadBank(extractor.dims, extractor.id);
    regionBank.sync([{ conceptId: 'rex', params: regionHead }]);
    const whole = await measure(async () => wholeBank.score((await extractor.extract([photo]))[0]), { iterations: 15 });
    const regions = await measure(async () => regionBank.scoreRegions(await extractor.extractRegions(photo, plan)), {
      iterations: 15,
    });
    // Encoders without a feature map in their catalog entry (CLIP) encode each region as a crop instead.
    const crops = await measure(
      async () => regionBank.scoreRegions(await extractor.extract(plan.map((r) => cropRegion(photo, r)))),
      { iterations: 15 },
    );
    for (const [mode, run] of [
      [extractor.regionMode, regions],
      ['crops', crops],
    ] as const) {
      rows.push([
        `recognize 1 photo, ${plan.length} regions (${mode}), ${EXTRACTOR} (ms)`,
        run.medianMs,
        whole.medianMs,
        'whole photo only (before regions)',
        run.medianMs / whole.medianMs,
      ]);
    }
    notes.push(
      `Regions: the whole photo and grids ${OBJECT_REGIONS.grids.join(' and ')} (${plan.length} regions), ` +
        "pooled from the encoder's feature map in the same run (map; MobileNetV3 has one) or each encoded as a crop in one batch " +
        '(crops: encoders without a map in their catalog entry, CLIP among them); the target is a ratio under 3 (issue 16).',
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

  // A region head: the same photos with 5 regions each (the object in one region of each positive), up to 1 + milRounds trainings.
  const regionCount = regionPlan(OBJECT_REGIONS.grids).length;
  const bags = positives.map((views, p) =>
    Array.from({ length: regionCount }, (_, r) => (r === 1 + (p % (regionCount - 1)) ? views[0] : vector(0.3))),
  );
  const negativeRegions = negatives.flatMap(() => Array.from({ length: regionCount }, () => [vector(0)]));
  const mil = await measure(
    () =>
      trainMilHead(
        {
          positives: bags,
          negatives: negativeRegions,
          viewsOf: (p, r) => Promise.resolve(r === 0 ? positives[p] : [bags[p][r]]),
        },
        { extractor: 'bench', seed: 1 },
      ),
    { iterations: 5 },
  );
  rows.push([
    `region head training (multiple-instance), 4 pos + 150 neg x ${regionCount} regions, ${DIMS}-d (ms)`,
    mil.medianMs,
    training.medianMs,
    'whole-photo head training above',
    mil.medianMs / training.medianMs,
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

/** A non-negative stand-in feature with a class-dependent shift. */
function photoFeature(dims: number, shift: number): Float32Array {
  const random = seededRandom(10 + shift);
  return Float32Array.from({ length: dims }, (_, i) => Math.abs(normal(random)) + (i < 8 ? shift : 0));
}

function perturbed(head: LinearHeadParams, seed: number): LinearHeadParams {
  const random = seededRandom(seed);
  return { ...head, weight: Float32Array.from(head.weight, (w) => w + 0.01 * normal(random)) };
}
