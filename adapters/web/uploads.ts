// A message from the page: its text and photos (multipart/form-data), held to
// the limits every photo has (MYVLM_MAX_IMAGE_BYTES each) and to at most 10
// photos a message. A message over a limit is refused whole, before the core
// sees it, so nothing of it is stored.
import { UserError } from '../../src/errors.ts';
import type { IncomingImage } from '../../src/assistant/turn.ts';

/** Photos one message may carry: more than a lesson takes (4), few enough to keep one request small. */
export const MAX_PHOTOS_PER_MESSAGE = 10;

/** Room for the text and the form's own headers, beside the photos. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/** Characters of a file name kept for messages ("photo 2 (IMG_0042.jpg)"). */
const NAME_MAX_LENGTH = 80;

/** The largest body POST /api/turn reads: every photo at its limit, and the rest of the form. */
export function maxTurnBytes(maxImageBytes: number): number {
  return MAX_PHOTOS_PER_MESSAGE * maxImageBytes + FORM_OVERHEAD_BYTES;
}

/** An upload refused for its size (HTTP 413) or its shape (400); the message is written for the chat. */
export class UploadRefused extends UserError {
  override readonly name = 'UploadRefused';
  constructor(
    message: string,
    readonly status: 400 | 413,
  ) {
    super(message);
  }
}

export function tooLarge(maxImageBytes: number): UploadRefused {
  return new UploadRefused(
    `That message is too large: send at most ${MAX_PHOTOS_PER_MESSAGE} photos of up to ${megabytes(maxImageBytes)} each. Nothing was kept.`,
    413,
  );
}

export interface TurnUpload {
  text: string;
  images: IncomingImage[];
}

/** Reads the form of POST /api/turn; throws UploadRefused for anything over a limit or not a form. */
export async function readTurnUpload(request: Request, maxImageBytes: number): Promise<TurnUpload> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch (error) {
    throw new UploadRefused(
      `That message could not be read (${(error as Error).message}); send it from the page.`,
      400,
    );
  }
  const text = form.get('text') ?? '';
  if (typeof text !== 'string') throw new UploadRefused('The text of a message must be text, not a file.', 400);
  const photos = form.getAll('photos');
  if (photos.some((p) => typeof p === 'string')) throw new UploadRefused('Photos must be sent as files.', 400);
  const files = photos as File[];
  if (files.length > MAX_PHOTOS_PER_MESSAGE) {
    throw new UploadRefused(
      `That is ${files.length} photos; send at most ${MAX_PHOTOS_PER_MESSAGE} in one message. Nothing was kept.`,
      400,
    );
  }
  const large = files.findIndex((file) => file.size > maxImageBytes);
  if (large >= 0) {
    const file = files[large];
    throw new UploadRefused(
      `Photo ${large + 1} (${displayName(file.name, large)}) is ${megabytes(file.size)}; photos may be up to ${megabytes(maxImageBytes)}. Nothing was kept.`,
      413,
    );
  }
  const images = await Promise.all(
    files.map(async (file, i) => ({
      bytes: new Uint8Array(await file.arrayBuffer()),
      name: displayName(file.name, i),
    })),
  );
  return { text, images };
}

/**
 * A file name as display text only: the last part of any path ("../../etc/x.jpg"
 * shows as "x.jpg"), without control characters, and short. Nothing is ever
 * written under a name a browser sent.
 */
export function displayName(name: string, index: number): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const shown = clean === '' || clean === '.' || clean === '..' ? `photo-${index + 1}` : clean;
  return shown.length > NAME_MAX_LENGTH ? `${shown.slice(0, NAME_MAX_LENGTH - 1)}…` : shown;
}

function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}
