// A small real tokenizer for the tiny models: WordPiece over a few hundred
// whole English caption words, with single characters (and `##` pieces) as a
// fallback so any text encodes without <unk>. It is written as a standard
// tokenizer.json that transformers.js (and Hugging Face tokenizers) load.

/** Words that get one token each: captions, questions, prompts, names. */
const WORDS = `
a an the this that these those there here it its is are was were be been being am do does did has have had
of in on at to from with without by for over under above below near next behind beside between into onto out
up down off and or but not no yes very too also just only some many much more most few all each every other
one two three four five six seven eight nine ten first second third last several both
i you he she we they me him her us them my your his our their who what where when why how which whose
please caption describe image picture photo photograph short long detailed detail caption: question answer
tell about give shows showing show see seen look looking looks appear appears can could would should will
man woman men women person people boy girl child children kid kids baby friend friends family group couple
dog dogs cat cats puppy kitten bird birds horse cow sheep bear teddy toy toys ball mug cup bottle glass plate
bowl table chair sofa couch bed pillow blanket lamp window door wall floor room kitchen house home garden yard
car bike bicycle bus train boat plane road street city park tree trees grass flower flowers plant plants
beach sea ocean water lake river sand sky cloud clouds sun snow mountain mountains hill field forest rock
shirt hat dress jacket coat glasses shoes bag backpack book books phone laptop computer screen camera
food cake pizza bread fruit apple banana coffee tea wine
sitting standing lying walking running playing holding wearing eating drinking smiling looking sleeping
riding reading posing watching waiting talking jumping swimming carrying
sits stands lies walks runs plays holds wears eats drinks smiles sleeps rides reads poses
red blue green yellow orange purple pink brown black white gray grey gold silver dark light bright colorful
big small large little tiny old young new happy sad cute beautiful pretty nice sunny cloudy wooden
left right top bottom middle center front back side corner background foreground inside outside together
day night morning evening today
color colour doing wearing kind type object thing things place scene
sks Anna Bob Alice Tom Max Emma Mia Leo
A An The This That These There It Is Are Was Do Does Can Please What Where Who Whose How Which Why When Describe Tell Give Yes No I In On At
USER ASSISTANT INST Img caption refer vqa grounding identify detection
`;

/** Single characters, each also as a `##` continuation piece. */
const CHARACTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Punctuation the pre-tokenizer splits off as separate tokens. */
const PUNCTUATION = `.,!?;:'"()[]{}<>/\\-_+=*&%$#@~|`;

/** A special or added token (matched before pre-tokenization, never split). */
export interface AddedToken {
  content: string;
  /** Special tokens are dropped by `decode(..., { skip_special_tokens: true })`. */
  special: boolean;
}

/** The token ids every tiny model needs to know. */
export interface TokenIds {
  unk: number;
  bos: number;
  eos: number;
  pad: number;
  /** The placeholder whose positions receive image features. */
  image: number;
}

/** A built tokenizer: the two JSON files plus the ids the model config needs. */
export interface TinyTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  ids: TokenIds;
  vocabSize: number;
}

/** What differs between model families: extra added tokens, placeholder and chat template. */
export interface TokenizerFamily {
  /** Added tokens beyond <unk>, <s>, </s>, <pad>, in id order. */
  addedTokens: readonly AddedToken[];
  /** Content of the image placeholder token (must be one of `addedTokens`). */
  imageToken: string;
  chatTemplate: string;
}

const BASE_SPECIALS = ['<unk>', '<s>', '</s>', '<pad>'] as const;

/** Every vocabulary entry in id order: specials, family tokens, characters, pieces, punctuation, words. */
function vocabulary(family: TokenizerFamily, minimumSize: number): string[] {
  const entries: string[] = [...BASE_SPECIALS, ...family.addedTokens.map((t) => t.content)];
  const seen = new Set(entries);
  const push = (token: string): void => {
    if (!seen.has(token)) {
      seen.add(token);
      entries.push(token);
    }
  };
  for (const c of CHARACTERS) push(c);
  for (const c of CHARACTERS) push(`##${c}`);
  for (const p of PUNCTUATION) push(p);
  for (const w of WORDS.split(/\s+/)) if (w && !/[^A-Za-z]/.test(w)) push(w);
  for (let i = 0; entries.length < minimumSize; i++) push(`<extra_${i}>`);
  return entries;
}

/** The size of the base vocabulary of a family (the smallest `vocabSize` a tiny model may use). */
export function baseVocabularySize(family: TokenizerFamily): number {
  return vocabulary(family, 0).length;
}

/**
 * Builds tokenizer.json and tokenizer_config.json. `vocabSize` pads the
 * vocabulary with unused `<extra_N>` tokens (it cannot shrink it).
 */
export function buildTokenizer(family: TokenizerFamily, vocabSize?: number): TinyTokenizer {
  const entries = vocabulary(family, vocabSize ?? 0);
  const id = (token: string): number => entries.indexOf(token);
  const specials = new Set<string>([
    ...BASE_SPECIALS,
    ...family.addedTokens.filter((t) => t.special).map((t) => t.content),
  ]);
  const added = [...BASE_SPECIALS.map((content) => ({ content, special: true })), ...family.addedTokens];
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map((t) => ({
      id: id(t.content),
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: specials.has(t.content),
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [id('<s>')], tokens: ['<s>'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '<unk>',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(entries.map((token, i) => [token, i])),
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    padding_side: 'left',
    clean_up_tokenization_spaces: true,
    model_max_length: 2048,
    chat_template: family.chatTemplate,
    added_tokens_decoder: Object.fromEntries(
      added.map((t) => [
        String(id(t.content)),
        {
          content: t.content,
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: specials.has(t.content),
        },
      ]),
    ),
  };
  return {
    tokenizerJson,
    tokenizerConfig,
    ids: { unk: id('<unk>'), bos: id('<s>'), eos: id('</s>'), pad: id('<pad>'), image: id(family.imageToken) },
    vocabSize: entries.length,
  };
}

/**
 * LLaVA-1.5's conversation format: `USER: <image>\n{text} ASSISTANT:`. The
 * image part may be a `{type: 'image'}` content item or a literal `<image>`.
 */
export const LLAVA_CHAT_TEMPLATE =
  '{% for message in messages %}' +
  "{% if message['role'] == 'system' %}{{ message['content'] }} " +
  "{% elif message['role'] == 'user' %}USER: " +
  "{% if message['content'] is string %}{{ message['content'] }}" +
  "{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n{% endif %}{% endfor %}" +
  "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %} " +
  '{% else %}ASSISTANT: ' +
  "{% if message['content'] is string %}{{ message['content'] }}" +
  "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}</s>" +
  '{% endif %}{% endfor %}' +
  '{% if add_generation_prompt %}ASSISTANT:{% endif %}';

/**
 * MiniGPT-v2's LLaMA-2 format: `[INST] <Img><ImageHere></Img> {text} [/INST]`.
 */
export const MINIGPT_V2_CHAT_TEMPLATE =
  '{% for message in messages %}' +
  "{% if message['role'] == 'user' %}[INST] " +
  "{% if message['content'] is string %}{{ message['content'] }}" +
  "{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<Img><ImageHere></Img> {% endif %}{% endfor %}" +
  "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %} [/INST]" +
  "{% elif message['role'] == 'assistant' %} " +
  "{% if message['content'] is string %}{{ message['content'] }}" +
  "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}</s>" +
  '{% endif %}{% endfor %}';

/** LLaVA: the `<image>` placeholder is the only added token. */
export const LLAVA_TOKENIZER: TokenizerFamily = {
  addedTokens: [{ content: '<image>', special: true }],
  imageToken: '<image>',
  chatTemplate: LLAVA_CHAT_TEMPLATE,
};

/** MiniGPT-v2: `[INST]` markers and the `<Img><ImageHere></Img>` image slot. */
export const MINIGPT_V2_TOKENIZER: TokenizerFamily = {
  addedTokens: [
    { content: '[INST]', special: false },
    { content: '[/INST]', special: false },
    { content: '<Img>', special: false },
    { content: '</Img>', special: false },
    { content: '<ImageHere>', special: true },
  ],
  imageToken: '<ImageHere>',
  chatTemplate: MINIGPT_V2_CHAT_TEMPLATE,
};
