// From RGB pixels to model input tensors: resize (letterbox, centre-crop or
// stretch), channel order, scale and mean/std normalization, NCHW layout.
// The transform that maps model coordinates back to the photo comes along, so
// boxes found on the model input land on the original photo.
import sharp from 'sharp';
import type { RgbImage } from './decode.ts';

/** How a model wants its pixels; model registry entries carry one of these. */
export interface Preprocess {
  /**
   * letterbox: scale the long side to fit, pad right and bottom with black;
   * center-crop: scale the shorter side to `shorterSide`, cut the centre;
   * stretch: resize to the exact size, ignoring aspect ratio.
   */
  resize: 'letterbox' | 'center-crop' | 'stretch';
  width: number;
  height: number;
  /** center-crop only: the shorter side before cropping (e.g. 256 for a 224 crop). Defaults to the crop size. */
  shorterSide?: number;
  channels: 'rgb' | 'bgr';
  /** Multiplier applied to 0..255 values before mean/std (1/255 for most CNNs, 1 for YuNet). */
  scale: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Resampling kernel; bilinear unless the model was trained with bicubic (CLIP). */
  kernel?: 'linear' | 'cubic';
}

/** Maps a point of the model input back to the photo: x = (xm - offsetX) / scaleX. */
export interface InputTransform {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

export interface ModelInput {
  /** NCHW float32 for one image. */
  data: Float32Array;
  dims: [1, 3, number, number];
  transform: InputTransform;
}

/** Resizes with sharp (libvips), returning RGB pixels. */
export async function resizeRgb(
  image: RgbImage,
  width: number,
  height: number,
  kernel: 'linear' | 'cubic' = 'linear',
): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: kernel === 'cubic' ? 'cubic' : 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** Places the image into a black canvas at (0, 0): padding on the right and bottom. */
export function padRgb(image: RgbImage, width: number, height: number): RgbImage {
  if (image.width === width && image.height === height) return image;
  const out = new Uint8Array(width * height * 3);
  const rowBytes = Math.min(image.width, width) * 3;
  for (let y = 0; y < Math.min(image.height, height); y++) {
    out.set(image.data.subarray(y * image.width * 3, y * image.width * 3 + rowBytes), y * width * 3);
  }
  return { width, height, data: out };
}

/** Cuts a rectangle out of an image (clamped to its bounds). */
export function cropRgb(image: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.max(0, top + y));
    const src = (sy * image.width + left) * 3;
    out.set(image.data.subarray(src, src + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/** Resizes (and pads or crops) an image the way `spec` asks, keeping the transform back to the photo. */
export async function fitImage(
  image: RgbImage,
  spec: Preprocess,
): Promise<{ image: RgbImage; transform: InputTransform }> {
  switch (spec.resize) {
    case 'stretch': {
      const resized = await resizeRgb(image, spec.width, spec.height, spec.kernel);
      const transform = {
        scaleX: spec.width / image.width,
        scaleY: spec.height / image.height,
        offsetX: 0,
        offsetY: 0,
      };
      return { image: resized, transform };
    }
    case 'letterbox': {
      const scale = Math.min(spec.width / image.width, spec.height / image.height);
      const w = Math.max(1, Math.min(spec.width, Math.round(image.width * scale)));
      const h = Math.max(1, Math.min(spec.height, Math.round(image.height * scale)));
      const resized = await resizeRgb(image, w, h, spec.kernel);
      return {
        image: padRgb(resized, spec.width, spec.height),
        transform: { scaleX: scale, scaleY: scale, offsetX: 0, offsetY: 0 },
      };
    }
    case 'center-crop': {
      const shorter = spec.shorterSide ?? Math.max(spec.width, spec.height);
      const scale = shorter / Math.min(image.width, image.height);
      const w = Math.max(spec.width, Math.round(image.width * scale));
      const h = Math.max(spec.height, Math.round(image.height * scale));
      const resized = await resizeRgb(image, w, h, spec.kernel);
      const left = Math.floor((w - spec.width) / 2);
      const top = Math.floor((h - spec.height) / 2);
      return {
        image: cropRgb(resized, left, top, spec.width, spec.height),
        transform: { scaleX: scale, scaleY: scale, offsetX: -left, offsetY: -top },
      };
    }
  }
}

/**
 * Writes normalized NCHW values of an already-sized image into `out` at
 * `offset` (for batching); `mirrored` reads it flipped left to right (test-time
 * flip averaging without a second copy of the pixels).
 */
export function writeNchw(
  image: RgbImage,
  spec: Pick<Preprocess, 'channels' | 'scale' | 'mean' | 'std'>,
  out: Float32Array,
  offset = 0,
  mirrored = false,
): void {
  const { width, height, data } = image;
  const plane = width * height;
  const order = spec.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let c = 0; c < 3; c++) {
    const src = order[c];
    const mul = spec.scale / spec.std[c];
    const add = -spec.mean[c] / spec.std[c];
    const base = offset + c * plane;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const sx = mirrored ? width - 1 - x : x;
        out[base + row + x] = data[(row + sx) * 3 + src] * mul + add;
      }
    }
  }
}

/** One photo to one model input tensor, resized and normalized as `spec` says. */
export async function toModelInput(image: RgbImage, spec: Preprocess): Promise<ModelInput> {
  const fitted = await fitImage(image, spec);
  const data = new Float32Array(3 * spec.width * spec.height);
  writeNchw(fitted.image, spec, data);
  return { data, dims: [1, 3, spec.height, spec.width], transform: fitted.transform };
}

/** Maps a point from model-input coordinates back to the photo. */
export function toPhotoPoint(transform: InputTransform, x: number, y: number): [number, number] {
  return [(x - transform.offsetX) / transform.scaleX, (y - transform.offsetY) / transform.scaleY];
}
