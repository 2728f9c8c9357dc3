// Image features for object heads: one interface, and its implementation over
// any single-graph ONNX image encoder that the model registry describes (CLIP
// ViT-B/32 by default, the paper's DFN5B CLIP ViT-H/14, the small MobileNetV3
// that tests use). Photos are resized and normalized as the registry entry
// says and run through the encoder in batches.
import { OperatorError } from '../../errors.ts';
import type { RgbImage } from '../../image/decode.ts';
import { fitImage, writeNchw } from '../../image/tensor.ts';
import { moduleLogger } from '../../log.ts';
import type { ImageFeaturesEntry } from '../../models/catalog/features.ts';
import { findModel } from '../../models/registry.ts';
import { resolveModel, type ResolveOptions } from '../../models/resolve.ts';
import { ort, SessionPool } from '../../models/session.ts';
import { cropRegion, type Region } from './regions.ts';

const logger = moduleLogger('image-features');

/**
 * Anything that turns photos into fixed-length feature vectors. Object heads
 * only ever see this interface, so any encoder with the same contract plugs in.
 */
export interface ImageFeatureExtractor {
  /** Registry id; stored with every head trained on these features. */
  readonly id: string;
  /** Length of every vector returned. */
  readonly dims: number;
  /** One vector per photo, in order. */
  extract(images: RgbImage | readonly RgbImage[]): Promise<Float32Array[]>;
  /**
   * How region features are made: `map` pools the encoder's feature map under
   * each region in the photo's own run; `crops` encodes each region's crop.
   * The two give different vectors, so it is part of their cache key.
   */
  readonly regionMode: 'map' | 'crops';
  /** The feature of each region of one photo, in order (one encoder call). */
  extractRegions(image: RgbImage, regions: readonly Region[]): Promise<Float32Array[]>;
}

/** Photos per encoder call. Sixteen keeps a ViT-H/14 batch under about 1 GiB of activations. */
export const DEFAULT_FEATURE_BATCH = 16;

/**
 * An ONNX image encoder described by a registry entry. Models whose graph
 * declares a fixed batch of one are run photo by photo.
 */
export class OnnxImageFeatureExtractor implements ImageFeatureExtractor {
  readonly id: string;
  readonly dims: number;
  readonly regionMode: 'map' | 'crops';
  private batchLimit: number | null = null;

  constructor(
    readonly entry: ImageFeaturesEntry,
    private readonly modelPath: string,
    private readonly sessions: SessionPool,
    private readonly batchSize: number = DEFAULT_FEATURE_BATCH,
  ) {
    this.id = entry.id;
    this.dims = entry.dims;
    this.regionMode = entry.featureMap ? 'map' : 'crops';
  }

  async extractRegions(image: RgbImage, regions: readonly Region[]): Promise<Float32Array[]> {
    const map = this.entry.featureMap;
    if (!map) return this.extract(regions.map((region) => cropRegion(image, region)));
    const session = await this.sessions.get(this.modelPath, { extraOutputs: [map] });
    const outputs = await session.run({ [this.entry.input]: await this.preprocess([image]) });
    const tensor = outputs[map];
    if (!tensor || tensor.dims.length !== 4 || tensor.dims[1] !== this.dims)
      throw wrongExport(`The image feature model ${this.id} has no [1, ${this.dims}, h, w] tensor "${map}".`);
    const [, , h, w] = tensor.dims;
    return regions.map((region) => poolRegion(tensor.data as Float32Array, this.dims, h, w, region));
  }

  async extract(images: RgbImage | readonly RgbImage[]): Promise<Float32Array[]> {
    const list: readonly RgbImage[] = isImageList(images) ? images : [images];
    if (list.length === 0) return [];
    const session = await this.sessions.get(this.modelPath);
    const limit = this.batchLimit ?? (this.batchLimit = fixedBatch(session, this.entry.input) ?? this.batchSize);
    const out: Float32Array[] = [];
    for (let start = 0; start < list.length; start += limit) {
      out.push(...(await this.runBatch(session, list.slice(start, start + limit))));
    }
    return out;
  }

  /** Resizes and normalizes photos into one NCHW batch tensor, as the registry entry says. */
  async preprocess(images: readonly RgbImage[]): Promise<ort.Tensor> {
    const { width, height } = this.entry.preprocess;
    const plane = 3 * width * height;
    const data = new Float32Array(images.length * plane);
    const fitted = await Promise.all(images.map((image) => fitImage(image, this.entry.preprocess)));
    fitted.forEach((f, i) => writeNchw(f.image, this.entry.preprocess, data, i * plane));
    return new ort.Tensor('float32', data, [images.length, 3, height, width]);
  }

  private async runBatch(session: ort.InferenceSession, images: readonly RgbImage[]): Promise<Float32Array[]> {
    const input = await this.preprocess(images);
    const outputs = await session.run({ [this.entry.input]: input });
    const output = outputs[this.entry.output];
    if (!output) {
      throw wrongExport(
        `The image feature model ${this.id} has no output "${this.entry.output}" (it has ${Object.keys(outputs).join(', ')}).`,
      );
    }
    const values = output.data as Float32Array;
    if (values.length !== images.length * this.dims) {
      throw wrongExport(
        `The image feature model ${this.id} returned ${values.length} values for ${images.length} photo(s); its catalog entry says ${this.dims} per photo.`,
      );
    }
    const vectors: Float32Array[] = [];
    for (let i = 0; i < images.length; i++) vectors.push(values.slice(i * this.dims, (i + 1) * this.dims));
    return vectors;
  }
}

export interface OpenExtractorOptions extends ResolveOptions {
  /** The process's session pool; a private one is created when absent. */
  sessions?: SessionPool;
  batchSize?: number;
}

/**
 * Finds the registry entry `id`, locates (or downloads) its file and returns
 * an extractor. Missing files raise ModelMissingError with placement advice.
 */
export async function openImageFeatureExtractor(
  id: string,
  options: OpenExtractorOptions,
): Promise<OnnxImageFeatureExtractor> {
  const entry = findModel('image-features', id);
  const resolved = await resolveModel(entry, options);
  const modelPath = resolved.files[entry.files[0].path];
  logger.debug({ id, modelPath }, 'image feature extractor ready');
  return new OnnxImageFeatureExtractor(entry, modelPath, options.sessions ?? new SessionPool(), options.batchSize);
}

/**
 * The mean of a [dims, h, w] feature map over a region, each cell weighted by
 * the share of it the region covers: the whole photo gives the global pool.
 */
export function poolRegion(map: Float32Array, dims: number, h: number, w: number, region: Region): Float32Array {
  const weights = new Float64Array(h * w);
  let total = 0;
  for (let y = 0; y < h; y++) {
    const wy = overlap(y / h, (y + 1) / h, region.top, region.top + region.height) * h;
    for (let x = 0; x < w; x++) {
      const weight = wy * overlap(x / w, (x + 1) / w, region.left, region.left + region.width) * w;
      weights[y * w + x] = weight;
      total += weight;
    }
  }
  const out = new Float32Array(dims);
  const plane = h * w;
  for (let c = 0; c < dims; c++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) if (weights[i] > 0) sum += weights[i] * map[c * plane + i];
    out[c] = total > 0 ? sum / total : 0;
  }
  return out;
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** An encoder whose graph is not what its catalog entry says: the operator placed another export. */
function wrongExport(problem: string): OperatorError {
  return new OperatorError(problem, {
    hint: 'Use the export its entry in src/models/catalog/features.ts describes, or choose another model with MYVLM_IMAGE_FEATURES.',
  });
}

function isImageList(images: RgbImage | readonly RgbImage[]): images is readonly RgbImage[] {
  return Array.isArray(images);
}

/** 1 when the graph's image input has a fixed batch of one, else null (any batch). */
function fixedBatch(session: ort.InferenceSession, input: string): number | null {
  const meta = session.inputMetadata.find((m) => m.name === input);
  if (!meta || !meta.isTensor) return null;
  const first = meta.shape[0];
  return typeof first === 'number' && first > 0 ? first : null;
}
