// The paper's personalization experiment, per concept and fold (ALGORITHM.md
// section 6): teach the concept head and the concept embedding on the fold's
// photos, then answer for every held-out photo
// - with the concept injected, as the paper reports it ("forced"),
// - with it injected only where its head fires (what a user gets),
// - with the vector teaching started from (the control: an untaught vector),
// - without it (the vanilla model), and the two baselines built on that.
// Everything runs through the product's own code: the lesson of /teach, the
// object head of /teach, and the captions and answers of the chat.
// Each finished fold is written to the run folder at once, so an
// interrupted run resumes where it stopped.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OperatorError } from '../../errors.ts';
import { decodeImage, type DecodedImage } from '../../image/decode.ts';
import type { ObjectHead } from '../../heads/object/object-head.ts';
import type { ConceptRecord } from '../../memory/concept.ts';
import { readJsonIfPresent, writeJsonAtomic } from '../../teach/checkpoint.ts';
import { defaultTraining, teachLesson } from '../../teach/job.ts';
import type { TeachableExport } from '../../teach/teachable-export.ts';
import { initialTrainingState } from '../../teach/trainer.ts';
import { PersonalVlm } from '../../vlm/personal-vlm.ts';
import { teachingPrompts, fillConcept } from '../../vlm/prompts.ts';
import { keywordReplacement, keywordsOf, llmRewriteInstruction, readRewrite } from './baselines.ts';
import type { CaptionConcept, CaptionDataset, CaptionedPhoto } from './dataset.ts';
import { conceptFolds } from './folds.ts';

/** What is evaluated: personalized captions, or answers to the paper's ten questions (Table 1). */
export type PersonalizationTask = 'caption' | 'vqa';

export interface PersonalizationOptions {
  task: PersonalizationTask;
  shots: number;
  folds: number;
  seed: number;
  steps: number;
  /** The identifier the concept is taught as ("sks", as in the paper for objects). */
  identifier: string;
  /** Hard negatives by concept name (the dataset's negatives/<concept>/ photos), for the object head. */
  hardNegatives: ReadonlyMap<string, readonly string[]>;
  /** Where finished folds and vanilla answers are kept. */
  runDir: string;
  /** Everything the run's answers depend on; a run folder written with other settings is refused. */
  settingsKey: string;
  /** Held-out photos answered per fold, at most (default: all of them). */
  heldOut?: number;
  /** Longest answer, in tokens. */
  maxNewTokens: number;
  onProgress?: (message: string) => void;
}

/** One answer to compare: the model's text and, where known, the texts it should resemble. */
export interface AnswerRow {
  concept: string;
  fold: number;
  /** File name inside the concept's folder. */
  photo: string;
  sha256: string;
  /** The question asked (the captioning instruction for captions), with the identifier. */
  question: string;
  /** References with the concept's folder name in them; empty when the dataset has none for this question. */
  references: string[];
  /** Whether the concept's head fired on the photo; null when no head was trained. */
  headFired: boolean | null;
  headScore: number | null;
  forced: string;
  untaughtVector: string;
  vanilla: string;
  keyword: string;
  llm: string;
}

/** One finished fold, as kept in the run folder. */
export interface FoldResult {
  concept: string;
  fold: number;
  trainPhotos: string[];
  lossStart: number;
  lossEnd: number;
  teachSeconds: number;
  answerSeconds: number;
  rows: AnswerRow[];
}

/** The model and heads the evaluation runs on. */
export interface PersonalizationModels {
  vlm: TeachableExport;
  /** The object head, or null when no image-feature model is there (head rows are then not measured). */
  objects: ObjectHead | null;
}

/** The key of the taught vectors in the evaluation's concept records (answers are read back under it). */
export const EVALUATION_MODEL_ID = 'evaluation';

/** Vanilla answers and baselines depend only on the photo and the question: kept once per photo. */
interface VanillaAnswers {
  vanilla: string;
  keyword: string;
  llm: string;
}

/** Runs every fold that the run folder does not already hold; returns all folds in concept and fold order. */
export async function runPersonalization(
  models: PersonalizationModels,
  dataset: CaptionDataset,
  options: PersonalizationOptions,
): Promise<FoldResult[]> {
  claimRunFolder(options);
  const say = options.onProgress ?? (() => {});
  const plans = dataset.concepts.map((concept) => ({
    concept,
    folds: conceptFolds(concept.photos, concept.name, options.shots, options.folds, options.seed).map((f) => ({
      ...f,
      test: f.test.slice(0, options.heldOut ?? f.test.length),
    })),
  }));
  const results: FoldResult[] = [];
  const total = plans.length * options.folds;
  const done = plans.flatMap(({ concept, folds }) =>
    folds.filter((f) => existsSync(foldFile(options, concept.name, f.index))),
  );
  if (done.length > 0) say(`Resuming: ${done.length} of ${total} folds are already done in ${options.runDir}.`);
  for (const { concept, folds } of plans) {
    for (const fold of folds) {
      const file = foldFile(options, concept.name, fold.index);
      const kept = readJsonIfPresent<FoldResult>(file);
      if (kept) {
        results.push(kept);
        continue;
      }
      say(`${concept.name}, fold ${fold.index + 1}/${options.folds}: teaching on ${fold.train.length} photos…`);
      const others = plans.filter((p) => p.concept !== concept).flatMap((p) => p.folds[fold.index].train);
      const result = await runFold(models, concept, fold, others, options);
      writeJsonAtomic(file, result);
      results.push(result);
    }
  }
  return results;
}

/** Creates the run folder, or checks that the one there was written with the same settings. */
function claimRunFolder(options: PersonalizationOptions): void {
  const manifest = path.join(options.runDir, 'run.json');
  const kept = readJsonIfPresent<{ settings: string }>(manifest);
  if (kept && kept.settings !== options.settingsKey)
    throw new OperatorError(`${options.runDir} holds an evaluation run with other settings.`, {
      hint: 'Add --fresh to start over there, or name another --run-dir.',
    });
  mkdirSync(path.join(options.runDir, 'vanilla'), { recursive: true });
  if (!kept) writeJsonAtomic(manifest, { settings: options.settingsKey });
}

function foldFile(options: PersonalizationOptions, concept: string, fold: number): string {
  return path.join(options.runDir, `${concept}.fold${fold}.json`);
}

async function runFold(
  models: PersonalizationModels,
  concept: CaptionConcept,
  fold: { index: number; train: CaptionedPhoto[]; test: CaptionedPhoto[] },
  otherConceptsTrain: readonly CaptionedPhoto[],
  options: PersonalizationOptions,
): Promise<FoldResult> {
  const { vlm } = models;
  const { classPhrase, keywords } = keywordsOf(concept.name);
  const identifier = options.identifier;
  const seed = options.seed * 1000 + fold.index;
  const images = new FoldImages();
  const trainImages = await Promise.all(fold.train.map((p) => images.get(p.file)));

  const teachStarted = performance.now();
  const head = models.objects
    ? await models.objects.teach({
        positives: trainImages,
        negatives: {
          notIt: await Promise.all((options.hardNegatives.get(concept.name) ?? []).map((f) => images.get(f))),
          otherConcepts: await Promise.all(otherConceptsTrain.map((p) => images.get(p.file))),
        },
        seed,
      })
    : null;

  const outcome = await teachLesson(vlm, {
    concept: { identifier, name: concept.name, kind: 'object', classPhrase },
    task: options.task,
    training: { ...defaultTraining(options.task, vlm.model.family, seed), steps: options.steps },
    photos: trainImages.map((image, i) => ({
      image,
      caption: options.task === 'caption' ? fold.train[i].captions[0] : null,
    })),
  });
  const teachSeconds = (performance.now() - teachStarted) / 1000;

  const answering = new PersonalVlm(EVALUATION_MODEL_ID, vlm.model);
  const taught = evaluationConcept(identifier, outcome.state.vector);
  const untaught = evaluationConcept(identifier, initialTrainingState(vlm.hiddenSize, seed).vector);
  const answerStarted = performance.now();
  const rows: AnswerRow[] = [];
  for (const photo of fold.test) {
    const image = await images.get(photo.file);
    const match =
      head && models.objects
        ? await models.objects.match(image, [{ conceptId: 'concept', params: head.params }])
        : null;
    const score = match ? (match.scores[0]?.probability ?? null) : null;
    for (const { question, plain, references } of questionsFor(options.task, photo, identifier, classPhrase)) {
      const generation = { image, maxNewTokens: options.maxNewTokens };
      const ask = (concepts: ConceptRecord[]) =>
        options.task === 'caption'
          ? answering.caption({ ...generation, concepts })
          : answering.ask({ ...generation, concepts, question: concepts.length > 0 ? question : plain });
      const forced = (await ask([taught])).text;
      const untaughtVector = (await ask([untaught])).text;
      const vanilla = await vanillaAnswers(options, photo, question, () => ask([]), keywords, identifier, vlm);
      rows.push({
        concept: concept.name,
        fold: fold.index,
        photo: path.basename(photo.file),
        sha256: photo.sha256,
        question,
        references,
        headFired: match ? match.fired.length > 0 : null,
        headScore: score,
        forced,
        untaughtVector,
        ...vanilla,
      });
    }
  }
  return {
    concept: concept.name,
    fold: fold.index,
    trainPhotos: fold.train.map((p) => path.basename(p.file)),
    lossStart: outcome.lossStart,
    lossEnd: outcome.lossEnd,
    teachSeconds,
    answerSeconds: (performance.now() - answerStarted) / 1000,
    rows,
  };
}

/**
 * The questions a held-out photo is asked: the captioning instruction, or
 * the ten of Table 1 for the concept's kind. `plain` is the question the
 * vanilla model gets (the class phrase for the identifier); references are
 * the dataset's captions, or its recorded answer to that very question.
 */
function questionsFor(
  task: PersonalizationTask,
  photo: CaptionedPhoto,
  identifier: string,
  classPhrase: string,
): { question: string; plain: string; references: string[] }[] {
  if (task === 'caption') return [{ question: 'caption', plain: 'caption', references: photo.references }];
  return teachingPrompts().vqa.object.map((instruction) => {
    const question = fillConcept(instruction, identifier);
    const recorded = photo.qa.filter(
      ([q]) => q.trim().toLowerCase() === fillConcept(instruction, 'sks').trim().toLowerCase(),
    );
    return { question, plain: fillConcept(instruction, `the ${classPhrase}`), references: recorded.map(([, a]) => a) };
  });
}

/** The vanilla answer and the two baselines for one photo and question, computed once per run. */
async function vanillaAnswers(
  options: PersonalizationOptions,
  photo: CaptionedPhoto,
  question: string,
  answerVanilla: () => Promise<{ text: string }>,
  keywords: readonly string[],
  identifier: string,
  vlm: TeachableExport,
): Promise<VanillaAnswers> {
  const file = path.join(options.runDir, 'vanilla', `${photo.sha256}.${options.task}.${hashOf(question)}.json`);
  const kept = readJsonIfPresent<VanillaAnswers>(file);
  if (kept) return kept;
  const vanilla = (await answerVanilla()).text;
  const keyword = keywordReplacement(vanilla, keywords, identifier);
  const rewrite = await vlm.answer({
    instruction: llmRewriteInstruction(vanilla, keywords[0], identifier),
    maxNewTokens: options.maxNewTokens * 2,
  });
  const answers = { vanilla, keyword, llm: readRewrite(rewrite) };
  writeJsonAtomic(file, answers);
  return answers;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A concept record for the evaluation's answers: the identifier is its name, so answers keep "sks". */
export function evaluationConcept(identifier: string, vector: Float64Array | Float32Array): ConceptRecord {
  const now = new Date(0).toISOString();
  return {
    id: 'concept',
    scope: 'evaluation',
    name: identifier,
    identifier,
    kind: 'object',
    owner: 'evaluation',
    createdAt: now,
    updatedAt: now,
    version: 1,
    head: null,
    embeddings: {
      [EVALUATION_MODEL_ID]: { vector: Float32Array.from(vector), steps: 0, finalLoss: null, updatedAt: now },
    },
    facts: [],
    photos: [],
  };
}

/** The photos one fold reads, each decoded once (dropped with the fold: a run reads hundreds). */
class FoldImages {
  private readonly images = new Map<string, Promise<DecodedImage>>();

  get(file: string): Promise<DecodedImage> {
    let image = this.images.get(file);
    if (!image) {
      image = readFile(file).then((bytes) => decodeImage(new Uint8Array(bytes)));
      this.images.set(file, image);
    }
    return image;
  }
}
