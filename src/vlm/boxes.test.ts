import { describe, expect, it } from 'vitest';
import { formatBox, parseBox } from './boxes.ts';

describe('parseBox, MiniGPT-v2 {<x0><y0><x1><y1>} on a 0-100 grid', () => {
  it('reads the answers MiniGPT-v2 gives to [refer] prompts', () => {
    expect(parseBox('{<12><30><58><91>}', 'minigpt-v2')).toEqual({
      ok: true,
      box: { x0: 0.12, y0: 0.3, x1: 0.58, y1: 0.91 },
      syntax: 'minigpt-v2',
      match: '{<12><30><58><91>}',
    });
    // Grounded phrases wrap the box in <p>...</p>; a tokenizer may decode spaces between the pieces.
    const grounded = parseBox('<p>sks</p> {<0><4><100><96>}', 'minigpt-v2');
    expect(grounded.ok && grounded.box).toEqual({ x0: 0, y0: 0.04, x1: 1, y1: 0.96 });
    const spaced = parseBox('{ < 12 > < 30 > < 58 > < 91 > }', 'minigpt-v2');
    expect(spaced.ok && spaced.box).toEqual({ x0: 0.12, y0: 0.3, x1: 0.58, y1: 0.91 });
  });

  it('takes the first usable box when the answer has several', () => {
    const two = parseBox('{<10><10><20><20>}<delim>{<50><50><90><90>}', 'minigpt-v2');
    expect(two.ok && two.box).toEqual({ x0: 0.1, y0: 0.1, x1: 0.2, y1: 0.2 });
    const firstBroken = parseBox('{<10><10><20>} then {<50><50><90><90>}', 'minigpt-v2');
    expect(firstBroken.ok && firstBroken.box).toEqual({ x0: 0.5, y0: 0.5, x1: 0.9, y1: 0.9 });
  });

  it('turns malformed answers into reasons, never throws', () => {
    expect(parseBox('A brown dog sitting on a sofa.', 'minigpt-v2')).toEqual({
      ok: false,
      reason: 'there is no box in it',
    });
    expect(parseBox('{<12><30><58>}', 'minigpt-v2')).toEqual({
      ok: false,
      reason: 'its box has 3 numbers instead of 4',
    });
    expect(parseBox('{<12><30><58><91><7>}', 'minigpt-v2')).toEqual({
      ok: false,
      reason: 'its box has 5 numbers instead of 4',
    });
    expect(parseBox('{<12><dog><58><91>}', 'minigpt-v2')).toEqual({
      ok: false,
      reason: 'its box has 3 numbers instead of 4',
    });
    expect(parseBox('{<12><30><158><91>}', 'minigpt-v2')).toEqual({
      ok: false,
      reason: 'a coordinate (158) is outside the 0-100 grid',
    });
    expect(parseBox('{<-3><30><58><91>}', 'minigpt-v2')).toEqual({
      ok: false,
      reason: 'a coordinate (-3) is outside the 0-100 grid',
    });
    expect(parseBox('{<40><30><40><91>}', 'minigpt-v2')).toEqual({ ok: false, reason: 'its box has no area' });
    expect(parseBox('', 'minigpt-v2')).toEqual({ ok: false, reason: 'there is no box in it' });
    expect(parseBox('{<<<>>>}{}{<', 'minigpt-v2').ok).toBe(false);
  });

  it('orders corners given the other way round', () => {
    const swapped = parseBox('{<58><91><12><30>}', 'minigpt-v2');
    expect(swapped.ok && swapped.box).toEqual({ x0: 0.12, y0: 0.3, x1: 0.58, y1: 0.91 });
  });
});

describe('parseBox, Qwen2-VL <|box_start|>(x1,y1),(x2,y2)<|box_end|> on a 0-1000 grid', () => {
  it('reads marked boxes, with or without the object reference around them', () => {
    const answer = '<|object_ref_start|>sks<|object_ref_end|><|box_start|>(120,305),(577,912)<|box_end|>';
    expect(parseBox(answer, 'qwen2-vl')).toEqual({
      ok: true,
      box: { x0: 0.12, y0: 0.305, x1: 0.577, y1: 0.912 },
      syntax: 'qwen2-vl',
      match: '<|box_start|>(120,305),(577,912)<|box_end|>',
    });
    // With special tokens decoded away only the coordinates remain.
    const bare = parseBox('sks(120,305),(577,912)', 'qwen2-vl');
    expect(bare.ok && bare.box).toEqual({ x0: 0.12, y0: 0.305, x1: 0.577, y1: 0.912 });
  });

  it('refuses three numbers, out-of-range values and answers without a box', () => {
    expect(parseBox('<|box_start|>(120,305),(577)<|box_end|>', 'qwen2-vl')).toEqual({
      ok: false,
      reason: 'its box has 3 numbers instead of 4',
    });
    expect(parseBox('(120,305),(577)', 'qwen2-vl')).toEqual({
      ok: false,
      reason: 'its box has 3 numbers instead of 4',
    });
    expect(parseBox('<|box_start|>(120,305),(1577,912)<|box_end|>', 'qwen2-vl')).toEqual({
      ok: false,
      reason: 'a coordinate (1577) is outside the 0-1000 grid',
    });
    expect(parseBox('The dog is on the left.', 'qwen2-vl')).toEqual({ ok: false, reason: 'there is no box in it' });
  });
});

describe('parseBox, LLaVA [x0, y0, x1, y1] fractions', () => {
  it('reads LLaVA-1.5 REC answers', () => {
    expect(parseBox('[0.12, 0.3, 0.58, 0.91]', 'llava')).toEqual({
      ok: true,
      box: { x0: 0.12, y0: 0.3, x1: 0.58, y1: 0.91 },
      syntax: 'llava',
      match: '[0.12, 0.3, 0.58, 0.91]',
    });
    expect(parseBox('[0.12, 0.3, 0.58]', 'llava')).toEqual({ ok: false, reason: 'its box has 3 numbers instead of 4' });
    expect(parseBox('[12, 30, 58, 91]', 'llava')).toEqual({
      ok: false,
      reason: 'a coordinate (12) is outside the 0-1 range',
    });
  });

  it('falls back to the other syntaxes when the family syntax finds nothing', () => {
    const other = parseBox('It is at {<12><30><58><91>}.', 'llava');
    expect(other.ok && other.syntax).toBe('minigpt-v2');
    // ...but a usable box in the family's own syntax wins.
    const own = parseBox('[0.5, 0.5, 0.9, 0.9] or {<12><30><58><91>}', 'llava');
    expect(own.ok && own.syntax).toBe('llava');
  });
});

describe('formatBox', () => {
  it('writes each syntax so that parseBox reads it back', () => {
    const box = { x0: 0.2, y0: 0.3, x1: 0.7, y1: 0.8 };
    expect(formatBox(box, 'minigpt-v2')).toBe('{<20><30><70><80>}');
    expect(formatBox(box, 'qwen2-vl')).toBe('<|box_start|>(200,300),(700,800)<|box_end|>');
    expect(formatBox(box, 'llava')).toBe('[0.20, 0.30, 0.70, 0.80]');
    for (const syntax of ['minigpt-v2', 'qwen2-vl', 'llava'] as const) {
      const parsed = parseBox(formatBox(box, syntax), syntax);
      expect(parsed.ok && parsed.box).toEqual(box);
    }
  });
});
