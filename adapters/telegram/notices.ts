// Background work in Telegram: a lesson learning a concept's embedding runs
// long after the `/teach` turn answered, so its progress goes to one status
// message in the concept's chat, sent after the turn's answer and edited in
// place as notices arrive, ending with the final sentence. A lesson started
// by a `/teach` turn answers that message (in its forum topic); a lesson
// resumed after a restart writes to the chat without a reply.
import type { Api } from 'grammy';
import type { Notice } from '../../src/assistant/turn.ts';
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
}

/** One status message per piece of background work, keyed by scope and notice key. */
export class TelegramNotices {
  private readonly messages = new Map<string, StatusMessage>();
  /** The `/teach` message being answered in each chat, while its turn runs. */
  private readonly teaching = new Map<number, StatusTarget>();

  constructor(private readonly options: TelegramNoticesOptions) {}

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
    let message = this.messages.get(id);
    if (!message) {
      message = new StatusMessage(this.options.api, this.teaching.get(chatId) ?? { chatId }, {
        intervalMs: this.options.intervalMs,
        firstDelayMs: this.options.firstDelayMs,
        after: this.options.afterTurns(chatId),
      });
      this.messages.set(id, message);
    }
    message.update({ text: notice.text });
    // The message keeps its timers until the final text is shown; a later notice of the key starts a new one.
    if (notice.done) this.messages.delete(id);
  }

  /** Sends the pending edits of the messages already shown (at shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.messages.values()].map((m) => m.settle()));
  }
}
