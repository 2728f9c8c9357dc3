// The words of the method, read from the data files in prompts/ by name: the
// captioning instruction per model family (used both to teach a concept and
// to ask for its caption), the paper's ten VQA instructions per concept kind
// (Table 1), the caption-paraphrase request, and the two captioning
// baselines of the paper's evaluation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperatorError } from '../errors.ts';
import type { ConceptKind } from '../memory/concept.ts';

/** Where the prompt files live: `prompts/` at the repository root. */
export const PROMPTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../prompts');

/** The prompt files ship with the assistant; one that fails the checks was edited or lost where it runs. */
const PROMPT_FILE_HINT = 'Restore the prompts/ folder from the release of the assistant, or fix the edit.';

/** A prompt file the assistant cannot use. */
function promptFileError(problem: string, cause?: unknown): OperatorError {
  return new OperatorError(problem, { cause, hint: PROMPT_FILE_HINT });
}

/** The placeholder every prompt uses for the concept's identifier. */
export const CONCEPT_PLACEHOLDER = '{concept}';

/** Model families teaching has a captioning instruction for. */
export type CaptionFamily = 'llava' | 'minigpt-v2';

/** The teaching prompts, loaded once. */
export interface TeachingPrompts {
  captioning: Record<CaptionFamily, string>;
  /** Target used when a generated caption lost the concept entirely. */
  fallbackTarget: string;
  vqa: Record<ConceptKind, string[]>;
  paraphrase: { instruction: string; layout: string; variations: number };
}

function readJson(name: string): Record<string, unknown> {
  const file = path.join(PROMPTS_DIR, `${name}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw promptFileError(
      `Cannot read the prompt file ${file} (${cause instanceof Error ? cause.message : String(cause)}).`,
      cause,
    );
  }
}

function text(value: unknown, where: string, needsConcept = true): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw promptFileError(`prompts/${where} must be a non-empty string.`);
  if (needsConcept && !value.includes(CONCEPT_PLACEHOLDER))
    throw promptFileError(`prompts/${where} must contain ${CONCEPT_PLACEHOLDER}.`);
  return value;
}

function instructionList(name: string): string[] {
  const list = readJson(name).instructions;
  if (!Array.isArray(list) || list.length === 0)
    throw promptFileError(`prompts/${name}.json needs a non-empty "instructions" list.`);
  return list.map((v, i) => text(v, `${name}.json instruction ${i + 1}`));
}

let cached: TeachingPrompts | undefined;

/** Reads and checks every teaching prompt file (once per process). */
export function teachingPrompts(): TeachingPrompts {
  if (cached) return cached;
  const captioning = readJson('captioning');
  const captions = captioning.instructions as Record<string, unknown> | undefined;
  const paraphrase = readJson('paraphrase');
  const variations = paraphrase.variations;
  cached = {
    captioning: {
      llava: text(captions?.llava, 'captioning.json llava'),
      'minigpt-v2': text(captions?.['minigpt-v2'], 'captioning.json minigpt-v2'),
    },
    fallbackTarget: text(captioning.fallbackTarget, 'captioning.json fallbackTarget'),
    vqa: { object: instructionList('vqa-objects'), person: instructionList('vqa-people') },
    paraphrase: {
      instruction: text(paraphrase.instruction, 'paraphrase.json instruction'),
      layout: text(paraphrase.layout, 'paraphrase.json layout', false),
      variations: typeof variations === 'number' && variations > 0 ? variations : 4,
    },
  };
  return cached;
}

/** A prompt with its concept placeholder filled. */
export function fillConcept(prompt: string, concept: string): string {
  return prompt.split(CONCEPT_PLACEHOLDER).join(concept);
}

/** A concept's class phrase and its keywords, for the captioning baselines. */
export interface ConceptKeywords {
  classPhrase: string;
  keywords: string[];
}

/** The captioning baselines of the paper's evaluation (prompts/caption-baselines.json). */
export interface BaselinePrompts {
  /** The LLM-guided rewrite request: {caption}, {keyword} and {concept} to fill. */
  llmInstruction: string;
  /** What precedes the rewritten caption in the answer ("Revised:"). */
  answerPrefix: string;
  /** Keywords by concept folder name. */
  keywords: ReadonlyMap<string, ConceptKeywords>;
}

let baselines: BaselinePrompts | undefined;

/** Reads and checks the baseline prompt file (once per process). */
export function baselinePrompts(): BaselinePrompts {
  if (baselines) return baselines;
  const file = readJson('caption-baselines');
  const llmInstruction = text(file.llmInstruction, 'caption-baselines.json llmInstruction');
  for (const placeholder of ['{caption}', '{keyword}'])
    if (!llmInstruction.includes(placeholder))
      throw promptFileError(`prompts/caption-baselines.json llmInstruction must contain ${placeholder}.`);
  const keywords = new Map<string, ConceptKeywords>();
  const raw = file.keywords;
  if (typeof raw !== 'object' || raw === null)
    throw promptFileError('prompts/caption-baselines.json needs "keywords".');
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    const { classPhrase, keywords: list } = (entry ?? {}) as { classPhrase?: unknown; keywords?: unknown };
    const words = Array.isArray(list) ? list.filter((w): w is string => typeof w === 'string' && w.trim() !== '') : [];
    if (typeof classPhrase !== 'string' || classPhrase.trim() === '' || words.length === 0)
      throw promptFileError(`prompts/caption-baselines.json keywords.${name} needs a classPhrase and keywords.`);
    keywords.set(name, { classPhrase, keywords: words });
  }
  baselines = {
    llmInstruction,
    answerPrefix: text(file.answerPrefix, 'caption-baselines.json answerPrefix', false),
    keywords,
  };
  return baselines;
}
