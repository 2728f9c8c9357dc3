// The personalized VLM on the tiny MiniGPT-v2 through the project's session
// loop: without a firing concept it says what the plain session loop says;
// with one, the decoder reads one more row, at the mean image-token norm.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  AutoImageProcessor,
  AutoTokenizer,
  RawImage,
  type PreTrainedTokenizer,
  type Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyMiniGptV2, type TinyVlmDirectory } from '../../src/onnx/tiny/factory.ts';
import type { VlmSessionLoop } from '../../src/onnx/session-loop.ts';
import { expandPlaceholders, openExport, type OpenedExport } from '../support/exports.ts';
import { SessionPool } from '../../src/models/session.ts';
import { openVlm } from '../../src/vlm/load.ts';
import type { PersonalVlm } from '../../src/vlm/personal-vlm.ts';
import { concept, cosine, l2, recordDecoderCalls, row, testCard, vector } from './support.ts';

let scratch: string;
let tiny: TinyVlmDirectory;
let vlm: PersonalVlm;
let plainLoop: VlmSessionLoop;
let opened: OpenedExport;
let tokenizer: PreTrainedTokenizer;
let sessions: SessionPool;
let pixels: ort.Tensor;

const photo = testCard(50, 36);

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-vlm-minigpt-'));
  tiny = await writeTinyMiniGptV2(path.join(scratch, 'minigpt'), { seed: 5 });
  sessions = new SessionPool();
  vlm = await openVlm(tiny.dir, { resolve: { cacheDir: scratch, allowDownload: false }, sessions });
  opened = await openExport(tiny.dir);
  plainLoop = opened.model.loop;
  tokenizer = await AutoTokenizer.from_pretrained(tiny.dir, { local_files_only: true });
  const imageProcessor = await AutoImageProcessor.from_pretrained(tiny.dir, { local_files_only: true });
  const { pixel_values: values } = (await imageProcessor(new RawImage(photo.data, photo.width, photo.height, 3))) as {
    pixel_values: Tensor;
  };
  pixels = new ort.Tensor('float32', values.data as Float32Array, values.dims);
});

afterAll(async () => {
  await vlm?.dispose();
  await opened?.close();
  await sessions?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** What the plain session loop says for an instruction, greedily, in MiniGPT-v2's own chat template. */
async function plainTokens(instruction: string, maxNewTokens: number, stop?: number[]): Promise<number[]> {
  const prompt = tokenizer.apply_chat_template<false>(
    [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: instruction }] }],
    { tokenize: false },
  );
  const ids = expandPlaceholders(tokenizer.encode(prompt), tiny.tokenIds.image, tiny.sizes.imageTokens);
  return (await plainLoop.generate({ inputIds: ids, pixelValues: pixels, maxNewTokens, stopTokenIds: stop })).tokens;
}

describe('tiny MiniGPT-v2 without a firing concept', () => {
  it('runs on the session loop and says what the plain session loop says', async () => {
    expect(vlm.model.prompts.templateSource).toBe('tokenizer_config.json');
    expect(vlm.family.id).toBe('minigpt-v2');
    const caption = await vlm.caption({ image: photo, concepts: [], maxNewTokens: 12, ignoreStopTokens: true });
    expect(caption.prompt).toBe('[INST] <Img><ImageHere></Img> [caption] A short image caption: [/INST]');
    expect(caption.generation.tokens).toEqual(await plainTokens('[caption] A short image caption:', 12, []));
    // Greedy by default, stopping at the model's eos like the plain loop.
    const question = await vlm.ask({ image: photo, concepts: [], question: 'What is on the table?', maxNewTokens: 30 });
    expect(question.prompt).toBe('[INST] <Img><ImageHere></Img> [vqa] What is on the table? [/INST]');
    expect(question.generation.tokens).toEqual(await plainTokens('[vqa] What is on the table?', 30));
  });
});

describe('tiny MiniGPT-v2 with a firing concept', () => {
  it('feeds the decoder one more row, scaled to the mean image-token norm, and the logits move', async () => {
    const rex = concept('Rex', 'sks', vlm.id, vector(tiny.sizes.hiddenSize, 4));
    const recorder = recordDecoderCalls();
    try {
      const plain = await vlm.caption({ image: photo, concepts: [], maxNewTokens: 2 });
      const withRex = await vlm.generate({
        image: photo,
        concepts: [rex],
        instruction: '[caption] A short image caption:',
        maxNewTokens: 2,
      });
      const [p0, p1] = recorder.prefills();
      expect(recorder.prefills()).toHaveLength(2);
      // Same instruction: exactly one more position, the concept row right after the image rows.
      expect(p1.inputsEmbeds.dims[1]).toBe(p0.inputsEmbeds.dims[1] + 1);
      expect(withRex.generation.promptTokens).toBe(plain.generation.promptTokens + 1);
      const start = tokenizer.encode(plain.prompt).indexOf(tiny.tokenIds.image);
      const imageRows = tiny.sizes.imageTokens;
      const norms = Array.from({ length: imageRows }, (_, i) => l2(row(p0.inputsEmbeds, start + i)));
      const meanNorm = norms.reduce((a, b) => a + b, 0) / imageRows;
      // The image rows are the same; a mean differs from the first row's norm, so the rule is really the mean.
      expect(Math.abs(norms[0] - meanNorm)).toBeGreaterThan(1e-3);
      for (let i = 0; i < imageRows; i++)
        expect(Array.from(row(p1.inputsEmbeds, start + i))).toEqual(Array.from(row(p0.inputsEmbeds, start + i)));
      const conceptRow = row(p1.inputsEmbeds, start + imageRows);
      expect(l2(conceptRow)).toBeCloseTo(meanNorm, 4);
      expect(cosine(conceptRow, rex.embeddings[vlm.id].vector)).toBeCloseTo(1, 5);
      // The text after the image moved one position on, unchanged.
      expect(Array.from(row(p1.inputsEmbeds, start + imageRows + 1))).toEqual(
        Array.from(row(p0.inputsEmbeds, start + imageRows)),
      );
      const vocab = tiny.sizes.vocabSize;
      const last = (t: ort.Tensor) => Array.from((t.data as Float32Array).slice(-vocab));
      const diff = Math.max(...last(p1.logits).map((v, i) => Math.abs(v - last(p0.logits)[i])));
      expect(diff).toBeGreaterThan(1e-3);
    } finally {
      recorder.stop();
    }
  });

  it('reads a MiniGPT-v2 caption prompt with the identifier and refuses an embedding of the wrong width', async () => {
    const rex = concept('Rex', 'sks', vlm.id, vector(tiny.sizes.hiddenSize, 4));
    const wide = concept('Bob', 'Bob', vlm.id, vector(tiny.sizes.hiddenSize + 1, 1));
    const answer = await vlm.caption({ image: photo, concepts: [wide, rex], maxNewTokens: 3 });
    expect(answer.prompt).toBe('[INST] <Img><ImageHere></Img> [caption] A short image caption of sks: [/INST]');
    expect(answer.injected.map((c) => c.name)).toEqual(['Rex']);
    expect(answer.skipped.map((s) => s.reason)).toEqual([
      `its embedding has ${tiny.sizes.hiddenSize + 1} values but this model's tokens have ${tiny.sizes.hiddenSize}`,
    ]);
    expect(answer.generation.conceptTokens).toBe(1);
  });
});
