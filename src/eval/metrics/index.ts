// The captioning metrics of the MyVLM paper's Table 4, computed as
// coco-caption (pycocoevalcap) computes them: every caption tokenized once by
// coco's rules, then BLEU-1..4, METEOR, ROUGE-L and CIDEr-D over the corpus.
// CIDEr learns its weights from the references of the pairs given, so score
// the whole evaluation set in one call, not image by image.
import { InternalError } from '../../errors.ts';
import { bleu } from './bleu.ts';
import { cider } from './cider.ts';
import { meteor } from './meteor.ts';
import { rouge } from './rouge.ts';
import { tokenizeCaption, type TokenizedPair } from './tokenize.ts';

/** One image: the caption to judge and the human captions to judge it against. */
export interface CaptionPair {
  id: string;
  candidate: string;
  references: string[];
}

export interface CaptionScores {
  bleu1: number;
  bleu2: number;
  bleu3: number;
  bleu4: number;
  cider: number;
  /** Exact and stem matches only: usually below coco's Java METEOR, which adds synonyms and paraphrases (see meteor.ts). */
  meteor: number;
  rougeL: number;
}

export interface CaptionMetrics extends CaptionScores {
  /** The same scores for each image on its own, by id (CIDEr still weighted by the whole corpus). */
  perId: Map<string, CaptionScores>;
}

/** Scores candidates against references the way coco-caption does; ids must be unique, each with a reference. */
export function captionMetrics(pairs: readonly CaptionPair[]): CaptionMetrics {
  if (pairs.length === 0) throw new InternalError('captionMetrics needs at least one caption pair.');
  const ids = new Set<string>();
  for (const { id, references } of pairs) {
    if (ids.has(id)) throw new InternalError(`captionMetrics got image id "${id}" twice.`);
    if (references.length === 0) throw new InternalError(`captionMetrics got no reference caption for image "${id}".`);
    ids.add(id);
  }
  const tokenized: TokenizedPair[] = pairs.map(({ id, candidate, references }) => ({
    id,
    candidate: tokenizeCaption(candidate),
    references: references.map(tokenizeCaption),
  }));
  const bleuScores = bleu(tokenized);
  const ciderScores = cider(tokenized);
  const meteorScores = meteor(tokenized);
  const rougeScores = rouge(tokenized);
  const [bleu1, bleu2, bleu3, bleu4] = bleuScores.corpus;
  const perId = new Map<string, CaptionScores>();
  tokenized.forEach(({ id }, i) => {
    const [b1, b2, b3, b4] = bleuScores.perPair[i];
    perId.set(id, {
      bleu1: b1,
      bleu2: b2,
      bleu3: b3,
      bleu4: b4,
      cider: ciderScores.perPair[i],
      meteor: meteorScores.perPair[i],
      rougeL: rougeScores.perPair[i],
    });
  });
  return {
    bleu1,
    bleu2,
    bleu3,
    bleu4,
    cider: ciderScores.corpus,
    meteor: meteorScores.corpus,
    rougeL: rougeScores.corpus,
    perId,
  };
}
