// Photos of a turn, decoded once, with the refused ones explained per photo.
import { decodeImage, encodeJpeg, sha256Hex, type DecodedImage, type ImageLimits } from '../image/decode.ts';
import { isUserError, UserError } from '../errors.ts';
import type { IncomingImage } from './turn.ts';

export interface TurnPhotos {
  decoded: Array<{ index: number; image: DecodedImage; caption: string | null }>;
  /** "photo 2 (cat.txt): That does not look like a photo..." */
  refused: string[];
}

export function photoLabel(index: number, name?: string): string {
  return name ? `photo ${index + 1} (${name})` : `photo ${index + 1}`;
}

/**
 * Teaching photos smaller than this on either side are refused, whatever
 * they show. Not measured: the face recognizers need a face of 24 pixels
 * (the registry's minFaceSize) with room around it, and the object features
 * look at 224 x 224, so a smaller photo is mostly made-up detail after
 * upscaling; a 1 x 1 pixel "photo" teaches only its colour.
 */
export const MIN_TEACHING_PHOTO_SIDE = 64;

/** A teaching photo, decoded and re-encoded as it will be kept. */
export interface TeachingPhoto {
  /** Position in the turn's images. */
  index: number;
  image: DecodedImage;
  caption: string | null;
  /** The photo as it is stored: JPEG without metadata. */
  jpeg: Uint8Array;
  /** sha256 of `jpeg`: the same pixels give the same photo, whatever file they came in. */
  sha256: string;
}

export interface TeachingPhotos {
  photos: TeachingPhoto[];
  /** "photo 2 (dot.png): it is only 1x1 pixels; ..." */
  refused: string[];
  /** "photo 3 (copy.jpg) is photo 1 (anna.jpg) again" */
  repeated: string[];
}

/**
 * The turn's photos fit to teach from: readable, large enough, and each
 * distinct photo once (a photo sent twice, or in two files with the same
 * pixels, counts once).
 */
export async function readTeachingPhotos(
  images: readonly IncomingImage[],
  limits: ImageLimits,
): Promise<TeachingPhotos> {
  const decoded = await decodeTurnPhotos(images, limits);
  const result: TeachingPhotos = { photos: [], refused: decoded.refused, repeated: [] };
  const label = (index: number) => photoLabel(index, images[index].name);
  for (const { index, image, caption } of decoded.decoded) {
    if (Math.min(image.width, image.height) < MIN_TEACHING_PHOTO_SIDE) {
      result.refused.push(
        `${label(index)}: it is only ${image.width}x${image.height} pixels; ` +
          `send a photo at least ${MIN_TEACHING_PHOTO_SIDE} pixels on each side.`,
      );
      continue;
    }
    const jpeg = await encodeJpeg(image);
    const sha256 = sha256Hex(jpeg);
    const first = result.photos.find((p) => p.sha256 === sha256);
    if (first) result.repeated.push(`${label(index)} is ${label(first.index)} again`);
    else result.photos.push({ index, image, caption, jpeg, sha256 });
  }
  return result;
}

/** Decodes every photo; a refused photo is reported, an internal failure is thrown. */
export async function decodeTurnPhotos(images: readonly IncomingImage[], limits: ImageLimits): Promise<TurnPhotos> {
  const result: TurnPhotos = { decoded: [], refused: [] };
  for (const [index, incoming] of images.entries()) {
    try {
      result.decoded.push({
        index,
        image: await decodeImage(incoming.bytes, limits),
        caption: incoming.caption?.trim() || null,
      });
    } catch (error) {
      if (!isUserError(error)) throw error;
      result.refused.push(`${photoLabel(index, incoming.name)}: ${error.message}`);
    }
  }
  return result;
}

/** The single photo a question is about; refuses a turn without a readable one. */
export async function decodeQuestionPhoto(
  images: readonly IncomingImage[],
  limits: ImageLimits,
  what: string,
): Promise<{ image: DecodedImage; note: string | null }> {
  if (images.length === 0) throw new UserError(`Please send a photo with ${what}, or reply to a photo with it.`);
  const photos = await decodeTurnPhotos(images.slice(0, 1), limits);
  if (photos.decoded.length === 0) throw new UserError(photos.refused[0].replace(/^photo 1( \([^)]*\))?: /, ''));
  const note = images.length > 1 ? `(I looked at the first of your ${images.length} photos.)` : null;
  return { image: photos.decoded[0].image, note };
}
