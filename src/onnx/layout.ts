// The file layout of a three-graph VLM export, as transformers.js expects it
// (full precision carries no file-name suffix). Real downloads and the tiny
// generated models share it.

/** Paths of the three graphs relative to the model folder. */
export const VLM_GRAPH_FILES = {
  visionEncoder: 'onnx/vision_encoder.onnx',
  embedTokens: 'onnx/embed_tokens.onnx',
  decoder: 'onnx/decoder_model_merged.onnx',
} as const;
