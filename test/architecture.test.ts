// The house rules, checked on every run: every import points down the floors
// below, the product never reaches into test/ or bench/, and every product
// file is used by the product (a file only tests use belongs under test/).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/paths.ts';

/**
 * The floors, lowest first. A module may import its own room freely and any
 * room on a lower floor; never one on its own floor or above. The error
 * family is the basement: everyone may throw, and it imports nothing.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['src/errors.ts'],
  ['src/log.ts', 'src/random.ts', 'src/process-memory.ts', 'src/config'],
  ['src/image', 'src/onnx', 'src/memory'],
  ['src/models'],
  ['src/heads'],
  ['src/vlm'],
  ['src/teach'],
  ['src/assistant'],
  ['src/eval'],
  ['adapters'],
  ['src/cli'],
];

/** The product's entry points: the command, and the workers it starts by file name. */
const ENTRY_POINTS = ['bin/myvlm.js'];

/** Relative specifiers a module loads: static and dynamic imports, and workers started from `new URL(...)`. */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom|\bimport\(|\bimport|new URL\()\s*['"](\.{1,2}\/[^'"]+)['"]/g))
    found.push(match[1]);
  return found;
}

function productFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.test.ts')) files.push(rel);
    }
  };
  walk('src');
  walk('adapters');
  return files.sort();
}

function resolve(from: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
}

/** The room of a file: the longest FLOORS entry that is the file or a folder above it. */
function roomOf(file: string): { room: string; floor: number } | null {
  let best: { room: string; floor: number } | null = null;
  FLOORS.forEach((rooms, floor) => {
    for (const room of rooms)
      if ((file === room || file.startsWith(`${room}/`)) && (!best || room.length > best.room.length))
        best = { room, floor };
  });
  return best;
}

function importsOf(file: string): string[] {
  return relativeImports(readFileSync(path.join(REPO_ROOT, file), 'utf8')).map((s) => resolve(file, s));
}

describe('architecture', () => {
  const files = productFiles();

  it('finds the product files and every one has a floor', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(files.filter((f) => roomOf(f) === null)).toEqual([]);
  });

  it('every import points to the same room or a lower floor', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = roomOf(file)!;
      for (const target of importsOf(file)) {
        const to = roomOf(target);
        if (!to || to.room === from.room) continue;
        if (to.floor >= from.floor) upward.push(`${file} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the product never imports test/ or bench/', () => {
    const outside = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => /^(test|bench)\//.test(target))
        .map((target) => `${file} -> ${target}`),
    );
    expect(outside).toEqual([]);
  });

  it('every product file is reached from the entry points (a file only tests use belongs under test/)', () => {
    const reached = new Set<string>();
    const stack = [...ENTRY_POINTS];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      stack.push(...importsOf(file).filter((target) => /^(src|adapters)\//.test(target)));
    }
    expect(files.filter((f) => !reached.has(f))).toEqual([]);
  });

  it('the import finder sees every form the code uses', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "const c = await import('./c.ts');",
      "new Worker(new URL('./d.ts', import.meta.url));",
      "import './e.mjs';",
      "import { f } from 'node:fs';",
    ].join('\n');
    expect(relativeImports(source)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.mjs']);
  });
});
