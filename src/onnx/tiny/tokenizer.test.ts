import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseVocabularySize, buildTokenizer, LLAVA_TOKENIZER, MINIGPT_V2_TOKENIZER } from './tokenizer.ts';

env.allowRemoteModels = false;

let scratch: string;
let llava: PreTrainedTokenizer;

async function load(dir: string, family = LLAVA_TOKENIZER, vocabSize?: number): Promise<PreTrainedTokenizer> {
  const built = buildTokenizer(family, vocabSize);
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(built.tokenizerJson));
  await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(built.tokenizerConfig));
  return AutoTokenizer.from_pretrained(dir);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-tokenizer-'));
  llava = await load(scratch);
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('tiny tokenizer', () => {
  it('gives every word of the test captions and prompts its own token', () => {
    for (const text of [
      'sks sitting on a blue sofa',
      'a photo of Anna at the beach',
      'Please caption this image of Bob.',
      'What is sks wearing?',
      'Where is the dog in the picture?',
      'a small brown dog lying on the grass in the park',
      'two people standing next to a red car on the street',
    ]) {
      const ids = llava.encode(text, { add_special_tokens: false });
      const words = text.match(/[A-Za-z]+|[^\sA-Za-z]/g) ?? [];
      expect(ids).toHaveLength(words.length);
      expect(llava.decode(ids)).toBe(text);
    }
  });

  it('spells unknown words from pieces instead of <unk>, adds <s>, and keeps <image> whole', () => {
    const ids = llava.encode('a zebra <image>');
    expect(ids[0]).toBe(1);
    expect(ids).not.toContain(0);
    expect(ids.at(-1)).toBe(llava.encode('<image>', { add_special_tokens: false })[0]);
    expect(llava.decode(ids, { skip_special_tokens: true })).toBe('a zebra');
  });

  it('renders the LLaVA-1.5 conversation format', () => {
    const prompt = llava.apply_chat_template(
      [
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Please caption this image of sks.' }] },
        { role: 'assistant', content: 'sks sitting on a blue sofa.' },
        { role: 'user', content: 'Where is sks?' },
      ],
      { tokenize: false, add_generation_prompt: true },
    );
    expect(prompt).toBe(
      'USER: <image>\nPlease caption this image of sks. ASSISTANT: sks sitting on a blue sofa.</s>USER: Where is sks? ASSISTANT:',
    );
  });

  it('pads the vocabulary on request and keeps ids stable', async () => {
    const base = baseVocabularySize(MINIGPT_V2_TOKENIZER);
    const padded = buildTokenizer(MINIGPT_V2_TOKENIZER, base + 10);
    expect(padded.vocabSize).toBe(base + 10);
    expect(padded.ids).toEqual(buildTokenizer(MINIGPT_V2_TOKENIZER).ids);
    const dir = await mkdtemp(path.join(scratch, 'minigpt-'));
    const tokenizer = await load(dir, MINIGPT_V2_TOKENIZER, base + 10);
    expect(tokenizer.encode('[INST] <Img><ImageHere></Img> [/INST]', { add_special_tokens: false })).toEqual([
      4, 6, 8, 7, 5,
    ]);
  });
});
