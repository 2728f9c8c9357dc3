// One VLM export as both answering and teaching run it: the files of the
// chosen precision, the family, the one prompt renderer (the model's own chat
// template), the one image processor (the model's preprocessor_config.json),
// the image-token count, and the three sessions from the process's session
// pool (so the configured execution provider and threads apply everywhere).
// Nothing about a model is decided twice.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { OperatorError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import type { RgbImage } from '../../image/decode.ts';
import { graphPath, VLM_GRAPHS, type GraphDtypes, type VlmGraph } from '../../onnx/layout.ts';
import { type VlmDtype } from '../../config/settings.ts';
import type { SessionPool } from '../../models/session.ts';
import { floatData, type FloatArray } from '../../onnx/runtime.ts';
import { loopConfigFromJson, VlmSessionLoop } from '../../onnx/session-loop.ts';
import { detectFamily, type VlmFamily } from '../families.ts';
import { VlmImageProcessor, type VlmImageInput } from '../image-input.ts';
import { referenceNorm, writeConceptRow } from '../injection.ts';
import { readChatTemplate } from './chat-template.ts';
import { imageTokenCount } from './image-tokens.ts';
import { PromptRenderer } from './prompt.ts';
import { chooseDtypes } from './variants.ts';

const logger = moduleLogger('vlm');

/** One photo's image features as the language model reads them. */
export interface ImageFeatures {
  /** Row-major [count, hiddenSize], float32 (float64 for float64 exports). */
  rows: FloatArray;
  count: number;
  /** The norm a concept token is rescaled to (the family's reference: first image token, or their mean). */
  referenceNorm: number;
}

/** How to open an export. */
export interface OpenExportOptions {
  /** Sessions come from this pool (one per process or worker). */
  sessions: SessionPool;
  /** One precision for all graphs, one per graph, or null/absent for the most exact files present. */
  dtype?: VlmDtype | GraphDtypes | null;
  /** The family when the registry knows it; otherwise read from config.json. */
  family?: VlmFamily;
}

async function readJson(dir: string, name: string, required: boolean): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new OperatorError(`Cannot read ${name} of the model in ${dir}.`, { cause });
  }
}

/** A loaded export; `open` builds one. */
export class VlmExport {
  /** Set once a photo's row count was compared with the prompt's. */
  private rowsChecked = false;

  private constructor(
    readonly dir: string,
    readonly family: VlmFamily,
    /** The precision of each graph opened. */
    readonly dtypes: GraphDtypes,
    /** Absolute path of each graph file. */
    readonly files: Readonly<Record<VlmGraph, string>>,
    readonly tokenizer: PreTrainedTokenizer,
    readonly prompts: PromptRenderer,
    readonly images: VlmImageProcessor,
    readonly loop: VlmSessionLoop,
    /** Width of the language model's input rows (a concept vector's length). */
    readonly hiddenSize: number,
    /** True for float64 test exports: features, embeddings and the teaching graph stay in float64. */
    readonly float64: boolean,
    /** The pool the sessions came from (the teaching graph opens through it too). */
    readonly sessions: SessionPool,
  ) {}

  /** Opens the export in `dir`: JSON files, tokenizer, processor, and the three sessions of the chosen precision. */
  static async open(dir: string, options: OpenExportOptions): Promise<VlmExport> {
    const root = path.resolve(dir);
    const [config, generation, processorConfig, template] = await Promise.all([
      readJson(root, 'config.json', true),
      readJson(root, 'generation_config.json', false),
      readJson(root, 'processor_config.json', false),
      readChatTemplate(root),
    ]);
    const family = options.family ?? detectFamily(config);
    const dtypes = chooseDtypes(root, options.dtype ?? null);
    const files = Object.fromEntries(VLM_GRAPHS.map((g) => [g, path.join(root, graphPath(g, dtypes[g]))])) as Record<
      VlmGraph,
      string
    >;
    const text = (config.text_config ?? config) as Record<string, unknown>;
    const hiddenSize = Number(text.hidden_size);
    if (!Number.isInteger(hiddenSize) || hiddenSize <= 0)
      throw new OperatorError(`The config.json in ${root} has no usable hidden_size.`);
    const float64 = (text.torch_dtype ?? config.torch_dtype) === 'float64';
    const loopConfig = loopConfigFromJson(config, generation);
    const [tokenizer, images] = await Promise.all([
      AutoTokenizer.from_pretrained(root, { local_files_only: true }),
      VlmImageProcessor.open(root),
    ]);
    const placeholder = tokenizer.convert_tokens_to_ids(family.imageToken);
    if (placeholder !== loopConfig.imageTokenId) {
      throw new OperatorError(
        `The tokenizer in ${root} makes ${family.imageToken} token ${placeholder}, but config.json says the image token is ${loopConfig.imageTokenId}.`,
      );
    }
    const probe = await images.prepare({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) });
    const imageRows = imageTokenCount(config, processorConfig, probe.inputHeight, probe.inputWidth);
    const familyStops = tokenizer
      .convert_tokens_to_ids([...family.stopTokens])
      .filter((id): id is number => Number.isInteger(id));
    const eos = [
      ...loopConfig.eosTokenIds,
      ...(Number.isInteger(tokenizer.eos_token_id) ? [tokenizer.eos_token_id] : []),
    ];
    const optimization = float64 ? 'basic' : 'all';
    const [visionEncoder, embedTokens, decoder] = await Promise.all(
      VLM_GRAPHS.map((g) => options.sessions.get(files[g], { optimization })),
    );
    const loop = new VlmSessionLoop({ visionEncoder, embedTokens, decoder }, loopConfig);
    const rows = imageRows ?? (await loop.encodeImage(probe.pixelValues as unknown as ort.Tensor)).dims[1];
    const prompts = new PromptRenderer({
      tokenizer,
      family,
      template,
      imageTokenId: loopConfig.imageTokenId,
      imageRows: rows,
      stopTokenIds: [...new Set([...eos, ...familyStops])],
    });
    return new VlmExport(
      root,
      family,
      dtypes,
      files,
      tokenizer,
      prompts,
      images,
      loop,
      hiddenSize,
      float64,
      options.sessions,
    );
  }

  /** Image-feature rows per photo (the prompt's placeholders before concept rows). */
  get imageRows(): number {
    return this.prompts.imageRows;
  }

  /** The decoder's graph file (the teaching graph is derived from it). */
  get decoderFile(): string {
    return this.files.decoder;
  }

  /** A photo through the model's image processor and vision encoder. */
  async features(image: RgbImage): Promise<{ input: VlmImageInput; features: ImageFeatures }> {
    const input = await this.images.prepare(image);
    return { input, features: await this.encode(input) };
  }

  /** Processed pixels through the vision encoder; the row count must be the prompt's. */
  async encode(input: VlmImageInput): Promise<ImageFeatures> {
    const encoded = await this.loop.encodeImage(input.pixelValues as unknown as ort.Tensor);
    const width = encoded.dims[encoded.dims.length - 1];
    if (width !== this.hiddenSize)
      throw new OperatorError(
        `The vision encoder in ${this.dir} gives rows of ${width} values but the language model reads ${this.hiddenSize}.`,
      );
    const rows = floatData(encoded);
    const count = rows.length / width;
    if (count !== this.imageRows) {
      if (this.rowsChecked)
        throw new OperatorError(
          `The vision encoder in ${this.dir} gave ${count} rows for this photo and ${this.imageRows} before; photos of varying size are not supported.`,
        );
      logger.warn(
        { dir: this.dir, encoderRows: count, processorRows: this.imageRows },
        'the vision encoder gives another number of rows than the processor configuration counts ' +
          '(patches, plus num_additional_image_tokens, minus one for strategy "default"); using the encoder\'s',
      );
      this.prompts.adoptImageRows(count);
    }
    this.rowsChecked = true;
    return { rows, count, referenceNorm: referenceNorm(rows, count, width, this.family.conceptScale) };
  }

  /** Image rows followed by one scaled row per concept vector, as [1, rows, hidden] in the features' type. */
  withConcepts(features: ImageFeatures, vectors: readonly ArrayLike<number>[]): ort.Tensor {
    const H = this.hiddenSize;
    const size = (features.count + vectors.length) * H;
    const out = features.rows instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
    out.set(features.rows.subarray(0, features.count * H));
    vectors.forEach((vector, i) => writeConceptRow(vector, features.referenceNorm, out, (features.count + i) * H));
    return new ort.Tensor(out instanceof Float64Array ? 'float64' : 'float32', out, [
      1,
      features.count + vectors.length,
      H,
    ]);
  }
}
