// Decodes YuNet's raw outputs (per stride: class score, objectness, box and
// five landmarks on an anchor-free grid) into faces in model-input pixels.
// The formula is the one OpenCV's FaceDetectorYN uses for the 2023mar model.
import { wrongFaceExport } from './tensor-names.ts';
import type { FiveLandmarks, Point } from './types.ts';
import type { Box } from '../../image/box.ts';

/** A float tensor as the decoders read it: ONNX Runtime outputs and hand-made test tensors alike. */
export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** A face candidate in model-input pixels, before NMS and mapping back to the photo. */
export interface RawFace {
  box: Box;
  score: number;
  landmarks: FiveLandmarks;
}

/** What every decoder needs to know about the run it decodes. */
export interface DecodeContext {
  /** Model input width and height (multiples of the largest stride). */
  inputWidth: number;
  inputHeight: number;
  strides: readonly number[];
  scoreThreshold: number;
}

/**
 * Reads YuNet's `cls_s`, `obj_s`, `bbox_s`, `kps_s` for every stride s. Cell i
 * of a stride sits at column i mod (W/s) and row floor(i / (W/s)); the score is
 * sqrt(cls * obj) with both clamped to [0, 1]. Only the first image of a batch
 * is read.
 */
export function decodeYunet(outputs: Readonly<Record<string, FloatTensor>>, context: DecodeContext): RawFace[] {
  const faces: RawFace[] = [];
  const minProduct = context.scoreThreshold * context.scoreThreshold;
  for (const stride of context.strides) {
    const cols = Math.floor(context.inputWidth / stride);
    const rows = Math.floor(context.inputHeight / stride);
    const cells = cols * rows;
    const cls = tensorFor(outputs, `cls_${stride}`, cells, 1).data;
    const obj = tensorFor(outputs, `obj_${stride}`, cells, 1).data;
    const bbox = tensorFor(outputs, `bbox_${stride}`, cells, 4).data;
    const kps = tensorFor(outputs, `kps_${stride}`, cells, 10).data;
    for (let i = 0; i < cells; i++) {
      const product = clamp01(cls[i]) * clamp01(obj[i]);
      if (product < minProduct || product === 0) continue;
      const col = i % cols;
      const row = Math.floor(i / cols);
      const cx = (col + bbox[i * 4]) * stride;
      const cy = (row + bbox[i * 4 + 1]) * stride;
      const width = Math.exp(bbox[i * 4 + 2]) * stride;
      const height = Math.exp(bbox[i * 4 + 3]) * stride;
      const points: Point[] = [];
      for (let k = 0; k < 5; k++)
        points.push([(col + kps[i * 10 + 2 * k]) * stride, (row + kps[i * 10 + 2 * k + 1]) * stride]);
      faces.push({
        box: { x: cx - width / 2, y: cy - height / 2, width, height },
        score: Math.sqrt(product),
        landmarks: points as unknown as FiveLandmarks,
      });
    }
  }
  return faces;
}

/** The named output, checked to hold at least `cells` rows of `channels` values. */
export function tensorFor(
  outputs: Readonly<Record<string, FloatTensor>>,
  name: string,
  cells: number,
  channels: number,
): FloatTensor {
  const tensor = outputs[name];
  if (!tensor)
    throw wrongFaceExport(`The face detector has no output "${name}" (it has ${Object.keys(outputs).join(', ')}).`);
  if (tensor.data.length < cells * channels) {
    throw wrongFaceExport(
      `The face detector output "${name}" has ${tensor.data.length} values, expected ${cells} x ${channels}.`,
    );
  }
  return tensor;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
