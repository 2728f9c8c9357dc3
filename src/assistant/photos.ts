// Photos of a turn, decoded once, with the refused ones explained per photo.
import { decodeImage, type DecodedImage, type ImageLimits } from '../image/decode.ts';
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
