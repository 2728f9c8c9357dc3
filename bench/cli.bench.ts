// How fast `myvlm` answers a command typed wrongly: each usage mistake runs
// in a fresh process, as a person or a script runs it, and must exit 2 in
// well under a second. The references, timed in the same run: node starting
// and doing nothing (`node -e 0`), and `myvlm --help` (node, tsx and the
// command table, no command module). `npx myvlm` adds npm's own start-up.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, table, type BenchSection, type Timing } from './harness.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO_ROOT, 'bin/myvlm.js');
/** The promise: a usage mistake is answered within this many milliseconds, p90 wall time. */
const BUDGET_MS = 1000;

interface Case {
  label: string;
  command: string;
  args: string[];
  /** The exit code the case must end with; the benchmark fails otherwise. */
  exit: number;
}

const myvlm = (...args: string[]): Pick<Case, 'command' | 'args'> => ({
  command: process.execPath,
  args: [BIN, ...args],
});

const REFERENCES: Case[] = [
  { label: '`node -e 0`', command: process.execPath, args: ['-e', '0'], exit: 0 },
  { label: '`myvlm --help`', ...myvlm('--help'), exit: 0 },
];

const MISTAKES: Case[] = [
  { label: '`myvlm caption` (no image)', ...myvlm('caption'), exit: 2 },
  { label: '`myvlm nosuch`', ...myvlm('nosuch'), exit: 2 },
  { label: '`myvlm teach --bogus`', ...myvlm('teach', '--bogus'), exit: 2 },
  { label: '`myvlm bench teach --steps 0`', ...myvlm('bench', 'teach', '--steps', '0'), exit: 2 },
  { label: '`myvlm eval objects` (no folder)', ...myvlm('eval', 'objects'), exit: 2 },
  { label: '`myvlm onnx tiny gpt out`', ...myvlm('onnx', 'tiny', 'gpt', 'out'), exit: 2 },
];

/** Through npx, as the README shows the commands: npm's start-up comes on top. */
const THROUGH_NPX: Case[] = [
  { label: '`npx myvlm nosuch`', command: 'npx', args: ['--no-install', 'myvlm', 'nosuch'], exit: 2 },
];

/**
 * CPU seconds (user + system) used so far by this process's finished
 * children, from /proc (Linux; null elsewhere). Unlike wall time it barely
 * grows when other work shares the cores.
 */
function childrenCpuSeconds(): number | null {
  try {
    // Fields after the command name: cutime and cstime are the 14th and 15th, in clock ticks (100 per second on Linux).
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

function run(c: Case): void {
  const child = spawnSync(c.command, c.args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (child.status !== c.exit)
    throw new Error(`${c.label} exited ${child.status ?? child.signal}, not ${c.exit}: ${child.stderr}`);
}

/** Wall time of `c` per run, and its mean CPU milliseconds per run (null without /proc). */
async function time(c: Case, iterations: number): Promise<{ wall: Timing; cpuMs: number | null }> {
  let runs = 0;
  const before = childrenCpuSeconds();
  const wall = await measure(
    () => {
      runs++;
      run(c);
    },
    { warmup: 1, iterations, budgetMs: 30_000 },
  );
  const after = childrenCpuSeconds();
  return { wall, cpuMs: before === null || after === null ? null : (1000 * (after - before)) / runs };
}

export default async function (): Promise<BenchSection> {
  const bare = await time(REFERENCES[0], 10);
  const help = await time(REFERENCES[1], 10);
  const rows: (string | number)[][] = [];
  const row = (c: Case, t: { wall: Timing; cpuMs: number | null }) => {
    rows.push([
      c.label,
      String(c.exit),
      t.wall.medianMs,
      t.wall.p90Ms,
      t.cpuMs ?? 'n/a',
      t.wall.medianMs / bare.wall.medianMs,
      t.wall.medianMs / help.wall.medianMs,
      c.exit === 2 ? (t.wall.p90Ms < BUDGET_MS ? 'yes' : 'NO') : '',
    ]);
  };
  row(REFERENCES[0], bare);
  row(REFERENCES[1], help);
  for (const c of MISTAKES) row(c, await time(c, 10));
  for (const c of THROUGH_NPX) row(c, await time(c, 5));
  return {
    title: 'CLI: usage mistakes answered at once',
    markdown: [
      'Each command in a fresh process: wall milliseconds (median and p90 of 10 runs after 1 warm-up, 5 through npx) and ' +
        'CPU milliseconds per run (user + system, all threads). Every mistake must exit 2; "< 1 s" is whether its p90 wall ' +
        'time is under a second. Ratios are of median wall times.',
      '',
      table(['command', 'exit', 'median ms', 'p90 ms', 'CPU ms', '/ `node -e 0`', '/ `--help`', '< 1 s'], rows),
    ].join('\n'),
  };
}
