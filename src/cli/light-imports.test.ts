// A typing mistake must be answered at once (bench/cli.bench.ts times it): the
// entry and the command modules check their arguments before any native or
// large library loads. This follows their static imports (dynamic `import()`
// and `import type` load nothing up front) and fails on one that would pull
// such a library in before the arguments are checked.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Libraries that take from tens to hundreds of milliseconds to load. */
const HEAVY = [
  'onnxruntime-node',
  'sharp',
  '@huggingface/transformers',
  'grammy',
  'discord.js',
  'pino',
  'keyv',
  '@keyv/sqlite',
  'protobufjs',
  '@vladmandic/face-api',
  'bullmq',
];

/** The modules a usage mistake goes through. */
const COMMANDS = [
  'main.ts',
  'vlm.ts',
  'teach.ts',
  'bench-teach.ts',
  'eval-objects.ts',
  'eval-teach.ts',
  'onnx.ts',
  'worker.ts',
];

/** Specifiers a module loads when it is imported: static imports and re-exports that are not type-only. */
function staticImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/^(?:import|export)\s+(?!type\b)(?:[\s\S]*?\sfrom\s+)?'([^']+)';/gm))
    found.push(match[1]);
  return found;
}

/** Every package the module `file` loads up front, following relative imports. */
function packagesLoadedBy(file: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (current: string) => {
    if (seen.has(current)) return;
    seen.add(current);
    for (const specifier of staticImports(readFileSync(current, 'utf8'))) {
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(current), specifier));
      else if (!specifier.startsWith('node:') && !packages.has(specifier))
        packages.set(specifier, path.relative(HERE, current));
    }
  };
  visit(path.join(HERE, file));
  return packages;
}

describe('the command line answers a usage mistake before loading heavy libraries', () => {
  it('finds static imports and skips type-only and dynamic ones', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from 'sharp';",
      "import {\n  c,\n  type D,\n} from 'pino';",
      "export { e } from './e.ts';",
      "export type { F } from 'grammy';",
      "import 'dotenv/config';",
      "const g = await import('onnxruntime-node');",
    ].join('\n');
    expect(staticImports(source)).toEqual(['./a.ts', 'pino', './e.ts', 'dotenv/config']);
  });

  for (const command of COMMANDS)
    it(`${command} loads none of them up front`, () => {
      const heavy = [...packagesLoadedBy(command)].filter(([name]) =>
        HEAVY.some((h) => name === h || name.startsWith(`${h}/`)),
      );
      expect(heavy.map(([name, from]) => `${name} (from ${from})`)).toEqual([]);
    });
});
