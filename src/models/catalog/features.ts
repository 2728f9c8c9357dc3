// Image feature extractors for object concept heads: CLIP image encoders for
// real users, and the small real MobileNetV3 that tests and evaluation use here.
import type { VisionModelEntry } from '../entry.ts';

export interface ImageFeaturesEntry extends VisionModelEntry {
  task: 'image-features';
  output: string;
  dims: number;
}

export const IMAGE_FEATURE_EXTRACTORS: readonly ImageFeaturesEntry[] = [
  {
    id: 'mobilenet-v3-small-576',
    task: 'image-features',
    family: 'mobilenet-v3',
    description: 'MobileNetV3-Small (ImageNet), pooled 576-d features; a weak stand-in for CLIP used by tests.',
    licence: 'BSD-3-Clause (torchvision); ImageNet terms',
    directory: 'image-features',
    files: [{ path: 'mobilenet_v3_small_576.onnx', bytes: 3882620, sha256: 'f4288158ae24fa8f3b78ee1b3c74cb7b73d98674bdea5a693d103ab742d39a98' }],
    source: { kind: 'manual', instructions: 'Export torchvision mobilenet_v3_small without its classifier to ONNX and place it under <models dir>/image-features/.' },
    testOnly: true,
    input: 'input',
    output: 'mean_9',
    dims: 576,
    preprocess: { resize: 'center-crop', width: 224, height: 224, shorterSide: 256, channels: 'rgb', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  },
];
