// Reading a box out of a model's REC answer. Each family writes boxes its own
// way: MiniGPT-v2 `{<x0><y0><x1><y1>}` on a 0-100 grid, Qwen2-VL-style
// grounding models `<|box_start|>(x1,y1),(x2,y2)<|box_end|>` on 0-1000, LLaVA
// `[x0, y0, x1, y1]` as fractions. Whatever the model says, the parser returns
// a box in fractions of the model's input, or a reason it found none; it
// never throws.
import { GENERATION } from '../config/defaults.ts';

export type BoxSyntaxId = 'minigpt-v2' | 'qwen2-vl' | 'llava';

/** A box as fractions (0..1) of the image the model saw, corners ordered. */
export interface NormalizedBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A usable box, or why there is none. */
export type BoxParse =
  | { ok: true; box: NormalizedBox; syntax: BoxSyntaxId; /** The text the box was read from. */ match: string }
  | { ok: false; /** Why no box could be used, a clause fit for "the model answered, but ..." */ reason: string };

/** A candidate the syntax recognized, before its numbers are checked. */
interface Candidate {
  match: string;
  numbers: number[];
}

interface BoxSyntax {
  id: BoxSyntaxId;
  /** Coordinates run from 0 to this (1 for fractions). */
  scale: number;
  candidates(text: string): Candidate[];
}

const NUMBER = String.raw`[-+]?\d+(?:\.\d+)?`;

function numbersIn(text: string): number[] {
  return [...text.matchAll(new RegExp(NUMBER, 'g'))].map((m) => Number(m[0]));
}

/** The number a piece holds ("<37>"), or NaN when it holds anything else ("<dog>"). */
function numberOrNaN(piece: string): number {
  const text = piece.trim();
  return new RegExp(`^${NUMBER}$`).test(text) ? Number(text) : Number.NaN;
}

/** `{<12><30><58><91>}`; spaces between the pieces are tolerated (some tokenizers decode them). */
const MINIGPT_V2: BoxSyntax = {
  id: 'minigpt-v2',
  scale: GENERATION.minigptBoxGrid,
  candidates: (text) =>
    [...text.matchAll(/\{((?:\s*<[^<>{}]*>)+)\s*\}/g)].map((m) => ({
      match: m[0],
      numbers: [...m[1].matchAll(/<([^<>]*)>/g)].map((piece) => numberOrNaN(piece[1])),
    })),
};

/** `<|box_start|>(120,305),(577,912)<|box_end|>`, or the bare `(x1,y1),(x2,y2)` when the markers were decoded away. */
const QWEN2_VL: BoxSyntax = {
  id: 'qwen2-vl',
  scale: GENERATION.qwenBoxGrid,
  candidates: (text) => {
    const marked = [...text.matchAll(/<\|box_start\|>([\s\S]*?)<\|box_end\|>/g)].map((m) => ({
      match: m[0],
      numbers: numbersIn(m[1]),
    }));
    if (marked.length > 0) return marked;
    return [
      ...text.matchAll(
        new RegExp(
          String.raw`\(\s*(${NUMBER})\s*,\s*(${NUMBER})\s*\)\s*,\s*\(\s*(${NUMBER})\s*(?:,\s*(${NUMBER})\s*)?\)`,
          'g',
        ),
      ),
    ].map((m) => ({
      match: m[0],
      numbers: m
        .slice(1)
        .filter((v) => v !== undefined)
        .map(Number),
    }));
  },
};

/** `[0.12, 0.30, 0.58, 0.91]`: a bracketed list of two to six numbers. */
const LLAVA: BoxSyntax = {
  id: 'llava',
  scale: 1,
  candidates: (text) =>
    [...text.matchAll(new RegExp(String.raw`\[\s*(${NUMBER}(?:\s*,\s*${NUMBER}){1,5})\s*\]`, 'g'))].map((m) => ({
      match: m[0],
      numbers: numbersIn(m[1]),
    })),
};

const SYNTAXES: Readonly<Record<BoxSyntaxId, BoxSyntax>> = {
  'minigpt-v2': MINIGPT_V2,
  'qwen2-vl': QWEN2_VL,
  llava: LLAVA,
};

function gridWords(syntax: BoxSyntax): string {
  return syntax.scale === 1 ? 'the 0-1 range' : `the 0-${syntax.scale} grid`;
}

function check(syntax: BoxSyntax, candidate: Candidate): BoxParse {
  const { numbers } = candidate;
  if (numbers.length !== 4 || numbers.some((n) => Number.isNaN(n))) {
    return { ok: false, reason: `its box has ${numbers.filter((n) => !Number.isNaN(n)).length} numbers instead of 4` };
  }
  const outside = numbers.find((n) => n < 0 || n > syntax.scale);
  if (outside !== undefined) return { ok: false, reason: `a coordinate (${outside}) is outside ${gridWords(syntax)}` };
  const [a, b, c, d] = numbers.map((n) => n / syntax.scale);
  // Corners given in the other order still describe a box.
  const box = { x0: Math.min(a, c), y0: Math.min(b, d), x1: Math.max(a, c), y1: Math.max(b, d) };
  if (box.x1 - box.x0 <= 0 || box.y1 - box.y0 <= 0) return { ok: false, reason: 'its box has no area' };
  return { ok: true, box, syntax: syntax.id, match: candidate.match };
}

/**
 * The first usable box of an answer. The family's own syntax is tried first,
 * then the others (a fine-tuned model may answer in either). When nothing is
 * usable, the reason comes from the first box-like text found, else "no box".
 */
export function parseBox(answer: string, preferred: BoxSyntaxId): BoxParse {
  const order = [SYNTAXES[preferred], ...Object.values(SYNTAXES).filter((s) => s.id !== preferred)];
  let firstProblem: BoxParse | null = null;
  for (const syntax of order) {
    for (const candidate of syntax.candidates(answer)) {
      const parsed = check(syntax, candidate);
      if (parsed.ok) return parsed;
      firstProblem ??= parsed;
    }
  }
  return firstProblem ?? { ok: false, reason: 'there is no box in it' };
}

/** How a family writes a box, for prompts, docs and tests. */
export function formatBox(box: NormalizedBox, syntax: BoxSyntaxId): string {
  const scale = SYNTAXES[syntax].scale;
  const v = [box.x0, box.y0, box.x1, box.y1].map((n) => (scale === 1 ? n.toFixed(2) : String(Math.round(n * scale))));
  switch (syntax) {
    case 'minigpt-v2':
      return `{${v.map((n) => `<${n}>`).join('')}}`;
    case 'qwen2-vl':
      return `<|box_start|>(${v[0]},${v[1]}),(${v[2]},${v[3]})<|box_end|>`;
    case 'llava':
      return `[${v.join(', ')}]`;
  }
}
