// Training targets a chat user can actually provide: the caption written with
// a photo, or else the base model's own caption with the concept's class
// phrase replaced by its identifier; four paraphrases from the model itself
// (the paper's prompt), kept only when they keep the identifier; and, for
// VQA, the base model's answers to the paper's ten questions (Table 1).
import type { RgbImage } from '../image/decode.ts';
import type { ConceptKind } from '../memory/concept.ts';
import { fillConcept, teachingPrompts, type CaptionFamily } from '../vlm/prompts.ts';
import type { TeachableVlm } from './teachable.ts';

/** A teaching photo and the caption its sender wrote (null when none). */
export interface TeachingPhoto {
  image: RgbImage;
  caption: string | null;
}

/** One (instruction, answer) pair a training step can draw. */
export interface TargetChoice {
  instruction: string;
  target: string;
}

/** The choices of one photo; a step draws one per photo. */
export interface PhotoTargets {
  image: RgbImage;
  choices: TargetChoice[];
}

/** Who is being taught. */
export interface ConceptToTeach {
  /** Word used in prompts and targets ("sks", "Anna"). */
  identifier: string;
  /** Display name the user gave; written captions that use it are rewritten to the identifier. */
  name: string;
  kind: ConceptKind;
  /** Words for the concept's category ("the dog"); defaults by kind. */
  classPhrase?: string;
}

/** Class phrases tried when none is given, longest first where they overlap. */
const DEFAULT_CLASS_PHRASES: Record<ConceptKind, string[]> = {
  person: [
    'the person',
    'the woman',
    'the man',
    'the girl',
    'the boy',
    'a person',
    'a woman',
    'a man',
    'a girl',
    'a boy',
  ],
  object: ['the object', 'an object', 'the item', 'an item', 'the thing', 'a thing'],
};

/** Longest answer, in new tokens, asked of the model for a target. */
const TARGET_MAX_TOKENS = 48;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `text` contains `word` as a whole word (case-insensitive). */
export function containsWord(text: string, word: string): boolean {
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word)}(?=$|[^\\p{L}\\p{N}])`, 'iu').test(text);
}

/** Replaces every whole-word occurrence of `phrase` (case-insensitive) by `replacement`. */
export function replaceWord(text: string, phrase: string, replacement: string): string {
  return text.replace(
    new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(phrase)}(?=$|[^\\p{L}\\p{N}])`, 'giu'),
    (_m, before: string) => `${before}${replacement}`,
  );
}

function classPhrases(concept: ConceptToTeach): string[] {
  return concept.classPhrase ? [concept.classPhrase] : DEFAULT_CLASS_PHRASES[concept.kind];
}

/** The first class phrase found in `text` replaced by the identifier, or null when none occurs. */
export function substituteClassPhrase(text: string, concept: ConceptToTeach): string | null {
  for (const phrase of classPhrases(concept))
    if (containsWord(text, phrase)) return replaceWord(text, phrase, concept.identifier);
  return null;
}

/**
 * The photo's main target: the sender's caption (with the display name
 * written as the identifier), else the model's caption of the photo asked
 * about the class phrase, with that phrase replaced by the identifier.
 */
export async function primaryCaption(
  vlm: TeachableVlm,
  photo: TeachingPhoto,
  concept: ConceptToTeach,
  family: CaptionFamily,
): Promise<string> {
  const prompts = teachingPrompts();
  const written = photo.caption?.trim();
  if (written) {
    const renamed =
      concept.name && concept.name !== concept.identifier
        ? replaceWord(written, concept.name, concept.identifier)
        : written;
    if (containsWord(renamed, concept.identifier)) return renamed;
    const substituted = substituteClassPhrase(renamed, concept);
    if (substituted) return substituted;
  }
  const phrase = classPhrases(concept)[0];
  const generated = await vlm.answer({
    image: await vlm.imageFeatures(photo.image),
    instruction: fillConcept(prompts.captioning[family], phrase),
    maxNewTokens: TARGET_MAX_TOKENS,
  });
  return substituteClassPhrase(generated, concept) ?? fillConcept(prompts.fallbackTarget, concept.identifier);
}

/** Lines of a list answer, without numbering or bullets. */
function listItems(answer: string): string[] {
  return answer
    .split(/\n+/)
    .map((line) =>
      line
        .replace(/^\s*(?:\d+[.):]|[-*•])\s*/, '')
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    )
    .filter((line) => line.length > 0);
}

/**
 * The usable variations in a model's answer to the paraphrase request: one
 * per line (numbering and quotes removed), kept when it keeps the identifier,
 * differs from the caption and from the others, and has a plausible length.
 * Filled up to `count` with the caption itself.
 */
export function keepVariations(answer: string, caption: string, identifier: string, count: number): string[] {
  const words = caption.split(/\s+/).length;
  const kept: string[] = [];
  for (const item of listItems(answer)) {
    const length = item.split(/\s+/).length;
    const plausible = length >= Math.max(2, words / 2) && length <= words * 2 + 2;
    const fresh =
      item.toLowerCase() !== caption.toLowerCase() && !kept.some((k) => k.toLowerCase() === item.toLowerCase());
    if (plausible && fresh && containsWord(item, identifier)) kept.push(item);
    if (kept.length === count) break;
  }
  while (kept.length < count) kept.push(caption);
  return kept;
}

/** Four paraphrases of `caption` asked of the model with the paper's request (see keepVariations). */
export async function paraphrases(vlm: TeachableVlm, caption: string, identifier: string): Promise<string[]> {
  const { instruction, layout, variations } = teachingPrompts().paraphrase;
  const request = layout.replace('{instruction}', fillConcept(instruction, identifier)).replace('{caption}', caption);
  const answer = await vlm.answer({ instruction: request, maxNewTokens: TARGET_MAX_TOKENS * variations });
  return keepVariations(answer, caption, identifier, variations);
}

/** Captioning targets: per photo, the fixed instruction and five captions (ALGORITHM.md section 4). */
export async function captionTargets(
  vlm: TeachableVlm,
  photos: readonly TeachingPhoto[],
  concept: ConceptToTeach,
  family: CaptionFamily = 'llava',
): Promise<PhotoTargets[]> {
  const instruction = fillConcept(teachingPrompts().captioning[family], concept.identifier);
  const out: PhotoTargets[] = [];
  for (const photo of photos) {
    const caption = await primaryCaption(vlm, photo, concept, family);
    const variants = await paraphrases(vlm, caption, concept.identifier);
    out.push({ image: photo.image, choices: [caption, ...variants].map((target) => ({ instruction, target })) });
  }
  return out;
}

/**
 * VQA targets: for each of the ten instructions of the concept's kind, the
 * base model's answer to it asked about the class phrase, lower-cased, with
 * the class phrase replaced by the identifier. Empty answers are dropped.
 */
export async function vqaTargets(
  vlm: TeachableVlm,
  photos: readonly TeachingPhoto[],
  concept: ConceptToTeach,
): Promise<PhotoTargets[]> {
  const questions = teachingPrompts().vqa[concept.kind];
  const phrase = classPhrases(concept)[0];
  const out: PhotoTargets[] = [];
  for (const photo of photos) {
    const features = await vlm.imageFeatures(photo.image);
    const choices: TargetChoice[] = [];
    for (const question of questions) {
      const answer = (
        await vlm.answer({
          image: features,
          instruction: fillConcept(question, phrase),
          maxNewTokens: TARGET_MAX_TOKENS,
        })
      ).toLowerCase();
      const target = replaceWord(answer, phrase, concept.identifier).trim();
      if (target) choices.push({ instruction: fillConcept(question, concept.identifier), target });
    }
    if (choices.length === 0)
      choices.push({
        instruction: fillConcept(questions[questions.length - 1], concept.identifier),
        target: fillConcept(teachingPrompts().fallbackTarget, concept.identifier),
      });
    out.push({ image: photo.image, choices });
  }
  return out;
}
