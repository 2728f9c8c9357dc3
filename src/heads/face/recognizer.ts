// Runs a face recognition model on aligned crops: one batched session run
// for all faces of a photo when the graph allows it, L2-normalized output,
// optionally averaged with the mirrored crop's embedding.
import type { RgbImage } from '../../image/decode.ts';
import { writeNchw } from '../../image/tensor.ts';
import type { FaceRecognizerEntry } from '../../models/catalog/faces.ts';
import { InternalError } from '../../errors.ts';
import { ort } from '../../models/session.ts';
import { pickTensorName, wrongFaceExport } from './tensor-names.ts';
import type { FaceRecognizer } from './types.ts';

/** A face recognizer over one ONNX Runtime session (MobileFaceNet, ArcFace...). */
export class OnnxFaceRecognizer implements FaceRecognizer {
  readonly id: string;
  readonly dims: number;
  readonly inputSize: number;
  private readonly inputName: string;
  private readonly outputName: string;

  constructor(
    private readonly entry: FaceRecognizerEntry,
    private readonly session: ort.InferenceSession,
    private readonly flipAverage: boolean = entry.flipAverage,
  ) {
    this.id = entry.id;
    this.dims = entry.dims;
    this.inputSize = entry.preprocess.width;
    this.inputName = pickTensorName(session.inputNames, entry.input, 'input');
    this.outputName = pickTensorName(session.outputNames, entry.output, 'output');
  }

  async embed(crops: readonly RgbImage[]): Promise<Float32Array[]> {
    if (crops.length === 0) return [];
    for (const crop of crops) {
      if (crop.width !== this.inputSize || crop.height !== this.inputSize) {
        // alignFace makes every crop at the recognizer's input size.
        throw new InternalError(
          `${this.id} expects ${this.inputSize}x${this.inputSize} crops, got ${crop.width}x${crop.height}`,
        );
      }
    }
    // Each face, followed by its mirror image when flip-averaging: rows f * views + view.
    const views = this.flipAverage ? 2 : 1;
    const inputs = crops.flatMap((crop) =>
      views === 2
        ? [
            { crop, mirrored: false },
            { crop, mirrored: true },
          ]
        : [{ crop, mirrored: false }],
    );
    const rows = this.entry.dynamicBatch
      ? await this.run(inputs)
      : (await Promise.all(inputs.map((input) => this.run([input])))).flat();
    return crops.map((_, f) => {
      const sum = new Float32Array(this.dims);
      for (let view = 0; view < views; view++) {
        const row = rows[f * views + view];
        for (let d = 0; d < this.dims; d++) sum[d] += row[d];
      }
      return l2Normalize(sum);
    });
  }

  /** One session run over a batch of crops; each row L2-normalized before any averaging. */
  private async run(inputs: ReadonlyArray<{ crop: RgbImage; mirrored: boolean }>): Promise<Float32Array[]> {
    const size = this.inputSize;
    const plane = 3 * size * size;
    const data = new Float32Array(inputs.length * plane);
    inputs.forEach(({ crop, mirrored }, i) => writeNchw(crop, this.entry.preprocess, data, i * plane, mirrored));
    const results = await this.session.run({
      [this.inputName]: new ort.Tensor('float32', data, [inputs.length, 3, size, size]),
    });
    const output = results[this.outputName];
    if (!output || output.type !== 'float32' || output.data.length !== inputs.length * this.dims) {
      throw wrongFaceExport(
        `The face recognizer ${this.id} returned ${output ? `[${output.dims.join(', ')}] ${output.type}` : 'nothing'}, ` +
          `expected [${inputs.length}, ${this.dims}] float32.`,
      );
    }
    const values = output.data as Float32Array;
    return inputs.map((_, i) => l2Normalize(values.slice(i * this.dims, (i + 1) * this.dims)));
  }
}

/** Scales a vector to unit length in place (a zero vector stays zero). */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}
