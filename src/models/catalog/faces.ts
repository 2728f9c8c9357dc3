// Face detectors and recognizers: the small real ones that tests use, and the
// InsightFace buffalo_l pair that the paper used and real users should run.
import type { VisionModelEntry } from '../entry.ts';

export interface FaceDetectorEntry extends VisionModelEntry {
  task: 'face-detection';
  /** Output decoder: YuNet (cls/obj/bbox/kps per stride) or SCRFD (score/bbox/kps per stride). */
  decoder: 'yunet' | 'scrfd';
  /** Whether the graph accepts any input size that is a multiple of `stride`. */
  dynamicSize: boolean;
  strides: readonly number[];
  scoreThreshold: number;
  nmsIouThreshold: number;
  /** Faces smaller than this (shorter box side, photo pixels) are ignored. */
  minFaceSize: number;
}

export interface FaceRecognizerEntry extends VisionModelEntry {
  task: 'face-recognition';
  output: string;
  dims: number;
  /** Cosine similarity at or above which a face matches a key; measured per recognizer. */
  threshold: number;
  /** Where the threshold comes from (a measurement, with the command that reproduces it). */
  thresholdEvidence: string;
}

const YUNET_PREPROCESS = {
  resize: 'letterbox',
  width: 640,
  height: 640,
  channels: 'bgr',
  scale: 1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
} as const;

export const FACE_DETECTORS: readonly FaceDetectorEntry[] = [
  {
    id: 'yunet-2023mar',
    task: 'face-detection',
    family: 'yunet',
    description: 'YuNet-s face detector (OpenCV FaceDetectorYN, 2023mar), 640x640 input, five landmarks.',
    licence: 'Apache-2.0',
    directory: 'face-detection',
    files: [{ path: 'yunet_2023mar_640.onnx', remotePath: 'face_detection_yunet_2023mar.onnx', bytes: 232589, sha256: '8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4' }],
    source: { kind: 'hub', repo: 'opencv/face_detection_yunet', revision: 'main' },
    input: 'input',
    preprocess: YUNET_PREPROCESS,
    decoder: 'yunet',
    dynamicSize: false,
    strides: [8, 16, 32],
    scoreThreshold: 0.6,
    nmsIouThreshold: 0.3,
    minFaceSize: 16,
  },
];

export const FACE_RECOGNIZERS: readonly FaceRecognizerEntry[] = [
  {
    id: 'mobilefacenet',
    task: 'face-recognition',
    family: 'mobilefacenet',
    description: 'MobileFaceNet, 128-d embeddings (LFW 99.48%); small enough for tests.',
    licence: 'Apache-2.0 (code); weights trained on MS1M, research use',
    directory: 'face-recognition',
    files: [{ path: 'mobilefacenet.onnx', bytes: 3998463, sha256: '0c9ad2a83969fc82155706f7020e6926b4a1a90a5476fff4a5588dfe207f64a4' }],
    source: { kind: 'manual', instructions: 'Place mobilefacenet.onnx (foamliu/MobileFaceNet export) under <models dir>/face-recognition/.' },
    testOnly: true,
    input: 'input',
    output: 'embeddings',
    preprocess: { resize: 'stretch', width: 112, height: 112, channels: 'rgb', scale: 1 / 128, mean: [127.5 / 128, 127.5 / 128, 127.5 / 128], std: [1, 1, 1] },
    dims: 128,
    threshold: 0.5,
    thresholdEvidence: 'placeholder from ../shared/models/README.md; to be measured with `npx myvlm eval faces --sweep`',
  },
];
