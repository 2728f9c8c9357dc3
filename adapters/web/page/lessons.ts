// Background lessons as lines: every notice of a lesson (one key) updates
// the same line, until the one that says it is done; a later notice of that
// key starts a new line, as a messenger would post a new status message.
import type { LessonNotice } from './contract.ts';

export interface LessonLine {
  /** Stable while the line is open; a new lesson of the same key gets a new id. */
  id: string;
  text: string;
  /** Steps done and planned, while the lesson counts them. */
  step: { at: number; of: number } | null;
  done: boolean;
  /** The first notice of this line: the page adds a line instead of updating one. */
  isNew: boolean;
}

export class LessonBoard {
  private readonly open = new Map<string, string>();
  private lines = 0;

  /** The line this notice shows on. */
  apply(notice: LessonNotice): LessonLine {
    let id = this.open.get(notice.key);
    const isNew = id === undefined;
    if (id === undefined) {
      this.lines += 1;
      id = `lesson-${this.lines}`;
      this.open.set(notice.key, id);
    }
    if (notice.done) this.open.delete(notice.key);
    const step =
      notice.step && notice.step.of > 0 ? { at: Math.min(notice.step.at, notice.step.of), of: notice.step.of } : null;
    return { id, text: notice.text, step: notice.done ? null : step, done: notice.done, isNew };
  }
}
