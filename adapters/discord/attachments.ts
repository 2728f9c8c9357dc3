// Photos of a Discord interaction: the attachment options of a slash command,
// or the image attachments of the message a context-menu command was used
// on. Bytes come from the attachment's CDN URL, with a size cap checked
// before downloading.
import type { Attachment } from 'discord.js';
import type { IncomingImage } from '../../src/assistant/turn.ts';
import { UserError } from '../../src/errors.ts';

/** Give up on a download that has not finished in this time. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

const IMAGE_FILE_NAME = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|bmp)$/i;

/** Whether an attachment claims to be an image (by MIME type or file name). */
export function looksLikeImage(attachment: Attachment): boolean {
  return attachment.contentType?.startsWith('image/') === true || IMAGE_FILE_NAME.test(attachment.name);
}

/** Downloads attachments in order; a file over `maxBytes` is refused with a message that says the limit. */
export async function downloadAttachments(
  attachments: readonly Attachment[],
  maxBytes: number,
): Promise<IncomingImage[]> {
  const images: IncomingImage[] = [];
  for (const attachment of attachments) {
    if (attachment.size > maxBytes) {
      throw new UserError(
        `${attachment.name} is ${megabytes(attachment.size)} MB; I take photos up to ${megabytes(maxBytes)} MB.`,
      );
    }
    const response = await fetch(attachment.url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!response.ok)
      throw new UserError(
        `I could not download ${attachment.name} from Discord (HTTP ${response.status}); please try again.`,
      );
    images.push({ bytes: new Uint8Array(await response.arrayBuffer()), name: attachment.name });
  }
  return images;
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
}
