// Sends the core's Reply to a Telegram chat: text in messages of at most
// 4096 characters, images with sendPhoto (the text as the first photo's
// caption when it fits Telegram's 1024-character caption limit). Every part
// replies to the user's message, so answers stay threaded in busy groups.
import { splitText } from '../shared/text.ts';
import { InputFile, type Api } from 'grammy';
import type { Reply } from '../../src/assistant/turn.ts';
import { fitImage, type ImageFit } from '../../src/image/encode.ts';
import { replyOptions, type StatusTarget } from './status.ts';

/** Telegram's limits on a message text and on a photo caption. */
export const MESSAGE_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

/** Telegram's limits on a photo: 10 MB, and width plus height at most 10000 (kept under by a long side of 5000). */
export const TELEGRAM_PHOTO_FIT: ImageFit = { maxBytes: 10 * 1000 * 1000, maxSide: 5000 };

/** Sends `reply` as answers to the user's message. */
export async function sendReply(api: Api, target: StatusTarget, reply: Reply): Promise<void> {
  const common = replyOptions(target);
  const text = reply.text.trim();
  const captionFits = reply.images.length > 0 && text.length <= CAPTION_LIMIT;
  if (!captionFits) {
    for (const part of splitText(text, MESSAGE_LIMIT)) await api.sendMessage(target.chatId, part, common);
  }
  for (const [index, replyImage] of reply.images.entries()) {
    const image = await fitImage(replyImage, TELEGRAM_PHOTO_FIT);
    const caption = captionFits && index === 0 && text ? { caption: text } : {};
    await api.sendPhoto(target.chatId, new InputFile(image.bytes, image.name), { ...common, ...caption });
  }
}
