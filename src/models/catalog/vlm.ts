// Vision-language models that answer by name: the small LLaVA-interleave
// export that transformers.js runs on a laptop, the paper's LLaVA-1.5 and
// MiniGPT-v2 (exported by hand: no official ONNX exists), and the tiny
// generated models that tests and benchmarks use.
import type { ModelEntryBase, ModelFile } from '../entry.ts';

/**
 * The model families the personalized VLM knows: their prompt format, image
 * placeholder, decoding defaults and box syntax live in `src/vlm/families.ts`.
 */
export type VlmFamilyId = 'llava-vicuna' | 'llava-qwen' | 'minigpt-v2';

/** The three graphs of a VLM export, each as the file (precision variant) to load. */
export interface VlmGraphFiles {
  visionEncoder: string;
  embedTokens: string;
  decoder: string;
}

/** A VLM registry entry: the family and which precision of each graph to load. */
export interface VlmEntry extends ModelEntryBase {
  task: 'vlm';
  family: VlmFamilyId;
  graphs: VlmGraphFiles;
}

/** The JSON files every export carries beside its graphs. */
const CONFIG_FILES = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];

function files(graphs: VlmGraphFiles, extra: readonly string[] = []): ModelFile[] {
  return [...CONFIG_FILES, ...extra, graphs.visionEncoder, graphs.embedTokens, graphs.decoder].map((p) => ({ path: p }));
}

/** Full-precision graphs, as the tiny generator and a plain export write them. */
const FP32_GRAPHS: VlmGraphFiles = {
  visionEncoder: 'onnx/vision_encoder.onnx',
  embedTokens: 'onnx/embed_tokens.onnx',
  decoder: 'onnx/decoder_model_merged.onnx',
};

/**
 * LLaVA-interleave 0.5B on CPU: weight-only int8 vision tower and embeddings
 * (float32 in and out, which the concept rows need) and the 4-bit decoder
 * that transformers.js recommends for this model.
 */
const INTERLEAVE_GRAPHS: VlmGraphFiles = {
  visionEncoder: 'onnx/vision_encoder_int8.onnx',
  embedTokens: 'onnx/embed_tokens_int8.onnx',
  decoder: 'onnx/decoder_model_merged_q4.onnx',
};

const EXPORT_LAYOUT =
  'Write the transformers.js layout: config.json, generation_config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json and onnx/vision_encoder.onnx (pixel_values -> image_features, projector included), onnx/embed_tokens.onnx (input_ids -> inputs_embeds) and onnx/decoder_model_merged.onnx (inputs_embeds, attention_mask, position_ids, past_key_values.* -> logits, present.*), all float32 in and out.';

/** Every VLM the assistant knows by id. */
export const VLM_MODELS: readonly VlmEntry[] = [
  {
    id: 'llava-interleave-qwen-0.5b',
    task: 'vlm',
    family: 'llava-qwen',
    description:
      'LLaVA-interleave (Qwen1.5-0.5B with a SigLIP vision tower), the ONNX export transformers.js uses; small enough for a laptop CPU (about 0.9 GB with these precisions).',
    licence: 'Tongyi Qianwen research licence (llava-hf/llava-interleave-qwen-0.5b-hf)',
    directory: 'llava-interleave-qwen-0.5b',
    graphs: INTERLEAVE_GRAPHS,
    files: files(INTERLEAVE_GRAPHS, ['processor_config.json']),
    // The revision that added processor_config.json next to the ONNX weights.
    source: { kind: 'hub', repo: 'llava-hf/llava-interleave-qwen-0.5b-hf', revision: '08647831752d66cc51831ff4f2a476de6ba2af9c' },
  },
  {
    id: 'llava-1.5-7b',
    task: 'vlm',
    family: 'llava-vicuna',
    description: "LLaVA-1.5 7B (Vicuna), the paper's main model; needs a GPU or a lot of patience (about 28 GB in float32).",
    licence: 'Llama 2 Community Licence (llava-hf/llava-1.5-7b-hf)',
    directory: 'llava-1.5-7b',
    graphs: FP32_GRAPHS,
    files: files(FP32_GRAPHS, ['processor_config.json']),
    source: {
      kind: 'manual',
      instructions: `No ready ONNX export exists. Export llava-hf/llava-1.5-7b-hf (for example with the transformers.js conversion scripts). ${EXPORT_LAYOUT} Place it under <models dir>/llava-1.5-7b/ and set MYVLM_VLM=llava-1.5-7b.`,
    },
  },
  {
    id: 'minigpt-v2',
    task: 'vlm',
    family: 'minigpt-v2',
    description: "MiniGPT-v2 (LLaMA-2-7B-chat with an EVA ViT-g tower), the paper's grounding model for [refer] boxes.",
    licence: 'BSD-3-Clause (Vision-CAIR/MiniGPT-4 code); Llama 2 Community Licence (weights)',
    directory: 'minigpt-v2',
    graphs: FP32_GRAPHS,
    files: files(FP32_GRAPHS),
    source: {
      kind: 'manual',
      instructions: `No ONNX export exists. Export the vision encoder with ln_vision, the 4-token grouping and llama_proj as one graph, and the LLaMA-2 language model with its KV cache; set "model_type": "minigpt_v2" and "image_token_index" (the <ImageHere> token) in config.json, as \`myvlm onnx tiny minigpt-v2 <dir>\` does. ${EXPORT_LAYOUT} Place it under <models dir>/minigpt-v2/ and set MYVLM_VLM=minigpt-v2.`,
    },
  },
  {
    id: 'tiny-llava',
    task: 'vlm',
    family: 'llava-vicuna',
    description: 'A tiny LLaVA with seeded random weights (seed 0) in the real export layout; it talks nonsense. For tests and benchmarks.',
    licence: 'MIT (generated by this project)',
    directory: 'tiny-llava',
    graphs: FP32_GRAPHS,
    files: files(FP32_GRAPHS, ['processor_config.json']),
    source: { kind: 'generated', command: 'npx myvlm onnx tiny llava <models dir>/tiny-llava' },
    testOnly: true,
  },
  {
    id: 'tiny-minigpt-v2',
    task: 'vlm',
    family: 'minigpt-v2',
    description: 'A tiny MiniGPT-v2-style model with seeded random weights (seed 0); it talks nonsense. For tests and benchmarks.',
    licence: 'MIT (generated by this project)',
    directory: 'tiny-minigpt-v2',
    graphs: FP32_GRAPHS,
    files: files(FP32_GRAPHS),
    source: { kind: 'generated', command: 'npx myvlm onnx tiny minigpt-v2 <models dir>/tiny-minigpt-v2' },
    testOnly: true,
  },
];
