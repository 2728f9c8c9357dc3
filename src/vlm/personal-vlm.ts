// The personalized VLM: a loaded model plus the concepts that fired in a
// photo, turned into a personalized caption, an answer to a question, or a
// box around one concept. Concepts enter as one token each (their stored
// embedding for this model), and their remembered facts as quoted data;
// prompts speak identifiers, answers speak names. A question without a photo
// goes to the language model alone, with the facts of the concepts it names.
import { InternalError, UserError } from '../errors.ts';
import type { Box } from '../image/box.ts';
import type { RgbImage } from '../image/decode.ts';
import { moduleLogger } from '../log.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import { parseBox, type BoxSyntaxId, type NormalizedBox } from './boxes.ts';
import { generate, type GenerationResult } from './export/generation.ts';
import type { VlmExport } from './export/vlm-export.ts';
import {
  captionInstruction,
  questionInstruction,
  referInstruction,
  sanitizeUserText,
  withFacts,
  type VlmFamily,
} from './families.ts';
import { identifiersForNames, namesForIdentifiers } from './identifiers.ts';
import { boxOnPhoto, type VlmImageInput } from './image-input.ts';
import { conceptVectorProblem } from './injection.ts';

const logger = moduleLogger('vlm');

/**
 * Seed of every sampled answer unless the caller gives one: the same photo,
 * concepts and question give the same answer (the paper samples LLaVA with
 * temperature 0.2; a fixed seed makes that repeatable).
 */
export const DEFAULT_GENERATION_SEED = 0;

/** Longest question passed to the model, in characters (a chat message can be long; a prompt should not be). */
export const MAX_QUESTION_LENGTH = 500;

/** How to generate; every field defaults to the family's decoding (ALGORITHM.md section 5). */
export interface GenerationOptions {
  sample?: boolean;
  temperature?: number;
  topP?: number;
  maxNewTokens?: number;
  /** Seeds sampling; default DEFAULT_GENERATION_SEED. */
  seed?: number;
  /** Generate exactly maxNewTokens, through stop tokens (benchmarks and tests). */
  ignoreStopTokens?: boolean;
  /** Each new token id, as soon as it is chosen. */
  onToken?: (token: number) => void;
  /** The answer so far, with names in place of identifiers, after each token. */
  onText?: (partial: string) => void;
}

/** The facts of injected concepts, spoken of by identifier as the prompt around them is. */
function factsByIdentifier(concepts: readonly ConceptRecord[]): Array<{ label: string; facts: readonly string[] }> {
  return concepts.map((c) => ({ label: c.identifier, facts: c.facts }));
}

/** A photo and the concepts whose heads fired in it, in the order their tokens are appended. */
export interface LookRequest extends GenerationOptions {
  image: RgbImage;
  concepts: readonly ConceptRecord[];
}

/** A concept that fired but was not injected, and why. */
export interface SkippedConcept {
  concept: ConceptRecord;
  reason: string;
}

/** A generated answer, as the user sees it and as the model wrote it. */
export interface VlmAnswer {
  /** The answer as the user sees it: names, no special tokens. */
  text: string;
  /** The answer as the model wrote it (identifiers, special tokens kept). */
  rawText: string;
  /** The prompt, as rendered (identifiers, one image placeholder). */
  prompt: string;
  injected: ConceptRecord[];
  skipped: SkippedConcept[];
  generation: GenerationResult & { totalMs: number; firstTokenMs: number | null };
}

/** A REC answer: the box on the photo when the model gave a usable one. */
export interface ReferAnswer extends VlmAnswer {
  /** The concept's box on the photo, or null with `problem` saying why. */
  located: { box: Box; normalized: NormalizedBox; syntax: BoxSyntaxId } | null;
  problem: string | null;
}

/** A loaded VLM that answers by name; build one with `openVlm`. */
export class PersonalVlm {
  readonly family: VlmFamily;
  /** One generation at a time: the decoder's sessions are shared. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    /** The key of this model's concept embeddings (`ConceptRecord.embeddings[id]`). */
    readonly id: string,
    /** The export it runs on: prompt renderer, image processor, sessions (teaching opens the same). */
    readonly model: VlmExport,
  ) {
    this.family = model.family;
  }

  /** The folder of the export. */
  get dir(): string {
    return this.model.dir;
  }

  /** Width of a concept embedding for this model. */
  get hiddenSize(): number {
    return this.model.hiddenSize;
  }

  /** Splits fired concepts into those with a usable embedding for this model (in order) and the others. */
  usableConcepts(concepts: readonly ConceptRecord[]): { injected: ConceptRecord[]; skipped: SkippedConcept[] } {
    const injected: ConceptRecord[] = [];
    const skipped: SkippedConcept[] = [];
    for (const concept of concepts) {
      const embedding = concept.embeddings[this.id];
      const problem = embedding
        ? conceptVectorProblem(embedding.vector, this.hiddenSize)
        : 'it has not been taught to this vision-language model yet';
      if (problem) skipped.push({ concept, reason: problem });
      else if (!injected.some((c) => c.id === concept.id)) injected.push(concept);
    }
    for (const { concept, reason } of skipped)
      if (concept.embeddings[this.id])
        logger.warn({ concept: concept.id, model: this.id, reason }, 'concept embedding not usable');
    return { injected, skipped };
  }

  /** A personalized caption: "Rex sleeping on the blue sofa". */
  async caption(request: LookRequest): Promise<VlmAnswer> {
    const { injected, skipped } = this.usableConcepts(request.concepts);
    const instruction = captionInstruction(
      this.family,
      injected.map((c) => c.identifier),
    );
    return this.run(request, withFacts(this.family, instruction, factsByIdentifier(injected)), injected, skipped);
  }

  /** An answer to a question about the photo; names in the question become identifiers. */
  async ask(request: LookRequest & { question: string }): Promise<VlmAnswer> {
    const { injected, skipped } = this.usableConcepts(request.concepts);
    const question = identifiersForNames(sanitizeUserText(this.family, request.question), injected);
    if (!question) throw new UserError('What would you like to know about this photo?');
    if (question.length > MAX_QUESTION_LENGTH)
      throw new UserError(`Please keep a question under ${MAX_QUESTION_LENGTH} characters.`);
    const instruction = withFacts(this.family, questionInstruction(this.family, question), factsByIdentifier(injected));
    return this.run(request, instruction, injected, skipped);
  }

  /**
   * A question with no photo about `concepts` (those the user named): the
   * language model alone, with their facts as quoted data. Without a photo
   * no concept token can join, so the prompt speaks of them by name.
   */
  async askAbout(
    request: GenerationOptions & { question: string; concepts: readonly ConceptRecord[] },
  ): Promise<VlmAnswer> {
    const question = sanitizeUserText(this.family, request.question);
    if (!question) throw new UserError('What would you like to know?');
    if (question.length > MAX_QUESTION_LENGTH)
      throw new UserError(`Please keep a question under ${MAX_QUESTION_LENGTH} characters.`);
    const facts = request.concepts.map((c) => ({ label: c.name, facts: c.facts }));
    return this.run({ ...request, image: null }, withFacts(this.family, question, facts), [], []);
  }

  /**
   * Where `target` is: only its own token is appended, the family's REC prompt
   * asks for its box, and the answer's box is mapped back onto the photo. An
   * answer without a usable box gives `located: null` and the reason.
   */
  async refer(request: Omit<LookRequest, 'concepts'> & { target: ConceptRecord }): Promise<ReferAnswer> {
    const { injected, skipped } = this.usableConcepts([request.target]);
    if (injected.length === 0)
      throw new UserError(`I cannot point at ${request.target.name} yet: ${skipped[0]?.reason ?? 'no embedding'}.`);
    const input = await this.model.images.prepare(request.image);
    const answer = await this.run(
      request,
      referInstruction(this.family, request.target.identifier),
      injected,
      skipped,
      input,
    );
    const parsed = parseBox(answer.rawText, this.family.box);
    if (!parsed.ok) return { ...answer, located: null, problem: parsed.reason };
    const box = boxOnPhoto(parsed.box, input);
    if (box.width < 1 || box.height < 1) return { ...answer, located: null, problem: 'its box lies outside the photo' };
    return { ...answer, located: { box, normalized: parsed.box, syntax: parsed.syntax }, problem: null };
  }

  /**
   * Generates for an instruction already written with identifiers (for the
   * benchmarks); concepts without a usable embedding are skipped, as in every task.
   */
  async generate(request: LookRequest & { instruction: string }): Promise<VlmAnswer> {
    const { injected, skipped } = this.usableConcepts(request.concepts);
    return this.run(request, request.instruction, injected, skipped);
  }

  /** Waits for the generation in flight; the sessions belong to the pool, which closes them. */
  async dispose(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private run(
    request: GenerationOptions & { image: RgbImage | null },
    instruction: string,
    injected: ConceptRecord[],
    skipped: SkippedConcept[],
    prepared?: VlmImageInput,
  ): Promise<VlmAnswer> {
    const task = this.queue.then(() => this.runNow(request, instruction, injected, skipped, prepared));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async runNow(
    request: GenerationOptions & { image: RgbImage | null },
    instruction: string,
    injected: ConceptRecord[],
    skipped: SkippedConcept[],
    prepared?: VlmImageInput,
  ): Promise<VlmAnswer> {
    const { model } = this;
    const decoding = this.family.decoding;
    const maxNewTokens = request.maxNewTokens ?? decoding.maxNewTokens;
    // Callers pass the family's setting or a constant of their own.
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
      throw new InternalError(`maxNewTokens must be a whole number of at least 1 (got ${maxNewTokens}).`);
    // Features first: the prompt has one placeholder per feature row (and none without a photo).
    const features = request.image ? await model.encode(prepared ?? (await model.images.prepare(request.image))) : null;
    const prompt = model.prompts.prompt(instruction, { withImage: features !== null, conceptRows: injected.length });
    const named = injected.map((c) => ({ identifier: c.identifier, name: c.name }));
    const started = performance.now();
    let firstTokenMs: number | null = null;
    const streamed: number[] = [];
    const stopTokenIds = request.ignoreStopTokens ? [] : model.prompts.stopTokenIds;
    const result = await generate(model, {
      prompt,
      features,
      concepts: injected.map((c) => c.embeddings[this.id].vector),
      choice: {
        sample: request.sample ?? decoding.sample,
        temperature: request.temperature ?? decoding.temperature,
        topP: request.topP ?? decoding.topP,
      },
      seed: request.seed ?? DEFAULT_GENERATION_SEED,
      maxNewTokens,
      stopTokenIds,
      onToken: (token) => {
        firstTokenMs ??= performance.now() - started;
        request.onToken?.(token);
        if (request.onText) {
          streamed.push(token);
          request.onText(namesForIdentifiers(this.decode(streamed, stopTokenIds, false), named));
        }
      },
    });
    const totalMs = performance.now() - started;
    const rawText = this.decode(result.tokens, stopTokenIds, true);
    const text = namesForIdentifiers(this.decode(result.tokens, stopTokenIds, false), named);
    logger.debug(
      {
        model: this.id,
        promptTokens: result.promptTokens,
        newTokens: result.tokens.length,
        concepts: injected.length,
        totalMs,
      },
      'generated',
    );
    return { text, rawText, prompt: prompt.text, injected, skipped, generation: { ...result, totalMs, firstTokenMs } };
  }

  /** Tokens to text; a final stop token is not part of the answer. */
  private decode(tokens: readonly number[], stopTokenIds: readonly number[], raw: boolean): string {
    const body = tokens.length > 0 && stopTokenIds.includes(tokens[tokens.length - 1]) ? tokens.slice(0, -1) : tokens;
    return this.model.prompts.decode(body, raw);
  }
}
