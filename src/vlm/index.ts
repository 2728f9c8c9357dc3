// The personalized VLM: model families as data, concept-token injection,
// generation on transformers.js's LLaVA or the project's session loop, names
// in answers, and boxes from REC answers.
export { formatBox, parseBox } from './boxes.ts';
export type { BoxParse, BoxSyntaxId, NormalizedBox } from './boxes.ts';
export { expandPlaceholder } from './engine.ts';
export type { EngineRequest, EngineResult, GenerationEngine } from './engine.ts';
export {
  captionInstruction,
  detectFamily,
  joinIdentifiers,
  questionInstruction,
  referInstruction,
  renderPrompt,
  sanitizeUserText,
  VLM_FAMILIES,
} from './families.ts';
export type { ConceptScale, DecodingDefaults, TaskPrompts, VlmFamily, VlmFamilyId, VlmRuntime } from './families.ts';
export { identifiersForNames, mentions, namesForIdentifiers } from './identifiers.ts';
export type { NamedIdentifier } from './identifiers.ts';
export { boxOnPhoto, VlmImageProcessor } from './image-input.ts';
export type { VlmImageInput } from './image-input.ts';
export { appendConceptRows, conceptVectorProblem, referenceNorm, scaledConceptRow } from './injection.ts';
export { detectGraphFiles, openVlm, vlmIdForFolder } from './load.ts';
export type { OpenVlmOptions } from './load.ts';
export { lazyVlm, vlmFromSettings } from './provider.ts';
export type { VlmProvider } from './provider.ts';
export { DEFAULT_GENERATION_SEED, MAX_QUESTION_LENGTH, PersonalVlm } from './personal-vlm.ts';
export type { GenerationOptions, LookRequest, PersonalVlmParts, ReferAnswer, SkippedConcept, VlmAnswer } from './personal-vlm.ts';
export { chooseToken } from './sampling.ts';
export type { TokenChoice } from './sampling.ts';
