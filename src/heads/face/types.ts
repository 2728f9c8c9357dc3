// The shapes the face pipeline passes between its stages: a detected face in
// photo pixels, an aligned crop, an embedded face. Detectors and recognizers
// sit behind the two small interfaces below, whatever model family they run.
import type { RgbImage } from '../../image/decode.ts';
import type { Box } from '../../image/box.ts';

/** A point in photo pixels, [x, y]. */
export type Point = readonly [number, number];

/**
 * The five facial landmarks every supported detector predicts, in this order:
 * right eye, left eye (as seen in the photo: the left-most eye first), nose tip,
 * right mouth corner, left mouth corner. The ArcFace template uses the same order.
 */
export type FiveLandmarks = readonly [Point, Point, Point, Point, Point];

/** One face found by a detector, mapped back to the photo's pixels. */
export interface DetectedFace {
  box: Box;
  /** Detector confidence in [0, 1]. */
  score: number;
  landmarks: FiveLandmarks;
}

/** Finds faces in a photo. */
export interface FaceDetector {
  /** Registry id of the model behind it. */
  readonly id: string;
  /** Every face at least the detector's minimum size, best score first. */
  detect(image: RgbImage): Promise<DetectedFace[]>;
}

/** Turns aligned face crops into identity embeddings. */
export interface FaceRecognizer {
  /** Registry id; keys are only comparable between faces of the same recognizer. */
  readonly id: string;
  /** Embedding dimension. */
  readonly dims: number;
  /** Side of the square crop it expects (112 for the ArcFace template). */
  readonly inputSize: number;
  /** One L2-normalized embedding per crop, in order; all crops in as few runs as the model allows. */
  embed(crops: readonly RgbImage[]): Promise<Float32Array[]>;
}

/** A detected face together with its identity embedding. */
export interface EmbeddedFace extends DetectedFace {
  /** L2-normalized; null when the face is too small for the recognizer to tell people apart (not embedded). */
  embedding: Float32Array | null;
}
