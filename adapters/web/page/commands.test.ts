import { describe, expect, it } from 'vitest';
import { COMMAND_BUTTONS, newTurnId, withCommand } from './commands.ts';

describe('the command buttons', () => {
  it('offer teach, ask, caption and refer', () => {
    expect(COMMAND_BUTTONS.map((b) => b.command)).toEqual(['teach', 'ask', 'caption', 'refer']);
  });

  it('put their command in front of what was typed, replacing another command', () => {
    expect(withCommand('', 'teach')).toBe('/teach ');
    expect(withCommand('Anna', 'teach')).toBe('/teach Anna');
    expect(withCommand('/ask what is Rex holding?', 'refer')).toBe('/refer what is Rex holding?');
    expect(withCommand('  /caption  ', 'ask')).toBe('/ask ');
    expect(withCommand('/teach@my_bot Anna person', 'teach')).toBe('/teach Anna person');
  });

  it('give every turn a fresh id', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newTurnId()));
    expect(ids.size).toBe(100);
    expect([...ids][0]).toMatch(/^[0-9a-f]{24}$/);
  });
});
