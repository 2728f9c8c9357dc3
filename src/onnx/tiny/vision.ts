// The vision half of a tiny VLM: `vision_encoder.onnx`, pixel_values
// [batch, 3, S, S] -> image_features [batch, tokens, hidden] already in the
// language model's input space (projector included), as transformers.js
// LLaVA exports have it. Patches are cut with Reshape/Transpose and embedded
// with one MatMul (a stride-P convolution, written so float64 runs too).
import { OnnxModel } from '../model.ts';
import { BlockBuilder } from './blocks.ts';
import { MINIGPT_V2_TOKEN_GROUP, type TinyVlmSizes } from './config.ts';
import { TINY_OPSET } from './decoder.ts';
import { WeightFactory } from './weights.ts';

/** Slice end meaning "to the end of the axis". */
const TO_END = Number.MAX_SAFE_INTEGER;

function newModel(sizes: TinyVlmSizes): { model: OnnxModel; blocks: BlockBuilder } {
  const model = OnnxModel.create({
    opsets: { '': TINY_OPSET },
    graphName: 'vision_encoder',
    producerName: 'myvlm-tiny',
  });
  const blocks = new BlockBuilder(
    model.graph,
    new WeightFactory(sizes.seed, sizes.dtype),
    sizes.dtype,
    sizes.initializerRange,
  );
  model.graph.addInput('pixel_values', sizes.dtype, ['batch_size', 3, sizes.imageSize, sizes.imageSize]);
  return { model, blocks };
}

/**
 * Patch embedding plus class token and learned positions:
 * [batch, 3, S, S] -> [batch, 1 + patches, width].
 */
function embedPatches(blocks: BlockBuilder, sizes: TinyVlmSizes, prefix: string, patchBias: boolean): string {
  const { graph: g, op } = blocks;
  const grid = sizes.imageSize / sizes.patchSize;
  const P = sizes.patchSize;
  const width = sizes.visionHiddenSize;
  return g.withScope('/embeddings', () => {
    const cut = op.reshape('pixel_values', [0, 3, grid, P, grid, P]);
    const patches = op.reshape(op.transpose(cut, [0, 2, 4, 1, 3, 5]), [0, grid * grid, 3 * P * P]);
    const embedded = blocks.linear(patches, `${prefix}.patch_embedding`, 3 * P * P, width, patchBias);
    const classToken = blocks.vector(`${prefix}.class_embedding`, width, 1, [1, 1, width]);
    const batch = op.shape('pixel_values', 0, 1);
    const classTokens = op.expand(classToken, op.concat([batch, op.int64s([1, width])], 0));
    const tokens = op.concat([classTokens, embedded], 1);
    const positions = blocks.vector(`${prefix}.position_embedding.weight`, (grid * grid + 1) * width, 0.02, [
      grid * grid + 1,
      width,
    ]);
    return op.add(tokens, positions);
  });
}

/** One pre-norm transformer block of a vision tower. */
function encoderLayer(
  blocks: BlockBuilder,
  sizes: TinyVlmSizes,
  x: string,
  module: string,
  activation: 'quick_gelu' | 'gelu',
): string {
  const { op } = blocks;
  const width = sizes.visionHiddenSize;
  const attended = op.add(
    x,
    blocks.selfAttention(
      blocks.layerNorm(x, `${module}.layer_norm1`, width, sizes.layerNormEps),
      `${module}.self_attn`,
      width,
      sizes.visionHeads,
    ),
  );
  const normed = blocks.layerNorm(attended, `${module}.layer_norm2`, width, sizes.layerNormEps);
  const inner = blocks.linear(normed, `${module}.mlp.fc1`, width, sizes.visionIntermediateSize, true);
  const activated = activation === 'quick_gelu' ? blocks.quickGelu(inner) : blocks.geluTanh(inner);
  return op.add(attended, blocks.linear(activated, `${module}.mlp.fc2`, sizes.visionIntermediateSize, width, true));
}

/**
 * LLaVA: a CLIP-style tower (pre-LayerNorm, QuickGELU), features from the
 * second-to-last layer (`vision_feature_layer` -2, so the last layer is not in
 * the graph) without the class token, then the two-layer GELU projector.
 */
export function buildLlavaVisionEncoder(sizes: TinyVlmSizes): OnnxModel {
  const { model, blocks } = newModel(sizes);
  const { graph: g, op } = blocks;
  const tower = 'vision_tower.vision_model';
  const features = g.withScope('/vision_tower/vision_model', () => {
    let x = embedPatches(blocks, sizes, `${tower}.embeddings`, false);
    x = g.withScope('/pre_layrnorm', () =>
      blocks.layerNorm(x, `${tower}.pre_layrnorm`, sizes.visionHiddenSize, sizes.layerNormEps),
    );
    for (let i = 0; i < sizes.visionLayers - 1; i++) {
      x = g.withScope(`/encoder/layers.${i}`, () =>
        encoderLayer(blocks, sizes, x, `${tower}.encoder.layers.${i}`, 'quick_gelu'),
      );
    }
    return op.slice(x, [1], [TO_END], [1]);
  });
  g.withScope('/multi_modal_projector', () => {
    const hidden = blocks.linear(
      features,
      'multi_modal_projector.linear_1',
      sizes.visionHiddenSize,
      sizes.hiddenSize,
      true,
    );
    const projected = blocks.linear(
      blocks.geluTanh(hidden),
      'multi_modal_projector.linear_2',
      sizes.hiddenSize,
      sizes.hiddenSize,
      true,
    );
    op.identity(projected, { output: 'image_features' });
  });
  g.addOutput('image_features', sizes.dtype, ['batch_size', sizes.imageTokens, sizes.hiddenSize]);
  return model;
}

/**
 * MiniGPT-v2: an EVA-style tower (all layers, GELU), `ln_vision`, class token
 * dropped, then every four neighbouring tokens concatenated (a reshape to
 * [batch, patches/4, 4 x width]) and projected by `llama_proj`.
 */
export function buildMiniGptV2VisionEncoder(sizes: TinyVlmSizes): OnnxModel {
  const { model, blocks } = newModel(sizes);
  const { graph: g, op } = blocks;
  const width = sizes.visionHiddenSize;
  const tokens = g.withScope('/visual_encoder', () => {
    let x = embedPatches(blocks, sizes, 'visual_encoder', true);
    for (let i = 0; i < sizes.visionLayers; i++) {
      x = g.withScope(`/blocks.${i}`, () => encoderLayer(blocks, sizes, x, `visual_encoder.blocks.${i}`, 'gelu'));
    }
    return x;
  });
  const normed = g.withScope('/ln_vision', () => blocks.layerNorm(tokens, 'ln_vision', width, sizes.layerNormEps));
  g.withScope('/llama_proj', () => {
    const patches = op.slice(normed, [1], [TO_END], [1]);
    const grouped = op.reshape(patches, [0, sizes.imageTokens, MINIGPT_V2_TOKEN_GROUP * width]);
    const projected = blocks.linear(grouped, 'llama_proj', MINIGPT_V2_TOKEN_GROUP * width, sizes.hiddenSize, true);
    op.identity(projected, { output: 'image_features' });
  });
  g.addOutput('image_features', sizes.dtype, ['batch_size', sizes.imageTokens, sizes.hiddenSize]);
  return model;
}
