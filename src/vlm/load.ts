// Opening the personalized VLM from what a user configures: a registry id
// (`llava-interleave-qwen-0.5b`, `tiny-minigpt-v2`...) whose files are found or
// downloaded like every other model, or a folder holding an export. The
// family comes from the registry or the folder's config.json; the runtime
// from the family.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { UserError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { VlmGraphFiles } from '../models/catalog/vlm.ts';
import { VLM_MODELS } from '../models/catalog/vlm.ts';
import { resolveModel, type ResolveOptions } from '../models/resolve.ts';
import type { ExecutionProvider, SessionPool } from '../models/session.ts';
import type { GenerationEngine } from './engine.ts';
import { SessionLoopEngine } from './engines/session-loop.ts';
import { TransformersLlavaEngine } from './engines/transformers-llava.ts';
import { detectFamily, VLM_FAMILIES, type VlmFamily, type VlmRuntime } from './families.ts';
import { VlmImageProcessor } from './image-input.ts';
import { PersonalVlm } from './personal-vlm.ts';

const logger = moduleLogger('vlm');

/** Where to find models and how to run them. */
export interface OpenVlmOptions {
  resolve: ResolveOptions;
  /** The session pool the project's own loop opens its graphs through. */
  sessions: SessionPool;
  /** Where transformers.js runs LLaVA (default cpu). */
  device?: ExecutionProvider;
  /** Threads inside one operator for transformers.js sessions; 0 lets ONNX Runtime choose. */
  intraOpThreads?: number;
  /** Run a LLaVA export on the project's session loop instead of transformers.js (benchmarks, comparisons). */
  runtime?: VlmRuntime;
}

/**
 * Precision variants of a graph, most exact first, that keep float32 inputs
 * and outputs (concept rows are float32); the suffixes are transformers.js's.
 */
const GRAPH_VARIANTS: ReadonlyArray<{ suffix: string; dtype: string }> = [
  { suffix: '', dtype: 'fp32' },
  { suffix: '_q4', dtype: 'q4' },
  { suffix: '_int8', dtype: 'int8' },
  { suffix: '_quantized', dtype: 'q8' },
  { suffix: '_uint8', dtype: 'uint8' },
  { suffix: '_bnb4', dtype: 'bnb4' },
];

const GRAPH_NAMES = { visionEncoder: 'vision_encoder', embedTokens: 'embed_tokens', decoder: 'decoder_model_merged' } as const;

/** The graphs present in a folder, each as its most exact float32-IO variant. */
export function detectGraphFiles(dir: string): VlmGraphFiles {
  const pick = (name: string): string => {
    for (const { suffix } of GRAPH_VARIANTS) {
      const file = `onnx/${name}${suffix}.onnx`;
      if (existsSync(path.join(dir, file))) return file;
    }
    throw new UserError(`The folder ${dir} has no onnx/${name}.onnx (nor a _q4, _int8, _quantized, _uint8 or _bnb4 variant); is it a transformers.js-layout VLM export?`);
  };
  return { visionEncoder: pick(GRAPH_NAMES.visionEncoder), embedTokens: pick(GRAPH_NAMES.embedTokens), decoder: pick(GRAPH_NAMES.decoder) };
}

/** transformers.js's dtype for a graph file (`onnx/decoder_model_merged_q4.onnx` -> `q4`). */
function dtypeOf(file: string, name: string): string {
  const suffix = path.basename(file, '.onnx').slice(name.length);
  const variant = GRAPH_VARIANTS.find((v) => v.suffix === suffix);
  if (!variant) throw new UserError(`${file}: transformers.js cannot load this precision variant with float32 concept rows.`);
  return variant.dtype;
}

async function readJson(dir: string, name: string, required: boolean): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError(`Cannot read ${name} of the model in ${dir}.`, { cause });
  }
}

/** Where a VLM spec points: registry id or folder, with the embedding key it implies. */
async function locate(spec: string, resolve: ResolveOptions): Promise<{ id: string; dir: string; graphs: VlmGraphFiles; family: VlmFamily | null }> {
  const entry = VLM_MODELS.find((e) => e.id === spec);
  if (entry) {
    const resolved = await resolveModel(entry, resolve);
    return { id: entry.id, dir: resolved.directory, graphs: entry.graphs, family: VLM_FAMILIES[entry.family] };
  }
  const dir = path.resolve(spec);
  if (existsSync(dir) && statSync(dir).isDirectory()) return { id: vlmIdForFolder(dir), dir, graphs: detectGraphFiles(dir), family: null };
  throw new UserError(`"${spec}" is neither a known vision-language model (${VLM_MODELS.map((e) => e.id).join(', ')}) nor a model folder.`);
}

/**
 * The embedding key of a model opened from a folder: `local:<folder name>`.
 * Concept embeddings are learned per model, so they are stored under the key
 * of the model they were learned on.
 */
export function vlmIdForFolder(dir: string): string {
  return `local:${path.basename(path.resolve(dir))}`;
}

/** Loads the tokenizer, the image processor and the engine of a VLM, once. */
export async function openVlm(spec: string, options: OpenVlmOptions): Promise<PersonalVlm> {
  const { id, dir, graphs, family: registered } = await locate(spec, options.resolve);
  const config = await readJson(dir, 'config.json', true);
  const generation = await readJson(dir, 'generation_config.json', false);
  const family = registered ?? detectFamily(config);
  const runtime = options.runtime ?? family.runtime;
  const [tokenizer, images] = await Promise.all([
    AutoTokenizer.from_pretrained(dir, { local_files_only: true }) as Promise<PreTrainedTokenizer>,
    VlmImageProcessor.open(dir),
  ]);
  let engine: GenerationEngine;
  if (runtime === 'transformers.js') {
    if (family.id === 'minigpt-v2') throw new UserError('transformers.js has no MiniGPT-v2 model; it runs on the session loop.');
    const probe = await images.prepare({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) });
    engine = await TransformersLlavaEngine.open(
      dir,
      {
        dtype: {
          vision_encoder: dtypeOf(graphs.visionEncoder, GRAPH_NAMES.visionEncoder),
          embed_tokens: dtypeOf(graphs.embedTokens, GRAPH_NAMES.embedTokens),
          decoder_model_merged: dtypeOf(graphs.decoder, GRAPH_NAMES.decoder),
        },
        device: options.device ?? 'cpu',
        intraOpThreads: options.intraOpThreads ?? 0,
      },
      probe.pixelValues,
    );
  } else {
    const files = { visionEncoder: path.join(dir, graphs.visionEncoder), embedTokens: path.join(dir, graphs.embedTokens), decoder: path.join(dir, graphs.decoder) };
    engine = await SessionLoopEngine.open(files, config, generation, options.sessions);
  }
  try {
    const vlm = new PersonalVlm({ id, dir, family, tokenizer, images, engine });
    logger.info({ model: id, family: family.id, runtime, dir }, 'vision-language model ready');
    return vlm;
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}
