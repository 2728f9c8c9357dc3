// The "working on it" message of a turn, and the status message of a
// background lesson: sent silently once the work has taken long enough to be
// worth a message (quick answers come without one), then edited in place. A
// turn's message is deleted once the answer is there; a lesson's ends with
// its final sentence.
// Edits are throttled (Telegram allows about one message per second per
// chat, 20 per minute in groups) and only the latest text is shown; status
// is best effort, so failures are logged, never thrown into the turn.
import type { Api } from 'grammy';
import type { StatusUpdate } from '../../src/assistant/turn.ts';
import { moduleLogger } from '../../src/log.ts';
import { EditedMessage } from '../shared/edited-message.ts';
import { formatStatus } from '../shared/text.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('telegram');

/** Minimum time between two edits of one status message. */
export const STATUS_EDIT_INTERVAL_MS = 2_000;

/** A turn still working after this long gets a status message; quicker turns answer without one. */
export const STATUS_FIRST_DELAY_MS = 1_000;

/** Where a message goes: a chat, the message it answers, the forum topic. */
export interface StatusTarget {
  chatId: number;
  /** The user's message the status answers; none for a lesson resumed after a restart. */
  replyTo?: number;
  /** Forum topic of the conversation, if any. */
  threadId?: number;
}

export interface StatusMessageOptions {
  /** Default STATUS_EDIT_INTERVAL_MS. */
  intervalMs?: number;
  /** Default STATUS_FIRST_DELAY_MS. */
  firstDelayMs?: number;
  /** The message is not sent before this settles (the answer of the turn that started the work). */
  after?: Promise<unknown>;
  /** The message exists already (one a previous run left open): updates edit it. */
  posted?: { messageId: number; text: string };
  /** Told the message's id once it is posted. */
  onPosted?: (messageId: number) => void;
}

/** The send options Telegram needs to answer `target` (reply and topic). */
export function replyOptions(target: StatusTarget): {
  reply_parameters?: { message_id: number; allow_sending_without_reply: true };
  message_thread_id?: number;
} {
  return {
    ...(target.replyTo !== undefined
      ? { reply_parameters: { message_id: target.replyTo, allow_sending_without_reply: true } }
      : {}),
    ...(target.threadId !== undefined ? { message_thread_id: target.threadId } : {}),
  };
}

/** One status message, edited as the work progresses. */
export class StatusMessage {
  private readonly message: EditedMessage;
  private messageId: number | null;

  constructor(
    private readonly api: Api,
    private readonly target: StatusTarget,
    options: StatusMessageOptions = {},
  ) {
    this.messageId = options.posted?.messageId ?? null;
    this.message = new EditedMessage(
      {
        send: async (text) => {
          const sent = await this.api.sendMessage(this.target.chatId, text, {
            disable_notification: true,
            ...replyOptions(this.target),
          });
          this.messageId = sent.message_id;
          options.onPosted?.(sent.message_id);
        },
        edit: async (text) => {
          if (this.messageId !== null) await this.api.editMessageText(this.target.chatId, this.messageId, text);
        },
        remove: async () => {
          if (this.messageId !== null) await this.api.deleteMessage(this.target.chatId, this.messageId);
        },
      },
      {
        intervalMs: options.intervalMs ?? STATUS_EDIT_INTERVAL_MS,
        firstDelayMs: options.firstDelayMs ?? STATUS_FIRST_DELAY_MS,
        after: options.after,
        shown: options.posted?.text,
        onError: (error) =>
          logger.warn({ err: loggable(error), chat: this.target.chatId }, 'status message update failed'),
      },
    );
  }

  /** Shows `update`; returns at once (the network work runs behind). */
  update(update: StatusUpdate): void {
    this.message.update(formatStatus(update));
  }

  /** Waits for status work already under way; a status not yet shown is dropped, a pending edit is sent now. */
  settle(): Promise<void> {
    return this.message.settle();
  }

  /** Deletes the message (or never sends it): the answer has come and says it all. */
  remove(): Promise<void> {
    return this.message.remove();
  }
}
