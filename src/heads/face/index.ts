// The people head's public surface: the FaceHead the assistant uses, and the
// building blocks (detector, alignment, recognizer, matcher) for tools.
export { FaceHead } from './head.ts';
export type { FaceHeadOptions, FaceMatch, FacePhotoOutcome, FaceSighting, FaceTeachResult } from './head.ts';
export type { DetectedFace, EmbeddedFace, FaceDetector, FaceRecognizer, FiveLandmarks, Point } from './types.ts';
export { OnnxFaceDetector, detectorInputSize } from './detector.ts';
export type { DetectorOptions } from './detector.ts';
export { OnnxFaceRecognizer, l2Normalize } from './recognizer.ts';
export { alignFace, ARCFACE_TEMPLATE, estimateSimilarity } from './align.ts';
export { assignFaces, keyCount, nearestKeySimilarity, toFaceHeadParams, unpackKeys } from './keys.ts';
export type { FaceAssignment, PersonKeys } from './keys.ts';
export { horizontalPosition, iou } from './geometry.ts';
