// Runs a face detection model on a photo: sizes and normalizes the input
// (letterbox into a fixed square, or the photo's own aspect for graphs with
// dynamic size), decodes the family's outputs, maps faces back to the photo,
// suppresses duplicates and drops faces too small to recognize.
import type { RgbImage } from '../../image/decode.ts';
import { resizeRgb, type InputTransform, type Preprocess } from '../../image/tensor.ts';
import type { FaceDetectorEntry } from '../../models/catalog/faces.ts';
import { ort } from '../../models/session.ts';
import { decodeScrfd } from './decode-scrfd.ts';
import { decodeYunet, type FloatTensor, type RawFace } from './decode-yunet.ts';
import { clipBox, nonMaximumSuppression } from './geometry.ts';
import { pickTensorName, wrongFaceExport } from './tensor-names.ts';
import type { DetectedFace, FaceDetector, FiveLandmarks, Point } from './types.ts';

/** The model input for one photo: its pixel size and how to map back. */
export interface DetectorInputSize {
  width: number;
  height: number;
}

/**
 * The input size a detector runs a photo at. Fixed-size graphs use their
 * square; dynamic graphs keep the photo's aspect ratio with the long side at
 * `longSide` and the short side rounded up to a multiple of the largest
 * stride, so no compute goes to padding. Small photos are scaled up too:
 * at their own size YuNet missed faces that fill the frame (docs/faces.md).
 */
export function detectorInputSize(
  entry: FaceDetectorEntry,
  imageWidth: number,
  imageHeight: number,
  longSide = entry.inputLongSide,
): DetectorInputSize {
  if (!entry.dynamicSize) return { width: entry.preprocess.width, height: entry.preprocess.height };
  const multiple = Math.max(...entry.strides);
  const scale = longSide / Math.max(imageWidth, imageHeight);
  // The tolerance keeps the long side at exactly `longSide` despite rounding in `scale`.
  const roundUp = (v: number) => Math.max(multiple, Math.ceil((v * scale) / multiple - 1e-9) * multiple);
  return { width: roundUp(imageWidth), height: roundUp(imageHeight) };
}

export interface DetectorOptions {
  /** Dynamic-size graphs only: the input's long side; the registry's value by default. */
  longSide?: number;
  /** Overrides the registry's minimum face size (shorter box side, photo pixels). */
  minFaceSize?: number;
  /** Overrides the registry's score threshold. */
  scoreThreshold?: number;
}

/** A face detector over one ONNX Runtime session; YuNet and SCRFD families. */
export class OnnxFaceDetector implements FaceDetector {
  readonly id: string;
  private readonly longSide: number;
  private readonly minFaceSize: number;
  private readonly scoreThreshold: number;
  private readonly inputName: string;

  constructor(
    private readonly entry: FaceDetectorEntry,
    private readonly session: ort.InferenceSession,
    options: DetectorOptions = {},
  ) {
    this.id = entry.id;
    this.longSide = options.longSide ?? entry.inputLongSide;
    this.minFaceSize = options.minFaceSize ?? entry.minFaceSize;
    this.scoreThreshold = options.scoreThreshold ?? entry.scoreThreshold;
    this.inputName = pickTensorName(session.inputNames, entry.input, 'input');
  }

  async detect(image: RgbImage): Promise<DetectedFace[]> {
    if (image.width < 1 || image.height < 1) return [];
    const size = detectorInputSize(this.entry, image.width, image.height, this.longSide);
    const { tensor, transform } = await this.prepare(image, size);
    const results = await this.session.run({ [this.inputName]: tensor });
    const raw = this.decode(results, size);
    const faces = raw
      .map((face) => toPhoto(face, transform, image.width, image.height))
      .filter((f) => Math.min(f.box.width, f.box.height) >= this.minFaceSize);
    return nonMaximumSuppression(faces, this.entry.nmsIouThreshold);
  }

  /**
   * Letterboxes the photo into `size`: scaled by libvips (sharp) to fit, placed
   * top-left, padding black, written straight into a normalized NCHW tensor.
   */
  async prepare(image: RgbImage, size: DetectorInputSize): Promise<{ tensor: ort.Tensor; transform: InputTransform }> {
    const spec = this.entry.preprocess;
    const scale = Math.min(size.width / image.width, size.height / image.height);
    const width = Math.max(1, Math.min(size.width, Math.round(image.width * scale)));
    const height = Math.max(1, Math.min(size.height, Math.round(image.height * scale)));
    const resized = await resizeRgb(image, width, height, spec.kernel);
    const data = new Float32Array(3 * size.width * size.height);
    writePaddedNchw(resized, size, spec, data);
    return {
      tensor: new ort.Tensor('float32', data, [1, 3, size.height, size.width]),
      transform: { scaleX: scale, scaleY: scale, offsetX: 0, offsetY: 0 },
    };
  }

  private decode(results: ort.InferenceSession.ReturnType, size: DetectorInputSize): RawFace[] {
    const context = {
      inputWidth: size.width,
      inputHeight: size.height,
      strides: this.entry.strides,
      scoreThreshold: this.scoreThreshold,
    };
    if (this.entry.decoder === 'yunet') {
      const named: Record<string, FloatTensor> = {};
      for (const name of this.session.outputNames) named[name] = floatTensor(results[name], name);
      return decodeYunet(named, context);
    }
    const ordered = this.session.outputNames.map((name) => floatTensor(results[name], name));
    return decodeScrfd(ordered, { ...context, anchorsPerCell: this.entry.anchorsPerCell ?? 1 });
  }
}

/**
 * Writes an image into the top-left of a `size` NCHW tensor, normalized as
 * `spec` says, and fills the rest with normalized black. One pass over the
 * pixels: the detector's input is as large as the model run is short.
 */
export function writePaddedNchw(
  image: RgbImage,
  size: DetectorInputSize,
  spec: Pick<Preprocess, 'channels' | 'scale' | 'mean' | 'std'>,
  out: Float32Array,
): void {
  const plane = size.width * size.height;
  const order = spec.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  // Plane p takes source channel order[p]; value = pixel * mul[p] + add[p].
  const mul = order.map((_, p) => spec.scale / spec.std[p]);
  const add = order.map((_, p) => -spec.mean[p] / spec.std[p]);
  for (let p = 0; p < 3; p++) if (add[p] !== 0) out.fill(add[p], p * plane, (p + 1) * plane);
  const [s0, s1, s2] = order;
  const [m0, m1, m2] = mul;
  const [a0, a1, a2] = add;
  const src = image.data;
  const rows = Math.min(image.height, size.height);
  const cols = Math.min(image.width, size.width);
  for (let y = 0; y < rows; y++) {
    let i = y * image.width * 3;
    let o = y * size.width;
    for (let x = 0; x < cols; x++, i += 3, o++) {
      out[o] = src[i + s0] * m0 + a0;
      out[o + plane] = src[i + s1] * m1 + a1;
      out[o + 2 * plane] = src[i + s2] * m2 + a2;
    }
  }
}

function floatTensor(tensor: ort.Tensor | undefined, name: string): FloatTensor {
  if (!tensor || tensor.type !== 'float32')
    throw wrongFaceExport(`The face detector output "${name}" is not a float32 tensor.`);
  return { data: tensor.data as Float32Array, dims: tensor.dims };
}

function toPhoto(face: RawFace, t: InputTransform, width: number, height: number): DetectedFace {
  const point = ([x, y]: Point): Point => [(x - t.offsetX) / t.scaleX, (y - t.offsetY) / t.scaleY];
  const [x, y] = point([face.box.x, face.box.y]);
  const box = clipBox({ x, y, width: face.box.width / t.scaleX, height: face.box.height / t.scaleY }, width, height);
  return { box, score: face.score, landmarks: face.landmarks.map(point) as unknown as FiveLandmarks };
}
