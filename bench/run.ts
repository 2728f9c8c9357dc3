// `npm run bench [name ...]`: runs every bench/*.bench.ts (or the named ones)
// one after the other and prints their markdown sections. Paste the output
// into docs/benchmarks.md together with the machine it ran on. A development
// script: the product never imports bench/.
import 'dotenv/config';
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Benchmark } from './harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

async function runBenchmarks(names: readonly string[]): Promise<number> {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => names.length === 0 || names.includes(f.replace(/\.bench\.ts$/, '')))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`No benchmark matches ${names.join(', ')}.\n`);
    return 2;
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`Machine: ${cpus().length} x ${cpu}, Node ${process.version}\n\n`);
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { default: Benchmark };
    const section = await mod.default();
    process.stdout.write(`## ${section.title}\n\n${section.markdown}\n\n`);
  }
  return 0;
}

process.exitCode = await runBenchmarks(process.argv.slice(2));
