// Photos of Telegram messages, fetched through the Bot API file endpoint:
// getFile gives a path, the bytes come from `<api root>/file/bot<token>/<path>`.
// A compressed photo arrives in several sizes (the largest is the one to
// use); a photo sent "as a file" is a document with an image MIME type.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GrammyError, type Api } from 'grammy';
import type { Message } from 'grammy/types';
import type { IncomingImage } from '../../src/assistant/turn.ts';
import { UserError } from '../../src/errors.ts';

/** The Bot API lets bots download files up to 20 MB (core.telegram.org/bots/api#getfile). */
export const TELEGRAM_DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024;

/** Give up on a download that has not finished in this time. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

const IMAGE_FILE_NAME = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|bmp)$/i;

export interface TelegramImageFile {
  fileId: string;
  /** Shown in messages about a refused photo. */
  name: string;
  size: number | null;
  caption?: string;
}

/** The image a message carries: its largest photo size, or an image document; null if none. */
export function imageFileOf(message: Message): TelegramImageFile | null {
  const caption = message.caption?.trim() || undefined;
  if (message.photo && message.photo.length > 0) {
    const largest = [...message.photo].sort((a, b) => b.width * b.height - a.width * a.height)[0];
    return {
      fileId: largest.file_id,
      name: `photo ${largest.file_unique_id}`,
      size: largest.file_size ?? null,
      caption,
    };
  }
  const document = message.document;
  if (document && (document.mime_type?.startsWith('image/') || IMAGE_FILE_NAME.test(document.file_name ?? ''))) {
    return {
      fileId: document.file_id,
      name: document.file_name ?? 'document',
      size: document.file_size ?? null,
      caption,
    };
  }
  return null;
}

export interface FileEndpoint {
  /** Bot API root without a trailing slash, e.g. https://api.telegram.org. */
  apiRoot: string;
  token: string;
}

/** Downloads one image; a file the Bot API cannot hand out becomes a UserError that says why. */
export async function downloadImage(api: Api, endpoint: FileEndpoint, file: TelegramImageFile): Promise<IncomingImage> {
  if (file.size !== null && file.size > TELEGRAM_DOWNLOAD_LIMIT_BYTES) throw tooBig(file.name);
  let filePath: string | undefined;
  try {
    filePath = (await api.getFile(file.fileId)).file_path;
  } catch (error) {
    if (error instanceof GrammyError && /too big/i.test(error.description)) throw tooBig(file.name);
    throw error;
  }
  if (!filePath) throw new UserError(`Telegram did not let me download ${file.name}; please send it again.`);
  const bytes = await fetchFile(endpoint, filePath);
  return { bytes, name: file.name, ...(file.caption ? { caption: file.caption } : {}) };
}

async function fetchFile(endpoint: FileEndpoint, filePath: string): Promise<Uint8Array> {
  // A local Bot API server started with --local answers with an absolute path on its own disk.
  if (path.isAbsolute(filePath)) return new Uint8Array(await readFile(filePath));
  const url = `${endpoint.apiRoot}/file/bot${endpoint.token}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  // The URL holds the token, so errors name only the status.
  if (!response.ok) throw new Error(`Telegram file download failed with HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function tooBig(name: string): UserError {
  return new UserError(
    `${name} is larger than the 20 MB Telegram lets bots download; please send it as a photo or a smaller file.`,
  );
}
