// Teaching makes its sessions the way the rest of the process does: the
// configured execution provider and thread counts reach every graph a lesson
// opens (vision encoder, embeddings, decoder, the prefix and the teaching graph), in the
// worker thread too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RuntimeOptions } from '../../src/models/session.ts';
import { writeTinyLlava } from '../../src/onnx/tiny/factory.ts';
import { EmbeddingJobs } from '../../src/teach/jobs.ts';
import { describeUpdate, type JobUpdate } from '../../src/teach/job-updates.ts';
import { syntheticScene } from '../../src/teach/miniature/scenes.ts';
import { TeachableExport } from '../../src/teach/teachable-export.ts';
import { TEST_JOB } from './fixtures/test-job.ts';

let scratch: string;
let modelDir: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-teaching-sessions-'));
  modelDir = (await writeTinyLlava(path.join(scratch, 'model'), { seed: 4 })).dir;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('teaching sessions', () => {
  it('carry the configured provider and thread counts to all five graphs of a lesson', async () => {
    const created: { file: string; options: ort.InferenceSession.SessionOptions }[] = [];
    const original = ort.InferenceSession.create.bind(ort.InferenceSession);
    const spy = vi.spyOn(ort.InferenceSession, 'create').mockImplementation(((
      file: string,
      options: ort.InferenceSession.SessionOptions,
    ) => {
      created.push({ file, options });
      return original(file, options);
    }) as typeof ort.InferenceSession.create);
    const runtime: RuntimeOptions = { executionProvider: 'cpu', intraOpThreads: 1, interOpThreads: 2 };
    const vlm = await TeachableExport.open(modelDir, { cacheDir: path.join(scratch, 'cache'), runtime });
    try {
      const features = await vlm.imageFeatures(syntheticScene(1, 'concept').image);
      await vlm.lossAndGradient(
        [{ features, instruction: 'Please caption this image of sks.', target: 'sks on the grass.' }],
        Float64Array.from({ length: vlm.hiddenSize }, () => 1),
        0.5,
      );
    } finally {
      await vlm.release();
      spy.mockRestore();
    }
    expect(created.map((c) => path.basename(c.file))).toEqual(
      expect.arrayContaining([
        'vision_encoder.onnx',
        'embed_tokens.onnx',
        'decoder_model_merged.onnx',
        'decoder_model_merged.teach-row.onnx',
        'decoder_model_merged.prefix.onnx',
      ]),
    );
    expect(created).toHaveLength(5);
    for (const { options } of created)
      expect(options).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 2 });
  });

  it('in the worker thread use the configured provider: one this build lacks fails the lesson, naming it', async () => {
    const jobs = new EmbeddingJobs({
      dir: path.join(scratch, 'jobs'),
      environment: {
        runtime: { executionProvider: 'cuda', intraOpThreads: 0, interOpThreads: 0 },
        cacheDir: path.join(scratch, 'cache'),
      },
      save: () => Promise.reject(new Error('nothing should be saved')),
    });
    const updates: JobUpdate[] = [];
    jobs.onUpdate((u) => updates.push(u));
    await jobs.start({
      ...TEST_JOB,
      modelDir,
      photos: [{ image: syntheticScene(2, 'concept').image, caption: 'sks on the grass.' }],
      training: { steps: 2 },
    });
    await jobs.whenIdle();
    await jobs.close();
    const failed = updates.find((u) => u.state === 'failed');
    expect(failed).toBeDefined();
    // An operator's problem in the worker stays one on this side: the hint for the log, a notice for the chat.
    expect(failed).toMatchObject({
      actor: 'operator',
      message: 'The cuda execution provider is not available here: ONNX Runtime could not load its libraries.',
    });
    expect(failed?.state === 'failed' && failed.hint).toMatch(/^Reinstall ONNX Runtime with its CUDA 12 libraries/);
    expect(describeUpdate(failed!)).toBe(
      'I could not finish learning to talk about Rex: something on my side needs the attention of whoever runs me.',
    );
  });
});
