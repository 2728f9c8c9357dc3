// Decodes SCRFD / RetinaFace-style outputs (InsightFace `buffalo_l` det_10g and
// its siblings): anchor-based, several anchors per grid cell, boxes and
// landmarks predicted as distances from the anchor centre in stride units.
import type { DecodeContext, FloatTensor, RawFace } from './decode-yunet.ts';
import { wrongFaceExport } from './tensor-names.ts';
import type { FiveLandmarks, Point } from './types.ts';

export interface ScrfdContext extends DecodeContext {
  /** Anchors per grid cell (2 for the 3-stride buffalo_l detectors). */
  anchorsPerCell: number;
}

/**
 * Reads SCRFD outputs given in graph order: one score tensor per stride, then
 * one box tensor per stride, then (when present) one landmark tensor per
 * stride. Exports name these outputs by number, so the order is what counts.
 * Scores are already sigmoid-activated; boxes are (left, top, right, bottom)
 * distances and landmarks (dx, dy) offsets, both in units of the stride.
 * Tensors may be [N, C] or [1, N, C]; only the first image is read.
 */
export function decodeScrfd(ordered: readonly FloatTensor[], context: ScrfdContext): RawFace[] {
  const levels = context.strides.length;
  if (ordered.length !== levels * 3) {
    throw wrongFaceExport(
      `The SCRFD decoder expects ${levels * 3} outputs (scores, boxes, landmarks for ${levels} strides), got ${ordered.length}.`,
    );
  }
  const faces: RawFace[] = [];
  for (let level = 0; level < levels; level++) {
    const stride = context.strides[level];
    const cols = Math.floor(context.inputWidth / stride);
    const rows = Math.floor(context.inputHeight / stride);
    const anchors = cols * rows * context.anchorsPerCell;
    const scores = checked(ordered[level], anchors, 1, `scores of stride ${stride}`);
    const boxes = checked(ordered[levels + level], anchors, 4, `boxes of stride ${stride}`);
    const kps = checked(ordered[2 * levels + level], anchors, 10, `landmarks of stride ${stride}`);
    for (let a = 0; a < anchors; a++) {
      const score = scores[a];
      if (!(score >= context.scoreThreshold)) continue;
      const cell = Math.floor(a / context.anchorsPerCell);
      const cx = (cell % cols) * stride;
      const cy = Math.floor(cell / cols) * stride;
      const left = cx - boxes[a * 4] * stride;
      const top = cy - boxes[a * 4 + 1] * stride;
      const right = cx + boxes[a * 4 + 2] * stride;
      const bottom = cy + boxes[a * 4 + 3] * stride;
      const points: Point[] = [];
      for (let k = 0; k < 5; k++)
        points.push([cx + kps[a * 10 + 2 * k] * stride, cy + kps[a * 10 + 2 * k + 1] * stride]);
      faces.push({
        box: { x: left, y: top, width: right - left, height: bottom - top },
        score,
        landmarks: points as unknown as FiveLandmarks,
      });
    }
  }
  return faces;
}

function checked(tensor: FloatTensor | undefined, anchors: number, channels: number, what: string): Float32Array {
  if (!tensor) throw wrongFaceExport(`The SCRFD output for ${what} is missing.`);
  const last = tensor.dims[tensor.dims.length - 1];
  if (last !== channels || tensor.data.length < anchors * channels) {
    throw wrongFaceExport(
      `The SCRFD output for ${what} has shape [${tensor.dims.join(', ')}], expected ${anchors} x ${channels}.`,
    );
  }
  return tensor.data;
}
