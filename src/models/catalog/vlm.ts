// Vision-language models that answer by name: the small LLaVA-interleave
// export that runs on a laptop, the paper's LLaVA-1.5 and MiniGPT-v2
// (exported by hand: no official ONNX exists), and the tiny generated models
// that tests and benchmarks use. Each entry names the precision of each of
// its three graphs; the files to fetch follow from that choice.
import { graphPath, uniformDtypes, VLM_GRAPHS, type GraphDtypes } from '../../onnx/layout.ts';
import { VLM_DTYPES, type VlmDtype } from '../../config/settings.ts';
import type { ModelEntryBase, ModelFile } from '../entry.ts';
import { hubFile, hubFileMap } from './hub-files.ts';

/**
 * The model families the personalized VLM knows: their prompt format, image
 * placeholder, decoding defaults and box syntax live in `src/vlm/families.ts`.
 */
export type VlmFamilyId = 'llava-vicuna' | 'llava-qwen' | 'minigpt-v2';

/** A VLM registry entry: the family, and the precision each graph loads with unless the user picks one. */
export interface VlmEntry extends ModelEntryBase {
  task: 'vlm';
  family: VlmFamilyId;
  dtype: GraphDtypes;
  /** Precisions the source offers for all three graphs (what `--dtype` may ask for). */
  dtypes: readonly VlmDtype[];
  /** The JSON files beside the graphs (configs, tokenizer, chat template). */
  configFiles: readonly ModelFile[];
  /** Facts (size, sha256) of the graph files the source offers, by path; graphs without facts are fetched unchecked. */
  graphFiles?: Readonly<Record<string, ModelFile>>;
}

/** Every file of an entry at a precision choice: its JSON files and the three graphs. */
export function vlmFiles(entry: Pick<VlmEntry, 'configFiles' | 'graphFiles'>, dtypes: GraphDtypes): ModelFile[] {
  const graphs = VLM_GRAPHS.map((graph) => {
    const file = graphPath(graph, dtypes[graph]);
    return entry.graphFiles?.[file] ?? { path: file };
  });
  return [...entry.configFiles, ...graphs];
}

/** The JSON files every export carries beside its graphs. */
const CONFIG_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

function configFiles(extra: readonly string[] = []): ModelFile[] {
  return [...CONFIG_FILES, ...extra].map((p) => ({ path: p }));
}

/** A registry entry with `files` listing what its default precision needs. */
function entry(spec: Omit<VlmEntry, 'files'>): VlmEntry {
  return { ...spec, files: vlmFiles(spec, spec.dtype) };
}

const FP32: GraphDtypes = uniformDtypes('fp32');

/** The revision that added processor_config.json next to the ONNX weights. */
const INTERLEAVE = {
  repo: 'llava-hf/llava-interleave-qwen-0.5b-hf',
  revision: '08647831752d66cc51831ff4f2a476de6ba2af9c',
};
/** The revision whose ONNX files hub-files.ts lists. */
const ONEVISION = {
  repo: 'llava-hf/llava-onevision-qwen2-0.5b-ov-hf',
  revision: '2c9ba3bdda7dd7bc8de92c66da6f448561ddf7c9',
};

/**
 * What the default precision (int8 vision tower and embeddings, q4 decoder)
 * of either 0.5B LLaVA-qwen export downloads, from the hub's file listings
 * (sizes in MB, not bytes): vision encoder about 404 MB, q4 decoder 308-327
 * MB, int8 embeddings about 140-156 MB, tokenizer 7 MB.
 */
const DEFAULT_DTYPE_DOWNLOAD = 0.9e9;

const EXPORT_LAYOUT =
  'Write the transformers.js layout: config.json, generation_config.json, preprocessor_config.json, tokenizer.json, ' +
  'tokenizer_config.json (with a chat template, or chat_template.json / chat_template.jinja beside it) ' +
  'and onnx/vision_encoder.onnx (pixel_values -> image_features, projector included), ' +
  'onnx/embed_tokens.onnx (input_ids -> inputs_embeds) and onnx/decoder_model_merged.onnx ' +
  '(inputs_embeds, attention_mask, position_ids, past_key_values.* -> logits, present.*), with float32 inputs and outputs.';

/** Every VLM the assistant knows by id. */
export const VLM_MODELS: readonly VlmEntry[] = [
  entry({
    id: 'llava-interleave-qwen-0.5b',
    task: 'vlm',
    family: 'llava-qwen',
    description:
      'LLaVA-interleave (Qwen1.5-0.5B with a SigLIP vision tower), the ONNX export transformers.js uses; ' +
      'small enough for a laptop CPU (about 0.9 GB with int8 vision and embeddings and a q4 decoder).',
    licence:
      'Tongyi Qianwen research licence (llava-hf/llava-interleave-qwen-0.5b-hf): research and evaluation only, no commercial use',
    licenceUse: 'research-only',
    alternative: {
      id: 'llava-onevision-qwen2-0.5b',
      why: 'Apache-2.0, the same llava-qwen family and export layout',
    },
    directory: 'llava-interleave-qwen-0.5b',
    // Weight-only int8 vision tower and embeddings, and the 4-bit decoder transformers.js recommends on CPU.
    dtype: { visionEncoder: 'int8', embedTokens: 'int8', decoder: 'q4' },
    dtypes: VLM_DTYPES,
    configFiles: [...CONFIG_FILES, 'processor_config.json', 'chat_template.json'].map((p) =>
      hubFile(INTERLEAVE.repo, INTERLEAVE.revision, p),
    ),
    graphFiles: hubFileMap(INTERLEAVE.repo, INTERLEAVE.revision, 'onnx/'),
    approxBytes: DEFAULT_DTYPE_DOWNLOAD,
    source: { kind: 'hub', ...INTERLEAVE },
  }),
  entry({
    id: 'llava-onevision-qwen2-0.5b',
    task: 'vlm',
    family: 'llava-qwen',
    description:
      'LLaVA-OneVision (Qwen2-0.5B with a SigLIP vision tower) in the same transformers.js export layout, ' +
      'under a permissive licence. It was trained with tiled high-resolution input; ' +
      'here it sees one 384-pixel view, so expect plainer answers than its paper reports.',
    licence: 'Apache-2.0 (llava-hf/llava-onevision-qwen2-0.5b-ov-hf)',
    licenceUse: 'permissive',
    directory: 'llava-onevision-qwen2-0.5b',
    dtype: { visionEncoder: 'int8', embedTokens: 'int8', decoder: 'q4' },
    dtypes: VLM_DTYPES,
    configFiles: [...CONFIG_FILES, 'processor_config.json', 'chat_template.json'].map((p) =>
      hubFile(ONEVISION.repo, ONEVISION.revision, p),
    ),
    graphFiles: hubFileMap(ONEVISION.repo, ONEVISION.revision, 'onnx/'),
    approxBytes: DEFAULT_DTYPE_DOWNLOAD,
    source: { kind: 'hub', ...ONEVISION },
  }),
  entry({
    id: 'llava-1.5-7b',
    task: 'vlm',
    family: 'llava-vicuna',
    description:
      "LLaVA-1.5 7B (Vicuna), the paper's main model; needs a GPU or a lot of patience (about 28 GB in float32).",
    licence: 'Llama 2 Community Licence (llava-hf/llava-1.5-7b-hf)',
    directory: 'llava-1.5-7b',
    dtype: FP32,
    dtypes: VLM_DTYPES,
    configFiles: configFiles(['processor_config.json']),
    source: {
      kind: 'manual',
      instructions:
        'No ready ONNX export exists. ' +
        'Export llava-hf/llava-1.5-7b-hf (for example with the transformers.js conversion scripts). ' +
        `${EXPORT_LAYOUT} Place it under <models dir>/llava-1.5-7b/ and set MYVLM_VLM=llava-1.5-7b.`,
    },
  }),
  entry({
    id: 'minigpt-v2',
    task: 'vlm',
    family: 'minigpt-v2',
    description: "MiniGPT-v2 (LLaMA-2-7B-chat with an EVA ViT-g tower), the paper's grounding model for [refer] boxes.",
    licence: 'BSD-3-Clause (Vision-CAIR/MiniGPT-4 code); Llama 2 Community Licence (weights)',
    directory: 'minigpt-v2',
    dtype: FP32,
    dtypes: VLM_DTYPES,
    configFiles: configFiles(),
    source: {
      kind: 'manual',
      instructions:
        'No ONNX export exists. ' +
        'Export the vision encoder with ln_vision, the 4-token grouping and llama_proj as one graph, ' +
        'and the LLaMA-2 language model with its KV cache; ' +
        'set "model_type": "minigpt_v2" and "image_token_index" (the <ImageHere> token) in config.json, ' +
        'as `myvlm onnx tiny minigpt-v2 <dir>` does. ' +
        `${EXPORT_LAYOUT} Place it under <models dir>/minigpt-v2/ and set MYVLM_VLM=minigpt-v2.`,
    },
  }),
  entry({
    id: 'tiny-llava',
    task: 'vlm',
    family: 'llava-vicuna',
    description:
      'A tiny LLaVA with seeded random weights (seed 0) in the real export layout; it talks nonsense. For tests and benchmarks.',
    licence: 'MIT (generated by this project)',
    directory: 'tiny-llava',
    dtype: FP32,
    dtypes: ['fp32'],
    configFiles: configFiles(['processor_config.json']),
    source: { kind: 'generated', command: 'npx myvlm onnx tiny llava <models dir>/tiny-llava' },
    testOnly: true,
  }),
  entry({
    id: 'tiny-minigpt-v2',
    task: 'vlm',
    family: 'minigpt-v2',
    description:
      'A tiny MiniGPT-v2-style model with seeded random weights (seed 0); it talks nonsense. For tests and benchmarks.',
    licence: 'MIT (generated by this project)',
    directory: 'tiny-minigpt-v2',
    dtype: FP32,
    dtypes: ['fp32'],
    configFiles: configFiles(),
    source: { kind: 'generated', command: 'npx myvlm onnx tiny minigpt-v2 <models dir>/tiny-minigpt-v2' },
    testOnly: true,
  }),
];
