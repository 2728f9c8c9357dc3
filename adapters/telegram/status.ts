// The "working on it" message of a turn: sent silently once the work has
// taken long enough to be worth a message (quick answers come without one),
// then edited in place. Edits are throttled (Telegram allows about
// one message per second per chat, 20 per minute in groups) and only the
// latest text is shown; status is best effort, so failures are logged, never
// thrown into the turn.
import { formatStatus } from '../shared/text.ts';
import type { Api } from 'grammy';
import type { StatusUpdate } from '../../src/assistant/turn.ts';
import { moduleLogger } from '../../src/log.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('telegram');

/** Minimum time between two edits of one status message. */
export const STATUS_EDIT_INTERVAL_MS = 2_000;

/** A turn still working after this long gets a status message; quicker turns answer without one. */
export const STATUS_FIRST_DELAY_MS = 1_000;

export interface StatusTarget {
  chatId: number;
  /** The user's message the status answers. */
  replyTo: number;
  /** Forum topic of the conversation, if any. */
  threadId?: number;
}

/** One status message per turn, edited as the work progresses. */
export class StatusMessage {
  private messageId: number | null = null;
  private shown: string | null = null;
  private latest: string | null = null;
  private lastEditAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private firstTimer: NodeJS.Timeout | null = null;
  private sending = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: Api,
    private readonly target: StatusTarget,
    private readonly intervalMs: number = STATUS_EDIT_INTERVAL_MS,
    private readonly firstDelayMs: number = STATUS_FIRST_DELAY_MS,
  ) {}

  /** Shows `update`; returns at once (the network work runs behind). */
  update(update: StatusUpdate): void {
    this.latest = formatStatus(update);
    if (this.messageId !== null) return this.schedule();
    if (this.firstTimer || this.sending) return;
    this.firstTimer = setTimeout(() => {
      this.firstTimer = null;
      this.sending = true;
      this.enqueue(() => this.send());
    }, this.firstDelayMs);
  }

  /** Waits for status work already under way; a status not yet shown is dropped, a pending edit is sent now. */
  async settle(): Promise<void> {
    if (this.firstTimer) {
      clearTimeout(this.firstTimer);
      this.firstTimer = null;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.enqueue(() => this.edit());
    }
    await this.chain;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastEditAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue(() => this.edit());
    }, wait);
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => logger.warn({ err: loggable(error), chat: this.target.chatId }, 'status message update failed'));
  }

  private async send(): Promise<void> {
    this.shown = this.latest ?? '…';
    const sent = await this.api.sendMessage(this.target.chatId, this.shown, {
      disable_notification: true,
      reply_parameters: { message_id: this.target.replyTo, allow_sending_without_reply: true },
      ...(this.target.threadId !== undefined ? { message_thread_id: this.target.threadId } : {}),
    });
    this.messageId = sent.message_id;
    this.lastEditAt = Date.now();
    if (this.latest !== this.shown) this.schedule();
  }

  private async edit(): Promise<void> {
    if (this.messageId === null || this.latest === null || this.latest === this.shown) return;
    const text = this.latest;
    this.lastEditAt = Date.now();
    await this.api.editMessageText(this.target.chatId, this.messageId, text);
    this.shown = text;
  }
}

