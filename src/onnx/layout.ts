// The file layout of a three-graph VLM export, as transformers.js writes and
// reads it: onnx/{vision_encoder,embed_tokens,decoder_model_merged}<suffix>.onnx,
// one suffix per precision (full precision has none). Real downloads, the
// replicas and the tiny generated models share it.
import type { VlmDtype } from '../config/settings.ts';

/** The three graphs of an export. */
export const VLM_GRAPHS = ['visionEncoder', 'embedTokens', 'decoder'] as const;
export type VlmGraph = (typeof VLM_GRAPHS)[number];

/** A precision per graph (the default LLaVA-interleave mixes int8 vision and embeddings with a q4 decoder). */
export type GraphDtypes = Record<VlmGraph, VlmDtype>;

/** File stems, as transformers.js names them. */
const STEMS: Record<VlmGraph, string> = {
  visionEncoder: 'vision_encoder',
  embedTokens: 'embed_tokens',
  decoder: 'decoder_model_merged',
};

/** File-name suffix of each precision (full precision has none). */
const SUFFIXES: Record<VlmDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** One precision for all three graphs. */
export function uniformDtypes(dtype: VlmDtype): GraphDtypes {
  return { visionEncoder: dtype, embedTokens: dtype, decoder: dtype };
}

/** `onnx/decoder_model_merged_q4.onnx` for (decoder, q4): the path inside an export folder. */
export function graphPath(graph: VlmGraph, dtype: VlmDtype): string {
  return `onnx/${STEMS[graph]}${SUFFIXES[dtype]}.onnx`;
}
