// The one-shot commands as a user types them, in a child process, on
// real-format exports: `myvlm teach ... --json` reports a lesson that lowers
// the loss, `myvlm caption ... --dtype` answers in the precision asked, and
// `myvlm bench teach ... --json` measures what teaching costs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED_DATA } from '../support/paths.ts';
import { REPLICAS_DIR } from '../support/replicas.ts';

let scratch: string;
const photo = (i: number) => path.join(SHARED_DATA, `myvlm/concepts/billy_dog/billy_dog_${i}.jpg`);

function myvlm(...args: string[]): { code: number; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/myvlm.js'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      MYVLM_DATA_DIR: path.join(scratch, 'data'),
      MYVLM_CACHE_DIR: path.join(scratch, 'cache'),
      MYVLM_OFFLINE: '1',
      MYVLM_LOG_LEVEL: 'warn',
    },
  });
  return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
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
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--dtype takes one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, not "q5".');
    const many = myvlm(
      'teach',
      'Rex',
      ...[1, 2, 3, 4, 5].map(photo),
      '--vlm',
      path.join(REPLICAS_DIR, 'llava-1.5-tiny'),
    );
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
