// A photo as the VLM sees it: the model's own image processor (read from its
// preprocessor_config.json by transformers.js, so pixels match what the model
// was exported with), plus the geometry that maps a box on the model's input
// back onto the photo (resize, then centre crop or pad).
import { AutoImageProcessor, RawImage, type Tensor } from '@huggingface/transformers';
import type { RgbImage } from '../image/decode.ts';
import { toPhotoPoint, type InputTransform } from '../image/tensor.ts';
import type { Box } from '../image/box.ts';
import type { NormalizedBox } from './boxes.ts';

/** The processor fields the geometry reads (transformers.js ImageProcessor). */
interface ProcessorGeometry {
  do_resize?: boolean;
  size?: unknown;
  do_center_crop?: boolean;
  crop_size?: number | { width: number; height: number };
  get_resize_output_image_size(image: { size: [number, number] }, size: unknown): [number, number];
  (images: RawImage): Promise<{ pixel_values: Tensor }>;
}

/** Pixels for the vision encoder and the way back to the photo. */
export interface VlmImageInput {
  /** [1, 3, H, W] float32. */
  pixelValues: Tensor;
  /** Maps a point of the model's input (pixels) to the photo. */
  transform: InputTransform;
  inputWidth: number;
  inputHeight: number;
  photoWidth: number;
  photoHeight: number;
}

/** Prepares photos for one model; built once per loaded model. */
export class VlmImageProcessor {
  private constructor(private readonly processor: ProcessorGeometry) {}

  /** Reads preprocessor_config.json from a model folder (never the network). */
  static async open(dir: string): Promise<VlmImageProcessor> {
    const processor = (await AutoImageProcessor.from_pretrained(dir, {
      local_files_only: true,
    })) as unknown as ProcessorGeometry;
    return new VlmImageProcessor(processor);
  }

  /** Runs the model's image processor on a decoded photo. */
  async prepare(image: RgbImage): Promise<VlmImageInput> {
    const raw = new RawImage(
      new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength),
      image.width,
      image.height,
      3,
    );
    const { pixel_values: pixelValues } = await this.processor(raw);
    const [inputHeight, inputWidth] = pixelValues.dims.slice(-2);
    return {
      pixelValues,
      transform: this.geometry(image.width, image.height),
      inputWidth,
      inputHeight,
      photoWidth: image.width,
      photoHeight: image.height,
    };
  }

  /** Resize (as the processor computes it), then the centre crop's offset (negative when it pads). */
  private geometry(width: number, height: number): InputTransform {
    const p = this.processor;
    const [resizedWidth, resizedHeight] = p.do_resize
      ? p.get_resize_output_image_size({ size: [width, height] }, p.size)
      : [width, height];
    let offsetX = 0;
    let offsetY = 0;
    if (p.do_center_crop && p.crop_size !== undefined) {
      const crop = typeof p.crop_size === 'number' ? { width: p.crop_size, height: p.crop_size } : p.crop_size;
      // transformers.js cuts at floor((resized - crop) / 2), or pads by floor((crop - resized) / 2).
      offsetX =
        resizedWidth >= crop.width
          ? -Math.floor((resizedWidth - crop.width) / 2)
          : Math.floor((crop.width - resizedWidth) / 2);
      offsetY =
        resizedHeight >= crop.height
          ? -Math.floor((resizedHeight - crop.height) / 2)
          : Math.floor((crop.height - resizedHeight) / 2);
    }
    return { scaleX: resizedWidth / width, scaleY: resizedHeight / height, offsetX, offsetY };
  }
}

/** A box in fractions of the model's input, as pixels of the photo (clamped to it). */
export function boxOnPhoto(box: NormalizedBox, input: VlmImageInput): Box {
  const [x0, y0] = toPhotoPoint(input.transform, box.x0 * input.inputWidth, box.y0 * input.inputHeight);
  const [x1, y1] = toPhotoPoint(input.transform, box.x1 * input.inputWidth, box.y1 * input.inputHeight);
  const clampX = (v: number) => Math.min(input.photoWidth, Math.max(0, v));
  const clampY = (v: number) => Math.min(input.photoHeight, Math.max(0, v));
  const left = clampX(x0);
  const top = clampY(y0);
  return { x: left, y: top, width: clampX(x1) - left, height: clampY(y1) - top };
}
