// The response to one deferred interaction: "MyVLM is thinking…" becomes the
// latest status while the work runs (edits throttled to Discord's pace), and
// then the answer, with images as attachments. Text past Discord's 2000
// characters continues in follow-up messages. The answer is the response's
// final state: status that comes after it is dropped (background lessons
// report through notices.ts), so no status ever overwrites an answer.
import { formatStatus, splitText } from '../shared/text.ts';
import { AttachmentBuilder, type RepliableInteraction } from 'discord.js';
import type { Reply, StatusUpdate } from '../../src/assistant/turn.ts';
import { fitImage, type ImageFit } from '../../src/image/encode.ts';
import { moduleLogger } from '../../src/log.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('discord');

/** Minimum time between two edits of the response (Discord allows about 5 edits per 5 s per webhook). */
export const PROGRESS_EDIT_INTERVAL_MS = 1_500;

/** Discord's limit on a message's content. */
export const DISCORD_MESSAGE_LIMIT = 2000;

/**
 * Discord's upload limit for a server without boosts: 10 MB since 2024, 8 MiB before (and on
 * older self-hosted proxies), so the older one. Discord has no size limit in pixels; its
 * viewer shows nothing larger than 4096 px, so more would be bytes for nothing.
 */
export const DISCORD_ATTACHMENT_FIT: ImageFit = { maxBytes: 8 * 1024 * 1024, maxSide: 4096 };

export class ProgressReply {
  private latest: string | null = null;
  private shown: string | null = null;
  private lastEditAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private answered = false;

  constructor(
    private readonly interaction: RepliableInteraction,
    private readonly intervalMs: number = PROGRESS_EDIT_INTERVAL_MS,
  ) {}

  /** Shows `update`; returns at once (the network work runs behind). */
  update(update: StatusUpdate): void {
    if (this.answered) return;
    this.latest = formatStatus(update);
    if (this.timer) return;
    const wait = Math.max(0, this.lastEditAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue(() => this.showLatest());
    }, wait);
  }

  /** Replaces the response with the answer; long text continues in follow-ups. */
  async finish(reply: Reply): Promise<void> {
    this.answered = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.chain;
    const [first = '…', ...rest] = splitText(reply.text, DISCORD_MESSAGE_LIMIT);
    const images = await Promise.all(reply.images.map((image) => fitImage(image, DISCORD_ATTACHMENT_FIT)));
    const files = images.map((image) => new AttachmentBuilder(Buffer.from(image.bytes), { name: image.name }));
    await this.interaction.editReply({ content: first, files });
    for (const part of rest) await this.interaction.followUp({ content: part });
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain
      .then(step)
      .catch((error: unknown) =>
        logger.warn({ err: loggable(error), interaction: this.interaction.id }, 'progress update failed'),
      );
  }

  private async showLatest(): Promise<void> {
    const text = this.latest;
    if (text === null || text === this.shown) return;
    this.lastEditAt = Date.now();
    await this.interaction.editReply({ content: text });
    this.shown = text;
  }
}
