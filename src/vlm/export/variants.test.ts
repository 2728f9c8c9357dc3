import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorError } from '../../errors.ts';
import { availableDtypes, chooseDtypes, describeDtypes } from './variants.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'myvlm-variants-'));
  await mkdir(path.join(dir, 'onnx'));
  const stems = [
    'vision_encoder_int8',
    'vision_encoder_fp16',
    'vision_encoder_q4',
    'embed_tokens',
    'embed_tokens_q4',
    'embed_tokens_int8',
    'decoder_model_merged_q4',
    'decoder_model_merged_q4f16',
  ];
  for (const stem of stems) await writeFile(path.join(dir, 'onnx', `${stem}.onnx`), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('precision variants of an export folder', () => {
  it('lists the precisions every graph has, most exact first', () => {
    expect(availableDtypes(dir)).toEqual(['q4']);
  });

  it('picks, per graph, the most exact file present when no precision is asked for', () => {
    expect(chooseDtypes(dir, null)).toEqual({ visionEncoder: 'fp16', embedTokens: 'fp32', decoder: 'q4' });
    expect(describeDtypes(chooseDtypes(dir, null))).toBe('vision fp16, embeddings fp32, decoder q4');
  });

  it('takes the asked precision, or names the missing files and what the folder has', () => {
    expect(chooseDtypes(dir, 'q4')).toEqual({ visionEncoder: 'q4', embedTokens: 'q4', decoder: 'q4' });
    expect(chooseDtypes(dir, { visionEncoder: 'int8', embedTokens: 'int8', decoder: 'q4' })).toMatchObject({
      visionEncoder: 'int8',
      decoder: 'q4',
    });
    expect(() => chooseDtypes(dir, 'bnb4')).toThrow(OperatorError);
    expect(() => chooseDtypes(dir, 'int8')).toThrow(
      'has no onnx/decoder_model_merged_int8.onnx. Precisions it has for all three graphs: q4.',
    );
  });
});
