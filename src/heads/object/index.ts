// The object concept head: image features, the linear head and its trainer,
// negatives, scoring many heads at once, and the evaluation protocol.
export { ObjectHead, type ObjectHeadOptions, type OpenObjectHeadOptions, type TeachObjectInput, type TeachObjectResult, type ObjectMatch, type ObjectNegativeSources } from './object-head.ts';
export { type ImageFeatureExtractor, OnnxImageFeatureExtractor, openImageFeatureExtractor, DEFAULT_FEATURE_BATCH } from './features.ts';
export { FeatureCache, type FeatureKey, type FeatureCacheOptions, DEFAULT_FEATURE_CACHE_ENTRIES } from './feature-cache.ts';
export { PhotoFeatures, type HashedImage } from './photo-features.ts';
export { viewPlan, viewTag, renderView, IDENTITY_VIEW, POSITIVE_VIEWS, NEGATIVE_VIEWS, type ViewSpec } from './views.ts';
export { trainObjectHead, type HeadTrainingSet, type HeadTrainingOptions, type HeadTrainingReport } from './trainer.ts';
export { fitObjectHead, type FittedHead, type HeadMethod } from './fit.ts';
export { prototypeHead, PROTOTYPE_SCALE, PROTOTYPE_MARGIN } from './prototype-head.ts';
export { crossEntropy, LinearHeadOptimizer, initLinearLayer, cosineLearningRate, positiveProbability, type LinearLayer } from './linear-head.ts';
export { normalizeFeature, fitNormalization, DEFAULT_NORMALIZATION, type NormalizationMode, type FeatureNormalization } from './normalization.ts';
export { HeadBank, scoreHeads, type ScopedHead, type HeadScore } from './head-bank.ts';
export { GenericNegatives, withoutLookalikes, MAX_GENERIC_NEGATIVES } from './negatives.ts';
export { loadObjectDataset, type ObjectDataset } from './dataset.ts';
export { evaluateObjectHeads, ALL_NEGATIVE_SOURCES, type NegativeSource, type ObjectEvalOptions, type ObjectEvalReport } from './evaluation.ts';
