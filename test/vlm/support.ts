// Helpers for the VLM integration tests: synthetic photos, concept records
// with an embedding, a recorder of what the decoder really receives, and a
// "scripted" tiny model whose decoder is edited so that it says a chosen
// sentence (a box, for REC) from a chosen position on.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoTokenizer } from '@huggingface/transformers';
import { vi } from 'vitest';
import type { ConceptRecord } from '../../src/memory/concept.ts';
import { readModel, writeModel } from '../../src/onnx/model-io.ts';
import { writeTinyMiniGptV2 } from '../../src/onnx/tiny/factory.ts';
import type { TinyVlmOptions } from '../../src/onnx/tiny/config.ts';
import { SessionPool } from '../../src/models/session.ts';
import { openVlm } from '../../src/vlm/load.ts';

export { testCard } from '../support/images.ts';

/** A deterministic direction of `size` values (not normalized: only the direction may matter). */
export function vector(size: number, phase: number, scale = 3): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => scale * Math.sin(i * 0.7 + phase) + 0.2);
}

/** A concept record whose embedding for `modelId` is `embedding` (none when null). */
export function concept(
  name: string,
  identifier: string,
  modelId: string,
  embedding: Float32Array | null,
  kind: ConceptRecord['kind'] = 'object',
): ConceptRecord {
  const now = new Date(0).toISOString();
  return {
    id: `id-${name}`,
    scope: 'test:scope',
    name,
    identifier,
    kind,
    owner: 'test:user',
    createdAt: now,
    updatedAt: now,
    version: 1,
    head: null,
    embeddings: embedding ? { [modelId]: { vector: embedding, steps: 100, finalLoss: 0.1, updatedAt: now } } : {},
    facts: [],
    photos: [],
  };
}

/** One decoder call as ONNX Runtime received it. */
export interface DecoderCall {
  inputsEmbeds: ort.Tensor;
  logits: ort.Tensor;
}

/**
 * Records every decoder call (any session fed `inputs_embeds`) of every ONNX
 * Runtime session in this process, transformers.js's included, without
 * changing what runs.
 */
export function recordDecoderCalls(): { calls: DecoderCall[]; prefills(): DecoderCall[]; stop(): void } {
  const calls: DecoderCall[] = [];
  // The typings describe a factory; at run time every session (transformers.js's too) is an instance of this class.
  const prototype = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .apply(this), on the session it belongs to
  const original = prototype.run;
  const spy = vi.spyOn(prototype, 'run').mockImplementation(async function (
    this: ort.InferenceSession,
    ...args: Parameters<ort.InferenceSession['run']>
  ) {
    const out = await (original as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>).apply(this, args);
    const feeds = args[0] as Record<string, ort.Tensor>;
    if (feeds.inputs_embeds && out.logits) calls.push({ inputsEmbeds: feeds.inputs_embeds, logits: out.logits });
    return out;
  });
  return { calls, prefills: () => calls.filter((c) => c.inputsEmbeds.dims[1] > 1), stop: () => spy.mockRestore() };
}

/** Row `index` of a [1, rows, width] tensor. */
export function row(tensor: ort.Tensor, index: number): Float64Array {
  const width = tensor.dims[tensor.dims.length - 1];
  return Float64Array.from((tensor.data as Float32Array).subarray(index * width, (index + 1) * width));
}

export function l2(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot / (l2(a) * l2(b));
}

/**
 * Edits a tiny model's decoder so its logits get a large bonus on
 * `tokens[k]` at position `from + k`: from that position on, greedy
 * decoding says exactly `tokens`, whatever the weights would have said. The
 * rest of the model (vision encoder, embeddings, attention, cache) runs as
 * before. `from` is the last prompt position (prompt length - 1).
 */
export async function scriptDecoder(dir: string, from: number, tokens: readonly number[]): Promise<void> {
  const file = path.join(dir, 'onnx/decoder_model_merged.onnx');
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as {
    text_config: { vocab_size: number; max_position_embeddings: number };
  };
  const { vocab_size: vocab, max_position_embeddings: positions } = config.text_config;
  if (from + tokens.length > positions) throw new Error('the script runs past the last position');
  const model = await readModel(file);
  const graph = model.graph;
  const producer = graph.producer('logits');
  if (!producer) throw new Error('the decoder has no logits output');
  producer.proto.output = producer.proto.output?.map((o) => (o === 'logits' ? 'logits_unscripted' : o));
  graph.refresh();
  const bonus = new Float32Array(positions * vocab);
  tokens.forEach((token, k) => (bonus[(from + k) * vocab + token] = 1e4));
  const table = graph.addInitializer('script/bonus', bonus, [positions, vocab]);
  const perPosition = graph.addNode({
    opType: 'Gather',
    inputs: [table, 'position_ids'],
    attributes: { axis: 0 },
    name: 'script/Gather',
  }).outputs[0];
  graph.addNode({ opType: 'Add', inputs: ['logits_unscripted', perPosition], outputs: ['logits'], name: 'script/Add' });
  await writeModel(model, file);
}

/**
 * A tiny MiniGPT-v2 in `dir` that answers `answer` (then its eos) to
 * "[refer] <identifier> in the image" with one concept token, for any photo:
 * its input has a fixed size, so the prompt always has the same length,
 * which one probe run measures.
 */
export async function writeScriptedMiniGptV2(
  dir: string,
  options: TinyVlmOptions,
  identifier: string,
  answer: string,
): Promise<void> {
  const tiny = await writeTinyMiniGptV2(dir, options);
  const sessions = new SessionPool();
  const probe = await openVlm(tiny.dir, { resolve: { cacheDir: dir, allowDownload: false }, sessions });
  try {
    const target = concept(identifier, identifier, probe.id, vector(probe.hiddenSize, 1), 'person');
    const { promptTokens } = (
      await probe.refer({ image: { width: 8, height: 8, data: new Uint8Array(192) }, target, maxNewTokens: 1 })
    ).generation;
    const tokenizer = await AutoTokenizer.from_pretrained(tiny.dir, { local_files_only: true });
    await scriptDecoder(tiny.dir, promptTokens - 1, [
      ...tokenizer.encode(answer, { add_special_tokens: false }),
      tiny.tokenIds.eos,
    ]);
  } finally {
    await probe.dispose();
    await sessions.dispose();
  }
}
