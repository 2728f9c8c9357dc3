// Background work in Telegram: a lesson learning a concept's embedding runs
// long after the `/teach` turn answered, so its progress goes to one status
// message in the concept's chat, sent after the turn's answer and edited in
// place as notices arrive, ending with the final sentence. A lesson started
// by a `/teach` turn answers that message (in its forum topic); a lesson
// resumed after a restart edits the message it had before the restart (kept
// in the status book), or writes to the chat without a reply.
import type { Api } from 'grammy';
import type { Notice } from '../../src/assistant/turn.ts';
import { interruptedText, pausedText, type StatusBook } from '../shared/status-book.ts';
import { StatusMessage, type StatusTarget } from './status.ts';

/** The chat id of a `telegram:chat:<id>` scope, or null for any other scope. */
export function chatOfScope(scope: string): number | null {
  const match = /^telegram:chat:(-?\d+)$/.exec(scope);
  return match ? Number(match[1]) : null;
}

export interface TelegramNoticesOptions {
  api: Api;
  intervalMs: number;
  firstDelayMs: number;
  /** Resolves when the turns of a chat queued so far have answered; a new status message waits for it. */
  afterTurns: (chatId: number) => Promise<void>;
  /** The lesson messages still open, kept across restarts. */
  book: StatusBook;
}

/** A lesson's status message and the sentence of its latest notice. */
interface OpenMessage {
  chatId: number;
  message: StatusMessage;
  text: string;
  messageId: number | null;
}

/** One status message per piece of background work, keyed by scope and notice key. */
export class TelegramNotices {
  private readonly messages = new Map<string, OpenMessage>();
  /** The `/teach` message being answered in each chat, while its turn runs. */
  private readonly teaching = new Map<number, StatusTarget>();

  /** Messages a previous run left open say at once that they were interrupted; a resumed lesson edits them on. */
  constructor(private readonly options: TelegramNoticesOptions) {
    for (const [id, open] of options.book.open) {
      const chatId = Number(open.place);
      const messageId = Number(open.messageId);
      const message = new StatusMessage(
        options.api,
        { chatId },
        {
          intervalMs: options.intervalMs,
          firstDelayMs: 0,
          posted: { messageId, text: open.text },
        },
      );
      message.update({ text: interruptedText(open.text) });
      this.messages.set(id, { chatId, message, text: open.text, messageId });
    }
  }

  /**
   * Marks a `/teach` turn as running in its chat, so a lesson it starts
   * answers its message; returns the function that ends the mark.
   */
  teachingIn(target: StatusTarget): () => void {
    this.teaching.set(target.chatId, target);
    return () => {
      if (this.teaching.get(target.chatId) === target) this.teaching.delete(target.chatId);
    };
  }

  /** Shows a notice; notices of scopes that are not Telegram chats are ignored. */
  show(notice: Notice): void {
    const chatId = chatOfScope(notice.scope);
    if (chatId === null) return;
    const id = `${notice.scope}\n${notice.key}`;
    const open = this.messages.get(id) ?? this.start(id, chatId);
    open.text = notice.text;
    open.message.update({ text: notice.text });
    if (notice.done) {
      // The message keeps its timers until the final text is shown; a later notice of the key starts a new one.
      this.messages.delete(id);
      this.options.book.delete(id);
    } else {
      this.record(id, open);
    }
  }

  /** At shutdown: open lesson messages say they are paused, and pending edits are sent. */
  async settle(): Promise<void> {
    for (const open of this.messages.values()) open.message.update({ text: pausedText(open.text) });
    await Promise.all([...this.messages.values()].map((m) => m.message.settle()));
    await this.options.book.flushed();
  }

  private start(id: string, chatId: number): OpenMessage {
    const message = new StatusMessage(this.options.api, this.teaching.get(chatId) ?? { chatId }, {
      intervalMs: this.options.intervalMs,
      firstDelayMs: this.options.firstDelayMs,
      after: this.options.afterTurns(chatId),
      onPosted: (messageId) => {
        open.messageId = messageId;
        if (this.messages.get(id) === open) this.record(id, open);
      },
    });
    // The message is posted later, after `open` exists.
    const open: OpenMessage = { chatId, message, text: '', messageId: null };
    this.messages.set(id, open);
    return open;
  }

  /** Keeps an open message in the book once it has an id, with the sentence to continue from. */
  private record(id: string, open: OpenMessage): void {
    if (open.messageId === null) return;
    this.options.book.set(id, { place: String(open.chatId), messageId: String(open.messageId), text: open.text });
  }
}
