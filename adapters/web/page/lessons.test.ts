import { describe, expect, it } from 'vitest';
import { LessonBoard } from './lessons.ts';

describe('lesson lines', () => {
  it('shows every notice of one lesson on one line, which the last notice closes', () => {
    const board = new LessonBoard();
    const first = board.apply({
      key: 'job-rex',
      text: 'Learning Rex: step 1 of 100',
      step: { at: 1, of: 100 },
      done: false,
    });
    const later = board.apply({
      key: 'job-rex',
      text: 'Learning Rex: step 50 of 100',
      step: { at: 50, of: 100 },
      done: false,
    });
    const last = board.apply({ key: 'job-rex', text: 'Learned how to talk about Rex.', done: true });
    expect(first).toEqual({
      id: 'lesson-1',
      text: 'Learning Rex: step 1 of 100',
      step: { at: 1, of: 100 },
      done: false,
      isNew: true,
    });
    expect(later).toMatchObject({ id: 'lesson-1', step: { at: 50, of: 100 }, isNew: false });
    expect(last).toEqual({
      id: 'lesson-1',
      text: 'Learned how to talk about Rex.',
      step: null,
      done: true,
      isNew: false,
    });
  });

  it('gives lessons of other keys their own lines, and a later lesson of a closed key a new one', () => {
    const board = new LessonBoard();
    expect(board.apply({ key: 'a', text: 'A', done: false }).id).toBe('lesson-1');
    expect(board.apply({ key: 'b', text: 'B', done: false }).id).toBe('lesson-2');
    expect(board.apply({ key: 'a', text: 'A done', done: true }).id).toBe('lesson-1');
    expect(board.apply({ key: 'a', text: 'A again', done: false })).toMatchObject({ id: 'lesson-3', isNew: true });
  });

  it('keeps a progress bar within its range, and drops one with no steps', () => {
    const board = new LessonBoard();
    expect(board.apply({ key: 'a', text: 'x', step: { at: 120, of: 100 }, done: false }).step).toEqual({
      at: 100,
      of: 100,
    });
    expect(board.apply({ key: 'a', text: 'x', step: { at: 0, of: 0 }, done: false }).step).toBeNull();
  });
});
