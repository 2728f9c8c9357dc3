// The one-shot commands as a user types them, in a child process, on
// real-format exports: `myvlm teach ... --json` reports a lesson that lowers
// the loss, `myvlm caption ... --dtype` answers in the precision asked, and
// `myvlm bench teach ... --json` measures what teaching costs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';
import { runMyvlm, scratchEnvironment, type CliRun } from '../support/cli.ts';
import { REPO_ROOT, SHARED_DATA } from '../support/paths.ts';
import { REPLICAS_DIR } from '../support/replicas.ts';

let scratch: string;
const photo = (i: number) => path.join(SHARED_DATA, `myvlm/concepts/billy_dog/billy_dog_${i}.jpg`);

function myvlm(...args: string[]): CliRun {
  return runMyvlm(args, { env: scratchEnvironment(scratch) });
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-replica-cli-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('myvlm teach and caption on real-format exports', () => {
  it('teach --json: a q4 lesson lowers the loss and reports what it ran on', () => {
    const run = myvlm(
      'teach',
      'Rex',
      photo(3),
      photo(1),
      '--vlm',
      path.join(REPLICAS_DIR, 'llava-interleave-qwen-tiny-sharp'),
      '--dtype',
      'q4',
      '--steps',
      '10',
      '--caption',
      'Rex on the sofa.',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      model: 'local:llava-interleave-qwen-tiny-sharp',
      family: 'llava-qwen',
      dtype: 'q4',
      template: 'chat_template.json',
      identifier: 'sks',
      photos: 2,
      steps: 10,
    });
    expect(report.lossEnd as number).toBeLessThan(report.lossStart as number);
    expect(report.checkpoints).toEqual([{ step: 10, loss: expect.any(Number) as number }]);
  }, 120_000);

  it('teach: refuses what it cannot do with a plain line and the usage', () => {
    const run = myvlm('teach', 'Rex', photo(1), '--vlm', path.join(REPLICAS_DIR, 'llava-1.5-tiny'), '--dtype', 'q5');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--dtype takes one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, not "q5".');
    const many = myvlm(
      'teach',
      'Rex',
      ...[1, 2, 3, 4, 5].map(photo),
      '--vlm',
      path.join(REPLICAS_DIR, 'llava-1.5-tiny'),
    );
    expect(many.code).toBe(2);
    expect(many.stderr).toContain('A lesson takes 1 to 4 photos, not 5.');
  }, 60_000);

  it('caption --dtype fp16 answers on the float16 export', () => {
    const run = myvlm('caption', photo(2), '--vlm', path.join(REPLICAS_DIR, 'llava-1.5-tiny'), '--dtype', 'fp16');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().length).toBeGreaterThan(0);
  }, 60_000);

  it('bench teach --json: a training step against an answering forward of the same batch, and both peak memories', () => {
    const run = myvlm(
      'bench',
      'teach',
      '--vlm',
      path.join(REPLICAS_DIR, 'llava-1.5-tiny'),
      '--dtype',
      'q4',
      '--batch',
      '2',
      '--steps',
      '1',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const cost = JSON.parse(run.stdout) as Record<string, number | null | Record<string, number | null>>;
    expect(cost).toMatchObject({
      dtype: 'q4',
      batch: 2,
      sequence: expect.any(Number) as number,
      prefix: expect.any(Number) as number,
    });
    // The prompt's image rows (576 for LLaVA-1.5) come before the concept row: they are the cached prefix.
    expect(cost.prefix as number).toBeGreaterThanOrEqual(576);
    expect(cost.sequence as number).toBeGreaterThan(cost.prefix as number);
    expect(cost.stepOverForward).toBeCloseTo((cost.stepMs as number) / (cost.forwardMs as number), 6);
    expect(cost.lessonMs).toBeCloseTo(100 * (cost.stepMs as number), 3);
    for (const side of ['answering', 'teaching'] as const)
      expect((cost[side] as Record<string, number>).rssMiB).toBeGreaterThan(1);
    expect(cost.memoryRatio as number).toBeGreaterThan(0.5);
    expect(cost.memoryRatio as number).toBeLessThan(10);
  }, 120_000);
});

describe('exit codes a script can rely on: 0 done, 1 failed, 2 typed wrongly', () => {
  /** Exit code and the first stderr line (the whole message, for one-line failures). */
  const outcome = (...args: string[]) => {
    const run = myvlm(...args);
    return { code: run.code, first: run.stderr.split('\n')[0], stderr: run.stderr, stdout: run.stdout };
  };

  it('a typing mistake exits 2 with what was wrong, on every command', () => {
    expect(outcome('nosuch')).toMatchObject({ code: 2, first: 'myvlm: Unknown command "nosuch".' });
    expect(outcome()).toMatchObject({ code: 2, first: 'myvlm: Name a command.' });
    expect(outcome('toString')).toMatchObject({ code: 2, first: 'myvlm: Unknown command "toString".' });
    expect(outcome('caption')).toMatchObject({ code: 2, first: 'myvlm: caption needs an image file.' });
    expect(outcome('teach', '--bogus')).toMatchObject({ code: 2, first: 'myvlm: Unknown option --bogus.' });
    expect(outcome('teach', 'Rex', photo(1))).toMatchObject({
      code: 2,
      first: 'myvlm: Name the model with --vlm (or set MYVLM_VLM).',
    });
    expect(outcome('bench', 'teach', '--steps', '0', '--vlm', 'x')).toMatchObject({
      code: 2,
      first: 'myvlm: --steps takes a whole number of at least 1, not "0".',
    });
    expect(outcome('eval', 'objects', 'dir', '--negatives', 'some')).toMatchObject({ code: 2 });
    expect(outcome('eval', 'teach')).toMatchObject({
      code: 2,
      first: 'myvlm: Only the miniature experiment exists so far: add --tiny.',
    });
    expect(outcome('onnx', 'tiny', 'gpt', 'out')).toMatchObject({
      code: 2,
      first: 'myvlm: Choose a family: llava or minigpt-v2 (got gpt).',
    });
    expect(outcome('discord')).toMatchObject({
      code: 2,
      first: 'myvlm: Usage: myvlm discord register [--guild <server id>]',
    });
  }, 120_000);

  it('help exits 0 and lists the exit codes', () => {
    const help = outcome('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:\n  0  done\n  1  failed: ');
    expect(help.stdout).toContain(
      '  2  typed wrongly: an unknown command or option, a missing argument, a bad value\n',
    );
  }, 60_000);

  it('a file that is not there, or not a file, exits 1 with one plain line', () => {
    expect(outcome('caption', 'missing.jpg')).toEqual({
      code: 1,
      first: `myvlm: No such file: missing.jpg (in ${REPO_ROOT})`,
      stderr: `myvlm: No such file: missing.jpg (in ${REPO_ROOT})\n`,
      stdout: '',
    });
    expect(outcome('teach', 'Rex', scratch, '--vlm', 'x')).toMatchObject({
      code: 1,
      stderr: `myvlm: ${scratch} is a folder, not a file.\n`,
    });
    expect(outcome('onnx', 'inspect', '/nonexistent.onnx')).toMatchObject({
      code: 1,
      stderr: 'myvlm: No such file: /nonexistent.onnx\n',
    });
  }, 60_000);

  it('a model that was asked for and is not there exits 1 instead of answering without it', () => {
    const run = outcome('caption', photo(2), '--vlm', '/nonexistent');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^myvlm: "\/nonexistent" is neither a known vision-language model \(.*\) nor a model folder\. /,
    );
    const teach = outcome('teach', 'Rex', photo(1), '--vlm', '/nonexistent');
    expect([teach.code, teach.first]).toEqual([1, run.first]);
  }, 60_000);

  it('the data folder in use by a running assistant exits 1, saying which process holds it', async () => {
    const dataDir = path.join(scratch, 'held');
    const store = await KeyvConceptStore.open({ directory: dataDir });
    try {
      const child = runMyvlm(['caption', photo(2)], {
        env: { MYVLM_DATA_DIR: dataDir, MYVLM_OFFLINE: '1', MYVLM_VLM: '', MYVLM_LOG_LEVEL: 'warn' },
      });
      expect(child.code).toBe(1);
      expect(child.stderr).toContain(`myvlm: The concept store in ${dataDir} is in use by process ${process.pid}.`);
    } finally {
      await store.close();
    }
  }, 60_000);
});
