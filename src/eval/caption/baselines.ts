// The two baselines the paper compares MyVLM with (supplementary material,
// "Personalized Captioning Baselines"), both starting from the vanilla
// model's caption of the photo:
// - simple replacement: where one of the concept's keywords appears, the
//   identifier takes its place;
// - LLM-guided replacement: a language model is asked to do that rewrite
//   (the paper used Mistral-7B-Instruct; here the evaluated VLM's own
//   language model answers, text only, so no second model is needed).
import { containsWord, replaceWord } from '../../teach/targets.ts';
import { baselinePrompts, fillConcept, type ConceptKeywords } from '../../vlm/prompts.ts';

/** The concept's class phrase and keywords: prompts/caption-baselines.json's, else the last word of its folder name. */
export function keywordsOf(conceptName: string): ConceptKeywords {
  const listed = baselinePrompts().keywords.get(conceptName);
  if (listed) return listed;
  const words = conceptName.split(/[_\s-]+/).filter(Boolean);
  const last = words.at(-1) ?? conceptName;
  return { classPhrase: last, keywords: [last] };
}

/**
 * The simple baseline: the first keyword (in the listed order) found in the
 * caption is replaced by the identifier wherever it occurs; with none found
 * the caption stays as it was (and does not name the concept).
 */
export function keywordReplacement(caption: string, keywords: readonly string[], identifier: string): string {
  const found = keywords.find((keyword) => containsWord(caption, keyword));
  return found === undefined ? caption : replaceWord(caption, found, identifier);
}

/** The LLM-guided baseline's request for one caption, with the concept's first keyword. */
export function llmRewriteInstruction(caption: string, keyword: string, identifier: string): string {
  const { llmInstruction } = baselinePrompts();
  const sentence = caption.trim().replace(/[.\s]+$/, '');
  return fillConcept(llmInstruction, identifier).split('{keyword}').join(keyword).split('{caption}').join(sentence);
}

/** The rewritten caption in the model's answer: the text after "Revised:" (or the whole answer), first line. */
export function readRewrite(answer: string): string {
  const { answerPrefix } = baselinePrompts();
  const at = answer.toLowerCase().indexOf(answerPrefix.toLowerCase());
  const rest = at >= 0 ? answer.slice(at + answerPrefix.length) : answer;
  const line = rest.trim().split(/\r?\n/)[0].trim();
  return line.replace(/^["'“”]+|["'“”]+$/g, '').trim();
}

/** Every occurrence of `identifier` replaced by the class phrase, for text comparisons (ALGORITHM.md section 6). */
export function withClassPhrase(text: string, identifier: string, classPhrase: string): string {
  return replaceWord(text, identifier, classPhrase);
}
