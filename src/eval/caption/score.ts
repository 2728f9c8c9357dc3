// The evaluation's numbers, from the answers of every fold (run.ts):
// - recall: the share of answers that contain the identifier (the paper's
//   headline number);
// - the standard captioning metrics against the references (captions_augmented,
//   or the dataset's recorded answer to a question), with the identifier and
//   the concept's folder name both written as its class phrase first, so the
//   vanilla model is not penalized for not knowing the identifier;
// for MyVLM as the paper reports it (the concept injected in every held-out
// photo), MyVLM as a user gets it (injected where its head fires), the
// vanilla model, the two baselines and the untaught-vector control.
import { EVALUATION } from '../../config/defaults.ts';
import { containsWord, replaceWord } from '../../teach/targets.ts';
import { captionMetrics, type CaptionScores } from '../metrics/index.ts';
import { keywordsOf, withClassPhrase } from './baselines.ts';
import type { AnswerRow, FoldResult, PersonalizationTask } from './run.ts';

export type { CaptionScores };

/** Recall, and the metrics where references exist (null when no answer had references). */
export interface MethodScores {
  /** Share of answers containing the identifier. */
  recall: number;
  answers: number;
  metrics: CaptionScores | null;
}

/** The answer of each method in a row. */
type Method = 'forced' | 'head' | 'untaughtVector' | 'vanilla' | 'keyword' | 'llm';

export interface ConceptScores {
  name: string;
  folds: number;
  answers: number;
  recall: number;
  headRecall: number | null;
  /** Share of held-out photos on which the head fired. */
  headFiredRate: number | null;
  untaughtVectorRecall: number;
  vanillaRecall: number;
  keywordRecall: number;
  llmRecall: number;
  metrics: CaptionScores | null;
  lossStart: number;
  lossEnd: number;
}

export interface PersonalizationScores extends MethodScores {
  /** MyVLM's answers with the concept injected only where its head fired; null without a head. */
  withHead: (MethodScores & { firedRate: number }) | null;
  vanilla: MethodScores;
  baselines: { keyword: MethodScores; llm: MethodScores };
  controls: { untaughtVector: MethodScores };
  concepts: ConceptScores[];
  /** Mean loss of the teaching photos before and after, over every fold. */
  loss: { start: number; end: number };
  /** Whether the vanilla model's captions (or answers) resemble the references at all (random weights do not). */
  weightsLookTrained: { value: boolean; vanillaBleu1: number | null; floor: number; reason: string };
  seconds: { teach: number; answer: number };
}

function answerOf(row: AnswerRow, method: Method): string {
  if (method === 'head') return row.headFired ? row.forced : row.vanilla;
  return row[method];
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Recall and metrics of one method over some rows. */
export function scoreMethod(rows: readonly AnswerRow[], method: Method, identifier: string): MethodScores {
  const recall = mean(rows.map((r) => (containsWord(answerOf(r, method), identifier) ? 1 : 0)));
  const scored = rows.filter((r) => r.references.length > 0);
  if (scored.length === 0) return { recall, answers: rows.length, metrics: null };
  const pairs = scored.map((r, i) => {
    const { classPhrase } = keywordsOf(r.concept);
    return {
      id: `${i}`,
      candidate: withClassPhrase(answerOf(r, method), identifier, classPhrase),
      references: r.references.map((ref) =>
        withClassPhrase(replaceWord(ref, r.concept, classPhrase), identifier, classPhrase),
      ),
    };
  });
  const { bleu1, bleu2, bleu3, bleu4, cider, meteor, rougeL } = captionMetrics(pairs);
  return { recall, answers: rows.length, metrics: { bleu1, bleu2, bleu3, bleu4, cider, meteor, rougeL } };
}

/** Every number of the report, from the finished folds. */
export function scorePersonalization(
  folds: readonly FoldResult[],
  task: PersonalizationTask,
  identifier: string,
): PersonalizationScores {
  const rows = folds.flatMap((f) => f.rows);
  const withHead = rows.every((r) => r.headFired !== null);
  const forced = scoreMethod(rows, 'forced', identifier);
  const vanilla = scoreMethod(rows, 'vanilla', identifier);
  const names = [...new Set(folds.map((f) => f.concept))];
  const concepts = names.map((name): ConceptScores => {
    const own = folds.filter((f) => f.concept === name);
    const ownRows = own.flatMap((f) => f.rows);
    const recallOf = (method: Method) => scoreMethod(ownRows, method, identifier).recall;
    return {
      name,
      folds: own.length,
      answers: ownRows.length,
      recall: recallOf('forced'),
      headRecall: withHead ? recallOf('head') : null,
      headFiredRate: withHead ? mean(ownRows.map((r) => (r.headFired ? 1 : 0))) : null,
      untaughtVectorRecall: recallOf('untaughtVector'),
      vanillaRecall: recallOf('vanilla'),
      keywordRecall: recallOf('keyword'),
      llmRecall: recallOf('llm'),
      metrics: scoreMethod(ownRows, 'forced', identifier).metrics,
      lossStart: mean(own.map((f) => f.lossStart)),
      lossEnd: mean(own.map((f) => f.lossEnd)),
    };
  });
  const vanillaBleu1 = vanilla.metrics?.bleu1 ?? null;
  const floor = EVALUATION.trainedVanillaBleu1Floor;
  const noun = task === 'caption' ? 'captions' : 'answers';
  const looksTrained = vanillaBleu1 === null || vanillaBleu1 >= floor;
  return {
    ...forced,
    withHead: withHead
      ? { ...scoreMethod(rows, 'head', identifier), firedRate: mean(rows.map((r) => (r.headFired ? 1 : 0))) }
      : null,
    vanilla,
    baselines: { keyword: scoreMethod(rows, 'keyword', identifier), llm: scoreMethod(rows, 'llm', identifier) },
    controls: { untaughtVector: scoreMethod(rows, 'untaughtVector', identifier) },
    concepts,
    loss: { start: mean(folds.map((f) => f.lossStart)), end: mean(folds.map((f) => f.lossEnd)) },
    weightsLookTrained: {
      value: looksTrained,
      vanillaBleu1,
      floor,
      reason:
        vanillaBleu1 === null
          ? 'not judged: no answer had references to compare the vanilla model with'
          : looksTrained
            ? `the vanilla model's ${noun} share words with the references (BLEU-1 ${vanillaBleu1.toFixed(3)} >= ${floor})`
            : `the vanilla model's ${noun} share almost no words with the references (BLEU-1 ${vanillaBleu1.toFixed(3)} < ${floor}): ` +
              'its weights look random or it does not caption, so these numbers measure nothing about personalization',
    },
    seconds: {
      teach: folds.reduce((s, f) => s + f.teachSeconds, 0),
      answer: folds.reduce((s, f) => s + f.answerSeconds, 0),
    },
  };
}
