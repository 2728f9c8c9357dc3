// dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1,
// Davis King, weights CC0) as an ONNX graph, built from the TensorFlow.js
// port of its weights that @vladmandic/face-api ships. The network: a 7x7
// stride-2 convolution and 3x3 max pool, 13 residual blocks in four widths
// (32, 64, 128, 256), global average pooling and a 256 -> 128 linear layer.
// dlib's batch norms were frozen into per-channel affine ("scale") layers;
// they are folded into the convolutions here, which is exact arithmetic up
// to float rounding.
import { InternalError, OperatorError } from '../errors.ts';
import { OnnxModel } from '../onnx/model.ts';
import { Ops } from '../onnx/ops.ts';
import type { FloatTensor } from './tfjs-weights.ts';

/** Side of the square face chip the network takes (dlib's 150x150 chip). */
export const DLIB_CHIP_SIZE = 150;
/** Embedding size. */
export const DLIB_EMBEDDING_DIMS = 128;
export const DLIB_INPUT = 'input';
export const DLIB_OUTPUT = 'embedding';

/**
 * The residual blocks in order: name, output channels, and whether the block
 * halves the resolution (dlib's `ares_down`: a stride-2 first convolution,
 * the shortcut average-pooled by 2 and zero-padded to the new width).
 */
const BLOCKS: ReadonlyArray<{ name: string; channels: number; down: boolean }> = [
  { name: 'conv32_1', channels: 32, down: false },
  { name: 'conv32_2', channels: 32, down: false },
  { name: 'conv32_3', channels: 32, down: false },
  { name: 'conv64_down', channels: 64, down: true },
  { name: 'conv64_1', channels: 64, down: false },
  { name: 'conv64_2', channels: 64, down: false },
  { name: 'conv64_3', channels: 64, down: false },
  { name: 'conv128_down', channels: 128, down: true },
  { name: 'conv128_1', channels: 128, down: false },
  { name: 'conv128_2', channels: 128, down: false },
  { name: 'conv256_down', channels: 256, down: true },
  { name: 'conv256_1', channels: 256, down: false },
  { name: 'conv256_2', channels: 256, down: false },
  { name: 'conv256_down_out', channels: 256, down: true },
];

/** Output side of a convolution or pool without padding. */
const unpadded = (side: number, kernel: number, stride: number) => Math.floor((side - kernel) / stride) + 1;

class DlibResnetBuilder {
  private readonly op: Ops;

  constructor(
    private readonly model: OnnxModel,
    private readonly weights: ReadonlyMap<string, FloatTensor>,
  ) {
    this.op = new Ops(model.graph);
  }

  private tensor(name: string, shape: readonly number[]): Float32Array {
    const t = this.weights.get(name);
    if (!t) throw new OperatorError(`The face recognition weights have no tensor "${name}".`, { hint: WEIGHTS_HINT });
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new OperatorError(
        `The weight "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}].`,
        {
          hint: WEIGHTS_HINT,
        },
      );
    return t.values;
  }

  /**
   * Convolution + affine scale layer, folded: for output channel o,
   * (conv(x, W)[o] + b[o]) * s[o] + t[o] = conv(x, W * s[o])[o] + (b[o] s[o] + t[o]).
   * TensorFlow stores filters as [kh, kw, in, out]; ONNX wants [out, in, kh, kw].
   */
  conv(
    x: string,
    prefix: string,
    inputs: number,
    outputs: number,
    kernel: number,
    stride: number,
    pad: number,
  ): string {
    const filters = this.tensor(`${prefix}/conv/filters`, [kernel, kernel, inputs, outputs]);
    const bias = this.tensor(`${prefix}/conv/bias`, [outputs]);
    const scale = this.tensor(`${prefix}/scale/weights`, [outputs]);
    const shift = this.tensor(`${prefix}/scale/biases`, [outputs]);
    const w = new Float32Array(outputs * inputs * kernel * kernel);
    for (let ky = 0; ky < kernel; ky++)
      for (let kx = 0; kx < kernel; kx++)
        for (let i = 0; i < inputs; i++)
          for (let o = 0; o < outputs; o++) {
            const from = ((ky * kernel + kx) * inputs + i) * outputs + o;
            w[((o * inputs + i) * kernel + ky) * kernel + kx] = filters[from] * scale[o];
          }
    const b = Float32Array.from(bias, (v, o) => v * scale[o] + shift[o]);
    const g = this.model.graph;
    const weight = g.addInitializer(`${prefix}.weight`, w, [outputs, inputs, kernel, kernel]);
    const biasName = g.addInitializer(`${prefix}.bias`, b, [outputs]);
    return this.op.node('Conv', [x, weight, biasName], {
      kernel_shape: [kernel, kernel],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
    });
  }

  /** One residual block; returns the output and its side. */
  block(x: string, side: number, inputs: number, spec: (typeof BLOCKS)[number]): { out: string; side: number } {
    const { name, channels, down } = spec;
    const op = this.op;
    return this.model.graph.withScope(name, () => {
      if (!down) {
        const h = op.relu(this.conv(x, `${name}/conv1`, inputs, channels, 3, 1, 1));
        const y = this.conv(h, `${name}/conv2`, channels, channels, 3, 1, 1);
        return { out: op.relu(op.add(y, x)), side };
      }
      // dlib adds tensors of different sizes by zero-filling the smaller one
      // (add_prev): the stride-2 unpadded convolution can come out one pixel
      // short of the pooled shortcut, and the shortcut has fewer channels.
      const convSide = unpadded(side, 3, 2);
      const poolSide = unpadded(side, 2, 2);
      let y = this.conv(
        op.relu(this.conv(x, `${name}/conv1`, inputs, channels, 3, 2, 0)),
        `${name}/conv2`,
        channels,
        channels,
        3,
        1,
        1,
      );
      let shortcut = op.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
      const grow = poolSide - convSide;
      if (grow < 0) throw new InternalError(`dlib-resnet: ${name} convolution outgrows its shortcut`);
      if (grow > 0) y = op.node('Pad', [y, op.int64s([0, 0, 0, 0, 0, 0, grow, grow])], { mode: 'constant' });
      if (channels > inputs)
        shortcut = op.node('Pad', [shortcut, op.int64s([0, 0, 0, 0, 0, channels - inputs, 0, 0])], {
          mode: 'constant',
        });
      return { out: op.relu(op.add(y, shortcut)), side: poolSide };
    });
  }
}

const WEIGHTS_HINT =
  'The weights do not match dlib_face_recognition_resnet_model_v1: reinstall the npm packages (`npm ci`).';

/**
 * The ONNX model: `input` [batch, 3, 150, 150] float32 RGB, already
 * normalized the dlib way ((value - mean RGB) / 256, done by the recognizer's
 * preprocessing), to `embedding` [batch, 128] (not normalized).
 */
export function dlibResnetModel(weights: ReadonlyMap<string, FloatTensor>): OnnxModel {
  const model = OnnxModel.create({
    graphName: 'dlib_face_recognition_resnet_model_v1',
    producerName: 'myvlm',
    docString:
      'dlib_face_recognition_resnet_model_v1 (Davis King, CC0), from the weights in @vladmandic/face-api (MIT).',
  });
  const b = new DlibResnetBuilder(model, weights);
  const g = model.graph;
  const op = new Ops(g);
  g.addInput(DLIB_INPUT, 'float32', ['batch', 3, DLIB_CHIP_SIZE, DLIB_CHIP_SIZE]);
  let x = g.withScope('conv32_down', () => {
    const c = op.relu(b.conv(DLIB_INPUT, 'conv32_down', 3, 32, 7, 2, 0));
    return op.node('MaxPool', [c], { kernel_shape: [3, 3], strides: [2, 2] });
  });
  let side = unpadded(unpadded(DLIB_CHIP_SIZE, 7, 2), 3, 2);
  let channels = 32;
  for (const spec of BLOCKS) {
    ({ out: x, side } = b.block(x, side, channels, spec));
    channels = spec.channels;
  }
  const pooled = op.node('GlobalAveragePool', [x]);
  const flat = op.node('Flatten', [pooled], { axis: 1 });
  const fc = weights.get('fc');
  if (!fc || fc.shape[0] !== channels || fc.shape[1] !== DLIB_EMBEDDING_DIMS)
    throw new OperatorError('The face recognition weights have no 256x128 "fc" layer.', { hint: WEIGHTS_HINT });
  const fcName = g.addInitializer('fc.weight', fc.values, [channels, DLIB_EMBEDDING_DIMS]);
  op.matMul(flat, fcName, { output: DLIB_OUTPUT });
  g.addOutput(DLIB_OUTPUT, 'float32', ['batch', DLIB_EMBEDDING_DIMS]);
  return model;
}
