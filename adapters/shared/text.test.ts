import { describe, expect, it } from 'vitest';
import { formatStatus, splitText } from './text.ts';

describe('splitText', () => {
  it('cuts at line breaks or spaces, never past the limit, and keeps every word', () => {
    const text = ['first line', 'x'.repeat(15), 'last words here'].join('\n');
    const parts = splitText(text, 20);
    expect(parts.every((p) => p.length <= 20)).toBe(true);
    expect(parts).toEqual(['first line', 'x'.repeat(15), 'last words here']);
    expect(splitText('y'.repeat(45), 20)).toEqual(['y'.repeat(20), 'y'.repeat(20), 'y'.repeat(5)]);
    expect(splitText('  ', 20)).toEqual([]);
  });
});

describe('formatStatus', () => {
  it('adds a clamped percentage when the work knows its progress', () => {
    expect(formatStatus({ text: 'Learning Anna', progress: 0.404 })).toBe('Learning Anna (40%)');
    expect(formatStatus({ text: 'Learning Anna', progress: 1.7 })).toBe('Learning Anna (100%)');
    expect(formatStatus({ text: 'Looking…' })).toBe('Looking…');
  });
});
