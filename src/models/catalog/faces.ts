// Face detectors and recognizers: the small real ones that tests use, and the
// InsightFace buffalo_l pair that the paper used and real users should run.
// Thresholds are measured per recognizer (docs/faces.md says how).
import { FACE } from '../../config/defaults.ts';
import type { VisionModelEntry } from '../entry.ts';
import type { PackagedWeights } from '../packaged.ts';
import { hubFile } from './hub-files.ts';
import { DLIB_CHIP_SIZE, DLIB_EMBEDDING_DIMS } from '../dlib-resnet.ts';

export interface FaceDetectorEntry extends VisionModelEntry {
  task: 'face-detection';
  /** Output decoder: YuNet (cls/obj/bbox/kps per stride) or SCRFD (score/bbox/kps per stride, anchor-based). */
  decoder: 'yunet' | 'scrfd';
  /**
   * Whether the graph accepts any input size that is a multiple of the largest
   * stride. Dynamic graphs run each photo at its own aspect ratio with the long
   * side at `inputLongSide`; fixed ones letterbox into `preprocess` width x height.
   */
  dynamicSize: boolean;
  /** Long side of the model input for dynamic graphs (ignored by fixed ones). */
  inputLongSide: number;
  strides: readonly number[];
  /** SCRFD only: anchors per grid cell. */
  anchorsPerCell?: number;
  scoreThreshold: number;
  nmsIouThreshold: number;
  /** Faces smaller than this (shorter box side, photo pixels) are ignored: too few pixels to recognize. */
  minFaceSize: number;
}

/**
 * Per-person thresholds (`personThresholds` in heads/face/keys.ts): how far a
 * person's threshold may fall below the global one (`maxLowering`), and how far
 * it must stay above the most similar pair of keys between them and any other
 * person of the scope (`margin`). Cosine similarities, measured per recognizer.
 */
export interface PerPersonRule {
  maxLowering: number;
  margin: number;
}

export interface FaceRecognizerEntry extends VisionModelEntry {
  task: 'face-recognition';
  output: string;
  dims: number;
  /** Whether the graph takes a batch of any size (one run for all faces of a photo). */
  dynamicBatch: boolean;
  /**
   * Embed each face and its mirror image and average the two (then
   * L2-normalize). Part of the embedding protocol, so `threshold` was measured with it.
   */
  flipAverage: boolean;
  /**
   * Faces whose shorter box side (photo pixels) is below this are counted but
   * neither matched nor taught: upscaled from so few pixels, their embeddings
   * drift towards each other and name strangers. Measured per recognizer.
   */
  minFaceSize: number;
  /** Cosine similarity at or above which a face matches a key; measured per recognizer. */
  threshold: number;
  /** Where the threshold comes from (a measurement, with the command that reproduces it). */
  thresholdEvidence: string;
  /** The per-person threshold rule's constants, or null where they were not measured (every person keeps `threshold`). */
  perPerson: PerPersonRule | null;
  /** Where `perPerson` comes from (or why there is none), with the command that reproduces it. */
  perPersonEvidence: string;
  /**
   * A teaching photo whose face is less similar than this (cosine) to the rest
   * of its lesson shows someone else (see `facesOfSomeoneElse`). Measured per
   * recognizer, like `threshold`: similarities of different people sit at
   * different heights in each embedding space, so no share of the threshold
   * carries over. Null where it was not measured: the check is skipped.
   */
  someoneElseBelow: number | null;
  /** Where `someoneElseBelow` comes from (or why there is none), with the command that reproduces it. */
  someoneElseEvidence: string;
  /** Set when the weights come with `npm install` and are converted into `files` on first use (no download). */
  packaged?: PackagedWeights;
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

/** Where InsightFace's buffalo_l pack is published; its models are for non-commercial research only. */
const BUFFALO_L_INSTRUCTIONS =
  'InsightFace models are licensed for non-commercial research only, so they are not downloaded automatically. ' +
  'Download buffalo_l.zip from the InsightFace v0.7 release (https://github.com/deepinsight/insightface/releases/tag/v0.7) ' +
  'and unzip it.';

const BUFFALO_L_LICENCE = 'InsightFace buffalo_l: non-commercial research use only';

/** OpenCV Zoo's YuNet on the hub (see hub-files.ts for why it is not pinned to a commit). */
const YUNET_HUB = { kind: 'hub', repo: 'opencv/face_detection_yunet', revision: 'main' } as const;

export const FACE_DETECTORS: readonly FaceDetectorEntry[] = [
  {
    id: 'yunet-2023mar',
    task: 'face-detection',
    family: 'yunet',
    description: 'YuNet-s face detector (OpenCV FaceDetectorYN, 2023mar), 640x640 letterboxed input, five landmarks.',
    licence: 'Apache-2.0',
    licenceUse: 'permissive',
    directory: 'face-detection',
    files: [hubFile(YUNET_HUB.repo, YUNET_HUB.revision, 'face_detection_yunet_2023mar.onnx', 'yunet_2023mar_640.onnx')],
    source: YUNET_HUB,
    input: 'input',
    preprocess: YUNET_PREPROCESS,
    decoder: 'yunet',
    dynamicSize: false,
    inputLongSide: 640,
    strides: [8, 16, 32],
    scoreThreshold: 0.6,
    nmsIouThreshold: 0.3,
    minFaceSize: 16,
  },
  {
    id: 'yunet-s-dynamic',
    task: 'face-detection',
    family: 'yunet',
    description:
      'The same YuNet-s weights with dynamic input size: each photo keeps its aspect ratio (no padding to detect on).',
    licence: 'Apache-2.0',
    licenceUse: 'permissive',
    directory: 'face-detection',
    files: [
      {
        path: 'yunet_s_dynamic.onnx',
        bytes: 237823,
        sha256: 'daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3',
      },
    ],
    source: {
      kind: 'manual',
      instructions:
        'Export YuNet-s from libfacedetection.train with dynamic batch, height and width (multiples of 32) ' +
        'and place it as <models dir>/face-detection/yunet_s_dynamic.onnx.',
    },
    input: 'input',
    preprocess: YUNET_PREPROCESS,
    decoder: 'yunet',
    dynamicSize: true,
    inputLongSide: 640,
    strides: [8, 16, 32],
    scoreThreshold: 0.6,
    nmsIouThreshold: 0.3,
    minFaceSize: 16,
  },
  {
    id: 'scrfd-10g-buffalo-l',
    task: 'face-detection',
    family: 'scrfd',
    description:
      'SCRFD-10GF with landmarks (InsightFace buffalo_l det_10g), the detector the paper used; 640x640 letterboxed.',
    licence: BUFFALO_L_LICENCE,
    licenceUse: 'research-only',
    alternative: { id: 'yunet-2023mar', why: 'Apache-2.0, a 233 KB download' },
    directory: 'buffalo_l',
    files: [{ path: 'det_10g.onnx' }],
    source: { kind: 'manual', instructions: BUFFALO_L_INSTRUCTIONS },
    input: 'input.1',
    preprocess: {
      resize: 'letterbox',
      width: 640,
      height: 640,
      channels: 'rgb',
      scale: 1 / 128,
      mean: [127.5 / 128, 127.5 / 128, 127.5 / 128],
      std: [1, 1, 1],
    },
    decoder: 'scrfd',
    dynamicSize: false,
    inputLongSide: 640,
    strides: [8, 16, 32],
    anchorsPerCell: 2,
    scoreThreshold: 0.5,
    nmsIouThreshold: 0.4,
    minFaceSize: 16,
  },
];

/**
 * dlib's face recognition ResNet as @vladmandic/face-api 1.7.15 ships it
 * (tfjs weights, uint8-quantized). Sizes and sha256 of the package files as
 * installed from the npm registry, and of the ONNX file the converter makes
 * from them (deterministic: the same bytes on every machine).
 */
const FACE_API_RECOGNITION: PackagedWeights = {
  package: '@vladmandic/face-api',
  version: '1.7.15',
  files: [
    {
      path: 'model/face_recognition_model-weights_manifest.json',
      bytes: 19615,
      sha256: 'cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b',
    },
    {
      path: 'model/face_recognition_model.bin',
      bytes: 6444032,
      sha256: 'b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589',
    },
  ],
  convert: 'face-api-recognition',
};

export const FACE_RECOGNIZERS: readonly FaceRecognizerEntry[] = [
  {
    id: 'dlib-resnet-v1',
    task: 'face-recognition',
    family: 'dlib-resnet',
    description:
      "dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1, LFW 99.38%), 128-d, 150x150 dlib face chip; " +
      'installed with the npm packages and converted to ONNX on first use, no download.',
    licence: 'CC0-1.0 (dlib model); MIT (@vladmandic/face-api package)',
    licenceUse: 'permissive',
    directory: 'face-recognition',
    files: [
      {
        path: 'dlib_face_recognition_resnet_model_v1.onnx',
        bytes: 22444004,
        sha256: '4a3c849a164258fc06f151330f5804b0aa58a4fc390b96b47c451e1b8837ee10',
      },
    ],
    source: {
      kind: 'generated',
      command: 'npm install (the weights come with @vladmandic/face-api and are converted on first use)',
    },
    packaged: FACE_API_RECOGNITION,
    input: 'input',
    output: 'embedding',
    preprocess: {
      resize: 'stretch',
      width: DLIB_CHIP_SIZE,
      height: DLIB_CHIP_SIZE,
      channels: 'rgb',
      // dlib's input layer: (value - mean RGB of its training set) / 256.
      scale: 1 / 256,
      mean: [122.782 / 256, 117.001 / 256, 104.298 / 256],
      std: [1, 1, 1],
    },
    dims: DLIB_EMBEDDING_DIMS,
    dynamicBatch: true,
    flipAverage: FACE.dlibResnet.flipAverage,
    minFaceSize: FACE.dlibResnet.minFaceSize,
    threshold: FACE.dlibResnet.threshold,
    thresholdEvidence: FACE.dlibResnet.thresholdEvidence,
    perPerson: FACE.dlibResnet.perPerson,
    perPersonEvidence: FACE.dlibResnet.perPersonEvidence,
    someoneElseBelow: FACE.dlibResnet.someoneElseBelow,
    someoneElseEvidence: FACE.dlibResnet.someoneElseEvidence,
  },
  {
    id: 'mobilefacenet',
    task: 'face-recognition',
    family: 'mobilefacenet',
    description: 'MobileFaceNet, 128-d embeddings (LFW 99.48%); small enough for tests.',
    licence: 'Apache-2.0 (code); weights trained on MS1M, research use',
    licenceUse: 'research-only',
    directory: 'face-recognition',
    files: [
      {
        path: 'mobilefacenet.onnx',
        bytes: 3998463,
        sha256: '0c9ad2a83969fc82155706f7020e6926b4a1a90a5476fff4a5588dfe207f64a4',
      },
    ],
    source: {
      kind: 'manual',
      instructions: 'Place mobilefacenet.onnx (foamliu/MobileFaceNet export) under <models dir>/face-recognition/.',
    },
    testOnly: true,
    input: 'input',
    output: 'embeddings',
    preprocess: {
      resize: 'stretch',
      width: 112,
      height: 112,
      channels: 'rgb',
      scale: 1 / 128,
      mean: [127.5 / 128, 127.5 / 128, 127.5 / 128],
      std: [1, 1, 1],
    },
    dims: 128,
    dynamicBatch: true,
    flipAverage: true,
    minFaceSize: 24,
    threshold: 0.475,
    thresholdEvidence:
      'The lowest threshold at which a person taught alone fires on at most 1% of the photos without them, in every evaluation run: ' +
      '../shared/data/faces with 4 shots (seeds 1-5) needs 0.30; ../shared/data/photos with 1, 2 and 3 shots (seeds 1-10) needs 0.45, 0.475 and 0.475 ' +
      '(look-alike actresses). docs/faces.md has the sweeps; reproduce with `myvlm eval faces <dir> --recognizer mobilefacenet --shots 4 --repeats 5 --sweep`.',
    perPerson: FACE.mobileFaceNet.perPerson,
    perPersonEvidence: FACE.mobileFaceNet.perPersonEvidence,
    someoneElseBelow: 0.17,
    someoneElseEvidence:
      'The largest bound (steps of 0.01) that refuses at most 5% of honest lessons on the calibration half of ../shared/data/faces ' +
      '(single-face photos split by content hash; 2000 lessons per size, mean over 2-4 photos): honest lessons of 2/3/4 photos ' +
      'refused 3.4/4.3/6.5%, lessons with one photo of someone else caught 94.6/94.5/94.4%; held-out half: 8.5/11.8/13.7% refused ' +
      '(over the 5% aimed at: a few odd photos decide it on 11 people), 94.5/94.4/94.9% caught. ' +
      'Reproduce with `npm run bench -- teaching-checks`.',
  },
  {
    id: 'arcface-r50-buffalo-l',
    task: 'face-recognition',
    family: 'arcface',
    description:
      'ArcFace ResNet-50 trained on WebFace600K (InsightFace buffalo_l w600k_r50), 512-d; the recognizer the paper used.',
    licence: BUFFALO_L_LICENCE,
    licenceUse: 'research-only',
    alternative: { id: 'dlib-resnet-v1', why: 'CC0 weights that come with npm install and work offline' },
    directory: 'buffalo_l',
    files: [{ path: 'w600k_r50.onnx' }],
    source: { kind: 'manual', instructions: BUFFALO_L_INSTRUCTIONS },
    input: 'input.1',
    output: '683',
    preprocess: {
      resize: 'stretch',
      width: 112,
      height: 112,
      channels: 'rgb',
      scale: 1 / 127.5,
      mean: [1, 1, 1],
      std: [1, 1, 1],
    },
    dims: 512,
    dynamicBatch: true,
    flipAverage: false,
    minFaceSize: 16,
    threshold: 1 - FACE.arcfaceBuffaloLDistanceThreshold,
    thresholdEvidence:
      "The paper's cosine distance 0.675 for buffalo_l (similarity >= 0.325), used as published: " +
      'the InsightFace models cannot be shipped here to re-measure it. ' +
      'Re-measure with `myvlm eval faces <dir> --recognizer arcface-r50-buffalo-l --sweep`.',
    perPerson: null,
    perPersonEvidence:
      'Not measured: the InsightFace models cannot be shipped here, so every person keeps the global threshold. ' +
      'With them, `myvlm eval faces <dir> --recognizer arcface-r50-buffalo-l --sweep` chooses the constants on the calibration half.',
    someoneElseBelow: null,
    someoneElseEvidence:
      'Not measured: the InsightFace models cannot be shipped here. No share of the threshold stands in for it (the bound ' +
      'depends on where different people score in each embedding space), so lessons are not checked to show one person ' +
      '(logged once). With w600k_r50.onnx in <models dir>/buffalo_l, `npm run bench -- teaching-checks` measures it.',
  },
];
