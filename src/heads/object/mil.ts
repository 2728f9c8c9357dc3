// Multiple-instance training of an object head over regions. A teaching photo
// shows the concept somewhere, so at least one of its regions is positive;
// every region of a negative photo is negative. Round 0 trains the paper's
// head on the whole teaching photos; each later round takes, in every
// teaching photo, the region the current head scores highest as that photo's
// positive (with the augmented views of that crop) and retrains, until the
// choice stops changing or the rounds run out (MI-SVM's alternation, with the
// paper's linear head and schedule in place of an SVM).
import { OBJECT_REGIONS } from '../../config/defaults.ts';
import { InternalError } from '../../errors.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import { positiveProbability } from './linear-head.ts';
import { normalizeFeature } from './normalization.ts';
import { trainObjectHead, type HeadTrainingOptions } from './trainer.ts';

/** Training data of a multiple-instance head. */
export interface MilTrainingSet {
  /** Per positive photo, the feature of each of its regions (region 0 is the whole photo). */
  positives: ReadonlyArray<readonly Float32Array[]>;
  /** Per negative instance (a region of a negative photo), the features of its views (at least one). */
  negatives: ReadonlyArray<readonly Float32Array[]>;
  /** The augmented views of region `region` of positive photo `photo` (view 0 the crop itself); may compute them. */
  viewsOf(photo: number, region: number): Promise<readonly Float32Array[]>;
}

export interface MilTrainingOptions extends HeadTrainingOptions {
  /** Rounds of re-choosing the positive regions after round 0 (default OBJECT_REGIONS.milRounds). */
  rounds?: number;
}

export interface MilResult {
  params: LinearHeadParams;
  /** Per positive photo, the region index its last round trained on. */
  chosen: number[];
  /** Rounds trained, round 0 included. */
  rounds: number;
}

/** Trains a head that scores a photo by its best region (`scoring: 'regions'`). Same data and seed, same head. */
export async function trainMilHead(set: MilTrainingSet, options: MilTrainingOptions): Promise<MilResult> {
  if (set.positives.length === 0) throw new InternalError('a multiple-instance head needs at least one positive photo');
  const rounds = options.rounds ?? OBJECT_REGIONS.milRounds;
  let chosen = set.positives.map(() => 0);
  let params = await trainRound(set, chosen, options);
  let trained = 1;
  for (let round = 0; round < rounds; round++) {
    const next = set.positives.map((regions) => bestRegion(params, regions).region);
    if (next.every((r, i) => r === chosen[i])) break;
    chosen = next;
    params = await trainRound(set, chosen, options);
    trained += 1;
  }
  return { params: { ...params, scoring: 'regions' }, chosen, rounds: trained };
}

/** The region a head scores highest, and that score. */
export function bestRegion(
  params: LinearHeadParams,
  regions: readonly Float32Array[],
): { region: number; probability: number } {
  let best = { region: 0, probability: -1 };
  regions.forEach((feature, region) => {
    const probability = positiveProbability(params, normalizeFeature(feature, params.normalization));
    if (probability > best.probability) best = { region, probability };
  });
  return best;
}

async function trainRound(
  set: MilTrainingSet,
  chosen: readonly number[],
  options: MilTrainingOptions,
): Promise<LinearHeadParams> {
  const positives = await Promise.all(chosen.map((region, photo) => set.viewsOf(photo, region)));
  return trainObjectHead({ positives, negatives: set.negatives }, options).params;
}
