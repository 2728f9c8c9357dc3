// Face alignment: the least-squares similarity transform (rotation, uniform
// scale, translation; Umeyama 1991) that carries a face's five landmarks onto
// a recognizer's template (ArcFace's 112x112 crop, or dlib's 150x150 face
// chip), and a bilinear warp that samples the aligned crop straight from the
// decoded photo. Recognizers were trained on crops made this way, so their
// embeddings depend on it.
import type { RgbImage } from '../../image/decode.ts';
import { FACE } from '../../config/defaults.ts';
import { InternalError } from '../../errors.ts';
import type { FiveLandmarks, Point } from './types.ts';

/**
 * The canonical landmark positions in a 112x112 crop (InsightFace's ArcFace
 * template): right eye, left eye, nose tip, right and left mouth corners.
 */
export const ARCFACE_TEMPLATE: FiveLandmarks = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/**
 * dlib's mean face (dlib/image_transforms/interpolation.h, get_face_chip_details):
 * where the 68-point landmarks sit in a unit square, for the points that
 * make our five: the six points around each eye (averaged into its centre),
 * the nose tip (point 30) and the mouth corners (points 48 and 54).
 */
const DLIB_MEAN_FACE = {
  rightEye: [
    [0.121737, 0.216423],
    [0.187122, 0.178758],
    [0.265825, 0.179852],
    [0.334606, 0.231733],
    [0.260918, 0.245099],
    [0.182743, 0.244077],
  ],
  leftEye: [
    [0.645647, 0.231733],
    [0.714428, 0.179852],
    [0.793132, 0.178758],
    [0.858516, 0.216423],
    [0.79751, 0.244077],
    [0.719335, 0.245099],
  ],
  noseTip: [0.490127, 0.515625],
  rightMouth: [0.254149, 0.780233],
  leftMouth: [0.726104, 0.780233],
} as const;

/** Side of dlib's face chip, and the margin around the mean face, as a share of its size (dlib's face recognition example). */
export const DLIB_CHIP = { size: 150, padding: 0.25 } as const;

/**
 * The five landmarks' places in dlib's 150x150 face chip: the mean face
 * mapped as get_face_chip_details maps it, (p + padding) / (1 + 2 padding) * size.
 * dlib fits the chip to 32 of the 68 points; fitting our five to the same
 * mean face gives the same chip for an average face.
 */
export const DLIB_CHIP_TEMPLATE: FiveLandmarks = (() => {
  const { size, padding } = DLIB_CHIP;
  const place = ([x, y]: readonly [number, number]): Point => [
    ((x + padding) / (1 + 2 * padding)) * size,
    ((y + padding) / (1 + 2 * padding)) * size,
  ];
  const centre = (points: ReadonlyArray<readonly [number, number]>): readonly [number, number] => [
    points.reduce((sum, p) => sum + p[0], 0) / points.length,
    points.reduce((sum, p) => sum + p[1], 0) / points.length,
  ];
  const m = DLIB_MEAN_FACE;
  return [
    place(centre(m.rightEye)),
    place(centre(m.leftEye)),
    place(m.noseTip),
    place(m.rightMouth),
    place(m.leftMouth),
  ];
})();

/**
 * The template of the crop a recognizer with this input side was trained on.
 * The side tells the conventions apart: 150 is dlib's face chip; any other
 * side is the ArcFace template scaled to it (InsightFace, MobileFaceNet: 112).
 */
export function alignmentTemplate(size: number): readonly Point[] {
  if (size === DLIB_CHIP.size) return DLIB_CHIP_TEMPLATE;
  const k = size / FACE.alignedSize;
  return ARCFACE_TEMPLATE.map(([x, y]): Point => [x * k, y * k]);
}

/** Interleaved RGB values to sample from: a photo's bytes, or a shrunk region's exact means. */
interface PixelSource {
  width: number;
  height: number;
  data: Uint8Array | Float32Array;
}

/** x' = a x - b y + tx, y' = b x + a y + ty: rotation and uniform scale sqrt(a^2 + b^2). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * The similarity transform that best maps `from` onto `to` in the
 * least-squares sense. In two dimensions Umeyama's SVD solution reduces to a
 * closed form: treating points as complex numbers, the rotation-and-scale is
 * sum(conj(p) q) / sum(|p|^2) over the centred points.
 */
export function estimateSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  if (from.length !== to.length || from.length < 2)
    throw new InternalError('a similarity transform needs at least two point pairs');
  const n = from.length;
  let mpx = 0,
    mpy = 0,
    mqx = 0,
    mqy = 0;
  for (let i = 0; i < n; i++) {
    mpx += from[i][0] / n;
    mpy += from[i][1] / n;
    mqx += to[i][0] / n;
    mqy += to[i][1] / n;
  }
  let dot = 0,
    cross = 0,
    norm = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i][0] - mpx,
      py = from[i][1] - mpy;
    const qx = to[i][0] - mqx,
      qy = to[i][1] - mqy;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  if (norm === 0) throw new InternalError('landmarks all coincide; no transform');
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: mqx - (a * mpx - b * mpy), ty: mqy - (b * mpx + a * mpy) };
}

/** Where a point lands under a similarity transform. */
export function applySimilarity(t: Similarity, [x, y]: Point): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

/** The transform that undoes `t` (crop -> photo from photo -> crop). */
export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/** Whether landmarks can define an alignment: finite, and not all (nearly) at one point. */
export function canAlign(landmarks: FiveLandmarks): boolean {
  if (!landmarks.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) return false;
  const xs = landmarks.map((p) => p[0]);
  const ys = landmarks.map((p) => p[1]);
  return Math.max(...xs) - Math.min(...xs) + Math.max(...ys) - Math.min(...ys) >= 1;
}

/**
 * Warps the face with these landmarks onto a `size` x `size` crop aligned to
 * the template of that size (alignmentTemplate). Each output pixel is a
 * bilinear sample of the photo. A face more than twice the crop's size is
 * first box-filtered by the whole factor (each photo pixel read once), so
 * shrinking a large face does not alias. Pixels outside the photo are black,
 * as in the recognizers' training crops.
 */
export function alignFace(image: RgbImage, landmarks: FiveLandmarks, size: number = FACE.alignedSize): RgbImage {
  const toPhoto = invertSimilarity(estimateSimilarity(landmarks, alignmentTemplate(size)));
  const factor = Math.floor(Math.hypot(toPhoto.a, toPhoto.b));
  if (factor < 2) return warpBilinear(image, toPhoto, size);
  const reduced = reduceRegion(image, toPhoto, size, factor);
  // Reduced pixel (i, j) averages photo pixels left + i f .. left + i f + f - 1, so its centre is at left + i f + (f - 1) / 2.
  const shift = (factor - 1) / 2;
  const toReduced: Similarity = {
    a: toPhoto.a / factor,
    b: toPhoto.b / factor,
    tx: (toPhoto.tx - reduced.left - shift) / factor,
    ty: (toPhoto.ty - reduced.top - shift) / factor,
  };
  return warpBilinear(reduced.image, toReduced, size);
}

/** One bilinear sample per crop pixel at `t` (crop -> image). */
function warpBilinear(image: PixelSource, t: Similarity, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  const sample = new Float64Array(3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      sampleBilinear(image, t.a * u - t.b * v + t.tx, t.b * u + t.a * v + t.ty, sample);
      const o = (v * size + u) * 3;
      out[o] = Math.round(sample[0]);
      out[o + 1] = Math.round(sample[1]);
      out[o + 2] = Math.round(sample[2]);
    }
  }
  return { width: size, height: size, data: out };
}

/**
 * The part of the photo the crop covers (plus a margin), shrunk by `factor`
 * with a box filter: each reduced pixel is the mean of the factor x factor
 * photo pixels under it (those inside the photo).
 */
function reduceRegion(
  image: RgbImage,
  toPhoto: Similarity,
  size: number,
  factor: number,
): { image: PixelSource; left: number; top: number } {
  const box: Point[] = [
    [-0.5, -0.5],
    [size - 0.5, -0.5],
    [-0.5, size - 0.5],
    [size - 0.5, size - 0.5],
  ];
  const corners = box.map((p) => applySimilarity(toPhoto, p));
  const clampX = (x: number) => Math.min(Math.max(x, 0), image.width);
  const clampY = (y: number) => Math.min(Math.max(y, 0), image.height);
  const left = clampX(Math.floor(Math.min(...corners.map((c) => c[0]))) - factor);
  const top = clampY(Math.floor(Math.min(...corners.map((c) => c[1]))) - factor);
  const right = clampX(Math.ceil(Math.max(...corners.map((c) => c[0]))) + factor);
  const bottom = clampY(Math.ceil(Math.max(...corners.map((c) => c[1]))) + factor);
  const width = Math.max(1, Math.ceil((right - left) / factor));
  const height = Math.max(1, Math.ceil((bottom - top) / factor));
  const sums = new Float64Array(width * 3);
  const out = new Float32Array(width * height * 3);
  const src = image.data;
  for (let ry = 0; ry < height; ry++) {
    sums.fill(0);
    const y0 = top + ry * factor;
    const y1 = Math.min(y0 + factor, image.height);
    for (let y = y0; y < y1; y++) {
      let i = (y * image.width + left) * 3;
      for (let x = left; x < right; x++, i += 3) {
        const c = (((x - left) / factor) | 0) * 3;
        sums[c] += src[i];
        sums[c + 1] += src[i + 1];
        sums[c + 2] += src[i + 2];
      }
    }
    const rows = Math.max(1, y1 - y0);
    for (let rx = 0; rx < width; rx++) {
      const cols = Math.max(1, Math.min(factor, right - (left + rx * factor)));
      const inv = 1 / (rows * cols);
      const o = (ry * width + rx) * 3;
      out[o] = sums[rx * 3] * inv;
      out[o + 1] = sums[rx * 3 + 1] * inv;
      out[o + 2] = sums[rx * 3 + 2] * inv;
    }
  }
  return { image: { width, height, data: out }, left, top };
}

/** Bilinear RGB sample at (x, y) in pixel-index coordinates; taps outside the photo count as black. */
export function sampleBilinear(image: PixelSource, x: number, y: number, out: Float64Array): void {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  accumulateBilinear(image, x, y, out);
}

/** Adds the bilinear sample at (x, y) to `acc`; the common interior case reads the four taps without bounds checks. */
function accumulateBilinear(image: PixelSource, x: number, y: number, acc: Float64Array): void {
  const { width, height, data } = image;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  if (x0 >= 0 && y0 >= 0 && x0 < width - 1 && y0 < height - 1) {
    const i = (y0 * width + x0) * 3;
    const j = i + width * 3;
    const w00 = (1 - fx) * (1 - fy);
    const w01 = fx * (1 - fy);
    const w10 = (1 - fx) * fy;
    const w11 = fx * fy;
    acc[0] += w00 * data[i] + w01 * data[i + 3] + w10 * data[j] + w11 * data[j + 3];
    acc[1] += w00 * data[i + 1] + w01 * data[i + 4] + w10 * data[j + 1] + w11 * data[j + 4];
    acc[2] += w00 * data[i + 2] + w01 * data[i + 5] + w10 * data[j + 2] + w11 * data[j + 5];
    return;
  }
  if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) return;
  for (let dy = 0; dy < 2; dy++) {
    const yy = y0 + dy;
    if (yy < 0 || yy >= height) continue;
    const wy = dy === 0 ? 1 - fy : fy;
    for (let dx = 0; dx < 2; dx++) {
      const xx = x0 + dx;
      if (xx < 0 || xx >= width) continue;
      const w = wy * (dx === 0 ? 1 - fx : fx);
      const i = (yy * width + xx) * 3;
      acc[0] += w * data[i];
      acc[1] += w * data[i + 1];
      acc[2] += w * data[i + 2];
    }
  }
}
