import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { onnxCommand, parseTinyArgs } from '../../src/cli/onnx.ts';
import { OperatorError, UsageError } from '../../src/errors.ts';
import { inspectModel } from '../../src/onnx/inspect.ts';
import { runMyvlm, type CliRun } from '../support/cli.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-onnx-cli-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Runs the command with stdout and stderr captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  try {
    return { code: await onnxCommand(args), out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('myvlm onnx tiny', () => {
  it('parses sizes, the seed and the switches', () => {
    expect(
      parseTinyArgs(['llava', 'out', '--seed', '4', '--layers', '3', '--kv-heads', '1', '--tie', '--float64']),
    ).toEqual({
      family: 'llava',
      dir: 'out',
      options: { seed: 4, layers: 3, kvHeads: 1, tieWordEmbeddings: true, dtype: 'float64' },
    });
    expect(() => parseTinyArgs(['gpt', 'out'])).toThrow(/Choose a family/);
    expect(() => parseTinyArgs(['llava', 'out', '--layers', 'two'])).toThrow(UsageError);
    expect(() => parseTinyArgs(['llava', 'out', '--colour'])).toThrow(/Unknown option --colour/);
    expect(() => parseTinyArgs(['llava'])).toThrow(/one output folder/);
  });

  it('writes a MiniGPT-v2 directory with the sizes asked for', async () => {
    const dir = path.join(scratch, 'minigpt');
    const result = await run([
      'tiny',
      'minigpt-v2',
      dir,
      '--seed',
      '3',
      '--layers',
      '1',
      '--hidden',
      '32',
      '--heads',
      '2',
      '--vocab',
      '600',
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Wrote a tiny minigpt-v2 model (seed 3, float32)');
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as {
      text_config: Record<string, number>;
    };
    expect(config.text_config).toMatchObject({
      num_hidden_layers: 1,
      hidden_size: 32,
      num_attention_heads: 2,
      vocab_size: 600,
    });
    const decoder = await inspectModel(path.join(dir, 'onnx/decoder_model_merged.onnx'));
    expect(decoder.inputs.map((i) => i.name)).toEqual([
      'inputs_embeds',
      'attention_mask',
      'position_ids',
      'past_key_values.0.key',
      'past_key_values.0.value',
    ]);
    expect(decoder.outputs.map((o) => o.name)).toEqual(['logits', 'present.0.key', 'present.0.value']);
    expect(decoder.outputs[0].shape).toEqual(['batch_size', 'sequence_length', 600]);
    expect(decoder.ops.find((o) => o.op === 'Softmax')?.count).toBe(1);
    expect(decoder.ops.every((o) => !o.op.includes('.'))).toBe(true);
  });

  it('refuses sizes that do not fit together, with the reason', async () => {
    await expect(run(['tiny', 'llava', path.join(scratch, 'bad'), '--hidden', '30', '--heads', '4'])).rejects.toThrow(
      /multiple of heads/,
    );
    await expect(run(['tiny', 'llava', path.join(scratch, 'bad'), '--vocab', '10'])).rejects.toThrow(
      /smaller than the tokenizer/,
    );
    await expect(
      run(['tiny', 'minigpt-v2', path.join(scratch, 'bad'), '--image-size', '24', '--patch-size', '8']),
    ).rejects.toThrow(/groups vision tokens by 4/);
  });
});

describe('myvlm onnx usage', () => {
  it('prints usage, and refuses mistakes with a UsageError', async () => {
    expect((await run(['help'])).out).toContain('myvlm onnx inspect <file.onnx> [--json]');
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run(['convert'])).rejects.toThrow(/^Unknown onnx command "convert"\.\n\nUsage:/);
    await expect(run(['inspect'])).rejects.toThrow(/^onnx inspect takes one model file\./);
    await expect(run(['inspect', 'a.onnx', '--colour'])).rejects.toThrow(/^Unknown option --colour\./);
  });

  it('says plainly which file is missing or in the way', async () => {
    const nothing = path.join(scratch, 'nothing.onnx');
    await expect(run(['inspect', nothing])).rejects.toThrow(new OperatorError(`No such file: ${nothing}`));
    await expect(run(['inspect', scratch])).rejects.toThrow(`${scratch} is a folder, not a file.`);
    const file = path.join(scratch, 'a-file');
    await writeFile(file, 'x');
    await expect(run(['tiny', 'llava', file])).rejects.toThrow(new OperatorError(`${file} is a file, not a folder.`));
    await expect(run(['tiny', 'llava', path.join(file, 'below')])).rejects.toThrow(`${file} is a file, not a folder.`);
  });
});

describe('myvlm onnx as a script runs it', () => {
  /** `node bin/myvlm.js onnx ...` in a child process. */
  function myvlm(...args: string[]): CliRun {
    return runMyvlm(['onnx', ...args], { cwd: scratch, env: { MYVLM_LOG_LEVEL: 'info' } });
  }

  it('exits 1 with one plain line when the output folder is a file, 2 on a typing mistake', () => {
    const file = path.join(scratch, 'occupied');
    writeFileSync(file, 'x');
    const blocked = myvlm('tiny', 'llava', file);
    expect([blocked.code, blocked.stdout, blocked.stderr]).toEqual([
      1,
      '',
      `myvlm: ${file} is a file, not a folder.\n`,
    ]);
    const missing = myvlm('inspect', 'nothing.onnx');
    expect([missing.code, missing.stderr]).toEqual([1, `myvlm: No such file: nothing.onnx (in ${scratch})\n`]);
    const typo = myvlm('tiny', 'llava', 'out', '--layers', 'two');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('myvlm: --layers needs a whole number (got two).\n');
  }, 60_000);
});
