// One message that shows the latest state of some work by being edited in
// place, the way every messenger shows progress. Messengers limit how fast a
// bot may edit, so edits are throttled and only the latest text is ever
// sent; intermediate states that came faster are skipped. The platform part
// (which API call posts, which edits) is a `MessageSink`; the pacing lives
// here once for Telegram and Discord alike. Status is best effort: a failed
// call is reported to `onError`, never thrown at the caller.

/** How a platform posts the message and edits it. */
export interface MessageSink {
  /** Posts the message with its first text. */
  send(text: string): Promise<void>;
  /** Replaces the text of the message `send` posted. */
  edit(text: string): Promise<void>;
  /** Deletes the message `send` posted. */
  remove(): Promise<void>;
}

export interface EditedMessageOptions {
  /** Minimum time between two edits. */
  intervalMs: number;
  /** The message is posted only once the work has taken this long; 0 posts at once. */
  firstDelayMs: number;
  /** The first post also waits for this (e.g. the answer of the turn that started the work), so it never overtakes it. */
  after?: Promise<unknown>;
  /** Called with every failed API call. */
  onError: (error: unknown) => void;
  /** The message is already posted and shows this text (one a previous run left open): updates edit it. */
  shown?: string;
}

export class EditedMessage {
  private posted = false;
  private posting = false;
  private removed = false;
  private shown: string | null = null;
  private latest: string | null = null;
  private lastEditAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private firstTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void>;

  constructor(
    private readonly sink: MessageSink,
    private readonly options: EditedMessageOptions,
  ) {
    this.chain = options.after ? options.after.then(noop, noop) : Promise.resolve();
    if (options.shown !== undefined) {
      this.posted = true;
      this.shown = options.shown;
    }
  }

  /** Whether the message has been posted. */
  get isPosted(): boolean {
    return this.posted;
  }

  /** Shows `text`; returns at once (the network work runs behind). */
  update(text: string): void {
    if (this.removed) return;
    this.latest = text;
    if (this.posted) return this.schedule();
    if (this.firstTimer || this.posting) return;
    this.firstTimer = setTimeout(() => {
      this.firstTimer = null;
      this.posting = true;
      this.enqueue(() => this.post());
    }, this.options.firstDelayMs);
  }

  /** Waits for work already under way: a message not yet posted is dropped, a pending edit is sent now. */
  async settle(): Promise<void> {
    if (this.stopTimers().editPending) this.enqueue(() => this.edit());
    await this.chain;
  }

  /**
   * Ends the message when the work's answer says it all (a turn's status
   * once the turn answered): one not yet posted never will be, a posted one
   * is deleted, so no "working on it" stays behind.
   */
  async remove(): Promise<void> {
    this.stopTimers();
    this.latest = null;
    this.removed = true;
    this.enqueue(async () => {
      if (!this.posted) return;
      this.posted = false;
      await this.sink.remove();
    });
    await this.chain;
  }

  /** Cancels the first post and any pending edit; says whether an edit was pending. */
  private stopTimers(): { editPending: boolean } {
    if (this.firstTimer) {
      clearTimeout(this.firstTimer);
      this.firstTimer = null;
    }
    const editPending = this.timer !== null;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return { editPending };
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastEditAt + this.options.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue(() => this.edit());
    }, wait);
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => this.options.onError(error));
  }

  private async post(): Promise<void> {
    // Removed before its first post: nothing to show.
    if (this.latest === null) return;
    const text = this.latest;
    await this.sink.send(text);
    this.shown = text;
    this.posted = true;
    this.lastEditAt = Date.now();
    if (this.latest !== this.shown) this.schedule();
  }

  private async edit(): Promise<void> {
    if (!this.posted || this.latest === null || this.latest === this.shown) return;
    const text = this.latest;
    this.lastEditAt = Date.now();
    await this.sink.edit(text);
    this.shown = text;
  }
}

function noop(): void {}
