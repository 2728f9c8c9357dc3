// Image feature extractors for object concept heads: CLIP image encoders for
// real users (a light default and the paper's backbone), and the small real
// MobileNets that tests and evaluation use here.
import type { Preprocess } from '../../image/tensor.ts';
import type { VisionModelEntry } from '../entry.ts';
import { hubFile } from './hub-files.ts';

export interface ImageFeaturesEntry extends VisionModelEntry {
  task: 'image-features';
  /** Name of the pooled feature output. */
  output: string;
  /** Length of that output per photo. */
  dims: number;
  /**
   * Optional: the inner [N, dims, h, w] activation whose spatial mean is
   * `output`. With it, a region's feature is the mean of the map's cells under
   * the region, from the photo's own run; without it, each region is encoded
   * as a crop (one more image in the batch per region).
   */
  featureMap?: string;
}

/** Pinned to the revision that added the vision-only graphs (July 2023). */
const CLIP_B32_HUB = {
  kind: 'hub',
  repo: 'Xenova/clip-vit-base-patch32',
  revision: '4c1807b705b1d015fb032789cc4d221b23025a6f',
} as const;

/** OpenAI CLIP's pixel statistics, shared by every CLIP below. */
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** CLIPImageProcessor for ViT-B/32: shortest side to 224 (bicubic), centre crop 224. */
const CLIP_224: Preprocess = {
  resize: 'center-crop',
  width: 224,
  height: 224,
  shorterSide: 224,
  channels: 'rgb',
  scale: 1 / 255,
  mean: CLIP_MEAN,
  std: CLIP_STD,
  kernel: 'cubic',
};

/** ImageNet statistics of torchvision's classifiers: shorter side 256, centre crop 224. */
const IMAGENET_224: Preprocess = {
  resize: 'center-crop',
  width: 224,
  height: 224,
  shorterSide: 256,
  channels: 'rgb',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

export const IMAGE_FEATURE_EXTRACTORS: readonly ImageFeaturesEntry[] = [
  {
    id: 'clip-vit-b32',
    task: 'image-features',
    family: 'clip',
    description:
      'OpenAI CLIP ViT-B/32 image encoder (transformers.js ONNX export), 512-d projected embedding; ' +
      'the light default (352 MB, about 0.1 s per photo on a laptop CPU).',
    licence: 'MIT (OpenAI CLIP)',
    licenceUse: 'permissive',
    directory: 'clip-vit-b32',
    files: [hubFile(CLIP_B32_HUB.repo, CLIP_B32_HUB.revision, 'onnx/vision_model.onnx', 'vision_model.onnx')],
    source: CLIP_B32_HUB,
    input: 'pixel_values',
    output: 'image_embeds',
    dims: 512,
    preprocess: CLIP_224,
  },
  {
    id: 'clip-dfn5b-vit-h14-378',
    task: 'image-features',
    family: 'clip',
    description:
      "Apple DFN5B CLIP ViT-H/14 at 378 px, 1024-d projected embedding: the paper's backbone (about 2.5 GB; a GPU is advisable).",
    licence: 'Apple Sample Code License (apple/DFN5B-CLIP-ViT-H-14-378)',
    directory: 'clip-dfn5b-vit-h14-378',
    files: [{ path: 'vision_model.onnx' }],
    source: {
      kind: 'manual',
      instructions: [
        'No official ONNX export exists; export the image tower yourself (Python, with torch and open_clip_torch installed):',
        "`model, preprocess = open_clip.create_model_from_pretrained('hf-hub:apple/DFN5B-CLIP-ViT-H-14-378')`, then",
        "`torch.onnx.export(model.visual.eval(), torch.zeros(1, 3, 378, 378), 'vision_model.onnx', " +
          "input_names=['pixel_values'], output_names=['image_embeds'], " +
          "dynamic_axes={'pixel_values': {0: 'batch'}, 'image_embeds': {0: 'batch'}}, opset_version=17)`",
        '(weights over 2 GB are written beside it as external data; keep those files together).',
        'Place vision_model.onnx under <models dir>/clip-dfn5b-vit-h14-378/ and set MYVLM_IMAGE_FEATURES=clip-dfn5b-vit-h14-378.',
      ].join(' '),
    },
    input: 'pixel_values',
    output: 'image_embeds',
    dims: 1024,
    // open_clip's preprocess for this model: squash (no crop) to 378x378, bicubic.
    preprocess: {
      resize: 'stretch',
      width: 378,
      height: 378,
      channels: 'rgb',
      scale: 1 / 255,
      mean: CLIP_MEAN,
      std: CLIP_STD,
      kernel: 'cubic',
    },
  },
  {
    id: 'mobilenet-v3-small-576',
    task: 'image-features',
    family: 'mobilenet-v3',
    description:
      'MobileNetV3-Small (ImageNet), pooled 576-d features; a weak stand-in for CLIP used by tests and evaluation here.',
    licence: 'BSD-3-Clause (torchvision); ImageNet terms',
    directory: 'image-features',
    files: [
      {
        path: 'mobilenet_v3_small_576.onnx',
        bytes: 3882620,
        sha256: 'f4288158ae24fa8f3b78ee1b3c74cb7b73d98674bdea5a693d103ab742d39a98',
      },
    ],
    source: {
      kind: 'manual',
      instructions:
        'Export torchvision mobilenet_v3_small without its classifier to ONNX and place it under <models dir>/image-features/.',
    },
    testOnly: true,
    input: 'input',
    output: 'mean_9',
    featureMap: 'hardswish_17',
    dims: 576,
    preprocess: IMAGENET_224,
  },
  {
    id: 'mobilenet-v2-int8-1280',
    task: 'image-features',
    family: 'mobilenet-v2',
    description:
      'MobileNetV2 (ImageNet), int8 QDQ, pooled 1280-d features (batch of one); a second small backbone for comparisons.',
    licence: 'BSD-3-Clause (torchvision); ImageNet terms',
    directory: 'image-features',
    files: [
      {
        path: 'mobilenet_v2_int8_1280.onnx',
        bytes: 3861617,
        sha256: '83b58681d362f0c4627a3edf2a75c5ec7bc0c22dd2fc9e3b7d762526281e6fba',
      },
    ],
    source: {
      kind: 'manual',
      instructions:
        'Quantize torchvision mobilenet_v2 to int8 (QDQ), expose the pooled 1280-d features as output "view", and place it under <models dir>/image-features/.',
    },
    testOnly: true,
    input: 'image',
    output: 'view',
    dims: 1280,
    preprocess: IMAGENET_224,
  },
];
