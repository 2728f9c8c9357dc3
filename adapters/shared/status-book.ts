// The lesson status messages a messenger has open, kept in a small JSON file
// in the data folder. A lesson outlives the process: after a restart it
// resumes, and without this book its old message would say "step 33 of 100"
// forever while a new one counts on. With it, the adapter finds the message
// again, says it was interrupted, and edits it on as the lesson resumes.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { moduleLogger } from '../../src/log.ts';

const logger = moduleLogger('adapters');

/** An open status message: where it is (a chat or channel id), its id, and the text it shows. */
export interface OpenStatus {
  place: string;
  messageId: string;
  text: string;
}

/** The line an open status message shows after a restart, until its lesson reports again. */
export function interruptedText(text: string): string {
  return `${text}\n(Interrupted by a restart; this message goes on when the lesson does.)`;
}

/** The line an open status message shows while the assistant stops. */
export function pausedText(text: string): string {
  return `${text}\n(Paused: I am restarting, and will go on when I am back.)`;
}

export class StatusBook {
  private writing: Promise<void> = Promise.resolve();
  /** A write is queued: it will write the entries as they are then, so another is not needed. */
  private queued = false;

  private constructor(
    private readonly file: string | null,
    private readonly entries: Map<string, OpenStatus>,
  ) {}

  /** Reads the book from `file` (none yet: empty); null keeps it in memory only (tests, one-off runs). */
  static async open(file: string | null): Promise<StatusBook> {
    if (!file) return new StatusBook(null, new Map());
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, OpenStatus>;
      return new StatusBook(file, new Map(Object.entries(saved)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        logger.warn({ err: error, file }, 'unreadable status book; old status messages stay as they are');
      return new StatusBook(file, new Map());
    }
  }

  /** The messages open when the book was read or since, by key. */
  get open(): ReadonlyMap<string, OpenStatus> {
    return this.entries;
  }

  set(key: string, status: OpenStatus): void {
    this.entries.set(key, status);
    this.save();
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.save();
  }

  /** Waits for the writes under way. */
  flushed(): Promise<void> {
    return this.writing;
  }

  private save(): void {
    const file = this.file;
    if (!file || this.queued) return;
    this.queued = true;
    // Written whole to a side file and renamed over, so a crash never leaves half a book.
    this.writing = this.writing
      .then(async () => {
        this.queued = false;
        const json = JSON.stringify(Object.fromEntries(this.entries));
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(`${file}.tmp`, json, { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      })
      .catch((error: unknown) => logger.warn({ err: error, file }, 'could not write the status book'));
  }
}
