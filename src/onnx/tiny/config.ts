// Sizes of the tiny generated models: the options a caller may set, their
// defaults (small enough that a test runs in seconds on two cores), and the
// checks that keep a combination buildable.
import { OperatorError } from '../../errors.ts';

/** The model families the factories write. */
export type TinyFamily = 'llava' | 'minigpt-v2';

/** Floating type of every weight and activation of a tiny model. */
export type TinyDType = 'float32' | 'float64';

/**
 * Sizes and seed of a tiny model. Every field is optional; the defaults give
 * a model of about 0.2 M parameters that loads and runs in well under a second.
 */
export interface TinyVlmOptions {
  /** Seed of every weight (default 0). The same seed gives the same files. */
  seed?: number;
  /** float32 (default) or float64 (for gradient checks). */
  dtype?: TinyDType;
  /** Language-model layers (default 2). */
  layers?: number;
  /** Language-model hidden size (default 64). */
  hiddenSize?: number;
  /** Attention heads (default 4). */
  heads?: number;
  /** Key/value heads, grouped-query attention when fewer than `heads` (default 2). */
  kvHeads?: number;
  /** SwiGLU inner size (default 2 x hiddenSize). */
  intermediateSize?: number;
  /** Vocabulary size; default the tokenizer's own (about 570). Larger pads with unused tokens. */
  vocabSize?: number;
  /** Share the output head with the token embedding (default false). */
  tieWordEmbeddings?: boolean;
  /** Rotary base (default 10 000, LLaMA's). */
  ropeTheta?: number;
  /** RMSNorm epsilon (default 1e-5, LLaMA-2's). */
  rmsNormEps?: number;
  /** Longest sequence the config announces (default 512). */
  maxPositionEmbeddings?: number;
  /** Square input image side in pixels (default 32). */
  imageSize?: number;
  /** Vision patch side (default 8, so 16 patches). */
  patchSize?: number;
  /** Vision hidden size (default 32). */
  visionHiddenSize?: number;
  /** Vision layers (default 2). LLaVA reads the second-to-last, so its graph runs one fewer. */
  visionLayers?: number;
  /** Vision attention heads (default 2). */
  visionHeads?: number;
  /** Vision MLP inner size (default 2 x visionHiddenSize). */
  visionIntermediateSize?: number;
  /**
   * Standard deviation of weight matrices; default 1/sqrt(fan-in), which keeps
   * activations near unit scale so attention is far from uniform and cache
   * or masking bugs show in the logits.
   */
  initializerRange?: number;
}

/** Every size resolved, as the factories use them. */
export interface TinyVlmSizes {
  family: TinyFamily;
  seed: number;
  dtype: TinyDType;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  ropeTheta: number;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  imageSize: number;
  patchSize: number;
  visionHiddenSize: number;
  visionLayers: number;
  visionHeads: number;
  visionIntermediateSize: number;
  layerNormEps: number;
  initializerRange: number | null;
  /** Patches per image (imageSize / patchSize squared). */
  patches: number;
  /** Image tokens the language model reads per image (LLaVA: patches; MiniGPT-v2: patches / 4). */
  imageTokens: number;
}

/** MiniGPT-v2 concatenates this many neighbouring vision tokens before llama_proj. */
export const MINIGPT_V2_TOKEN_GROUP = 4;

/** LayerNorm epsilon of both vision towers (CLIP's value). */
const VISION_LAYER_NORM_EPS = 1e-5;

/** Sizes come from whoever writes a tiny model: `myvlm onnx tiny` flags, a test or a benchmark. */
function sizeError(problem: string): OperatorError {
  return new OperatorError(problem, {
    hint: 'Choose sizes that fit together; `npx myvlm onnx help` lists the size options.',
  });
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw sizeError(`${name} must be a positive whole number (got ${value}).`);
  return value;
}

/**
 * Fills in defaults and checks that the sizes fit together (heads divide the
 * hidden size, patches tile the image, ...). `baseVocab` is the tokenizer's size.
 */
export function resolveSizes(family: TinyFamily, options: TinyVlmOptions, baseVocab: number): TinyVlmSizes {
  const hiddenSize = positiveInt('hiddenSize', options.hiddenSize ?? 64);
  const heads = positiveInt('heads', options.heads ?? 4);
  const kvHeads = positiveInt('kvHeads', options.kvHeads ?? Math.min(2, heads));
  const visionHiddenSize = positiveInt('visionHiddenSize', options.visionHiddenSize ?? 32);
  const visionHeads = positiveInt('visionHeads', options.visionHeads ?? 2);
  const imageSize = positiveInt('imageSize', options.imageSize ?? 32);
  const patchSize = positiveInt('patchSize', options.patchSize ?? 8);
  const vocabSize = positiveInt('vocabSize', options.vocabSize ?? baseVocab);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw sizeError(`seed must be a whole number from 0 to 4294967295 (got ${seed}).`);
  if (hiddenSize % heads !== 0) throw sizeError(`hiddenSize ${hiddenSize} must be a multiple of heads ${heads}.`);
  if (heads % kvHeads !== 0) throw sizeError(`heads ${heads} must be a multiple of kvHeads ${kvHeads}.`);
  const headDim = hiddenSize / heads;
  if (headDim % 2 !== 0)
    throw sizeError(`The head size hiddenSize / heads = ${headDim} must be even for rotary embeddings.`);
  if (visionHiddenSize % visionHeads !== 0)
    throw sizeError(`visionHiddenSize ${visionHiddenSize} must be a multiple of visionHeads ${visionHeads}.`);
  if (imageSize % patchSize !== 0)
    throw sizeError(`imageSize ${imageSize} must be a multiple of patchSize ${patchSize}.`);
  if (vocabSize < baseVocab)
    throw sizeError(`vocabSize ${vocabSize} is smaller than the tokenizer's ${baseVocab} tokens.`);
  const patches = (imageSize / patchSize) ** 2;
  if (family === 'minigpt-v2' && patches % MINIGPT_V2_TOKEN_GROUP !== 0) {
    throw sizeError(`MiniGPT-v2 groups vision tokens by ${MINIGPT_V2_TOKEN_GROUP}; ${patches} patches do not divide.`);
  }
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64')
    throw sizeError(`dtype must be float32 or float64 (got ${String(dtype)}).`);
  const initializerRange = options.initializerRange ?? null;
  if (initializerRange !== null && !(initializerRange > 0))
    throw sizeError(`initializerRange must be positive (got ${initializerRange}).`);
  return {
    family,
    seed,
    dtype,
    layers: positiveInt('layers', options.layers ?? 2),
    hiddenSize,
    heads,
    kvHeads,
    headDim,
    intermediateSize: positiveInt('intermediateSize', options.intermediateSize ?? 2 * hiddenSize),
    vocabSize,
    tieWordEmbeddings: options.tieWordEmbeddings ?? false,
    ropeTheta: options.ropeTheta ?? 10_000,
    rmsNormEps: options.rmsNormEps ?? 1e-5,
    maxPositionEmbeddings: positiveInt('maxPositionEmbeddings', options.maxPositionEmbeddings ?? 512),
    imageSize,
    patchSize,
    visionHiddenSize,
    visionLayers: positiveInt('visionLayers', options.visionLayers ?? 2),
    visionHeads,
    visionIntermediateSize: positiveInt(
      'visionIntermediateSize',
      options.visionIntermediateSize ?? 2 * visionHiddenSize,
    ),
    layerNormEps: VISION_LAYER_NORM_EPS,
    initializerRange,
    patches,
    imageTokens: family === 'minigpt-v2' ? patches / MINIGPT_V2_TOKEN_GROUP : patches,
  };
}
