// Fitting an object head from features: the paper's trainer when negatives
// exist, the prototype rule of a fresh install when none do yet.
import type { LinearHeadParams } from '../../memory/concept.ts';
import { prototypeHead } from './prototype-head.ts';
import { trainObjectHead, type HeadTrainingOptions, type HeadTrainingSet } from './trainer.ts';

/** How a head came about: trained against negatives, or the prototype rule without any. */
export type HeadMethod = 'trained' | 'prototype';

export interface FittedHead {
  params: LinearHeadParams;
  method: HeadMethod;
  milliseconds: number;
}

/** Trains on negatives when there are any, otherwise builds the prototype head. */
export function fitObjectHead(set: HeadTrainingSet, options: HeadTrainingOptions): FittedHead {
  const started = performance.now();
  if (set.negatives.length === 0) {
    const params = prototypeHead(set.positives, options.extractor, options.seed);
    return { params, method: 'prototype', milliseconds: performance.now() - started };
  }
  const { params } = trainObjectHead(set, options);
  return { params, method: 'trained', milliseconds: performance.now() - started };
}
