// The float twin of a quantized model, for tests: every quantized MatMul
// (com.microsoft MatMulNBits and MatMulBnb4, and onnxruntime's dynamic
// DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul) becomes a plain
// MatMul over its weight dequantized here in JavaScript, written from the
// operators' definitions independently of the gradient rules. Optionally the
// whole graph is moved from float16 to float32, and the rounding of each
// dynamically quantized activation is added back as an input, which makes a
// twin whose forward is the quantized one and whose gradient is the
// straight-through estimator exactly.
import { FP4_VALUES, NF4_VALUES } from '../../src/onnx/grad/rules/dequantize.ts';
import * as ort from 'onnxruntime-node';
import { GraphFacts } from '../../src/onnx/grad/facts.ts';
import { OnnxModel } from '../../src/onnx/model.ts';
import type { OnnxNode } from '../../src/onnx/node.ts';
import type { GraphProto, ModelProto, TensorProto, TypeProto, ValueInfoProto } from '../../src/onnx/proto.ts';
import { encodeModel, int64FromNumber } from '../../src/onnx/proto.ts';
import {
  DataType,
  fromFloat16Bits,
  makeFloatTensor,
  tensorDims,
  tensorToArray,
  type TensorData,
} from '../../src/onnx/tensor.ts';

/** What `dequantizedTwin` does besides replacing the quantized MatMuls. */
export interface TwinOptions {
  /** Also turn every float16 tensor, Cast and value type into float32 (default false). */
  float32?: boolean;
  /**
   * For each DynamicQuantizeLinear of activation x, multiply x + r instead of
   * x, with r a new graph input (see `dynamicQuantizationRounding`): fed the
   * rounding the quantized model makes at the same point, the forward is the
   * quantized one, and the gradient, r held fixed, is the straight-through one.
   */
  roundingInputs?: boolean;
}

/** What a twin replaced, for assertions. */
export interface Twin {
  model: OnnxModel;
  /** Quantized MatMuls replaced, by kind. */
  replaced: Record<'MatMulNBits' | 'MatMulBnb4' | 'MatMulInteger', number>;
  /** With `roundingInputs`: the rounding input added for each quantized activation. */
  roundings: { activation: string; input: string }[];
}

/** Numbers of a tensor (float16 decoded). */
function numbers(t: TensorProto, read: OnnxModel['readExternal']): Float64Array {
  const data: TensorData = tensorToArray(t, read);
  if (Array.isArray(data)) throw new Error(`tensor ${t.name} holds strings`);
  if (t.dataType === DataType.FLOAT16) return Float64Array.from(data as Uint16Array, fromFloat16Bits);
  return Float64Array.from(data as ArrayLike<number | bigint>, Number);
}

/** Code i of a byte array packed `bits` per code, least significant bits first. */
function lowFirstCode(bytes: Uint8Array | Float64Array, i: number, bits: number): number {
  const perByte = 8 / bits;
  return (Number(bytes[Math.floor(i / perByte)]) >> (bits * (i % perByte))) & ((1 << bits) - 1);
}

/** Reads the frozen tensors of a graph. */
export interface WeightSource {
  /** Values as numbers (float16 decoded). */
  numbers(name: string): Float64Array;
  /** Raw bytes of a uint8 tensor (packed codes). */
  bytes(name: string): Uint8Array;
  /** TensorProto data type. */
  dataType(name: string): number | undefined;
}

/** W [K, N] of MatMulNBits: B [N, blocks, blob] codes along K, (code - zero point) * scale per block (or per g_idx). */
export function dequantizeNBits(node: OnnxNode, source: WeightSource): Float64Array {
  const k = node.int('K');
  const n = node.int('N');
  const bits = node.int('bits', 4);
  const blockSize = node.int('block_size');
  const blocks = Math.ceil(k / blockSize);
  const codes = source.bytes(node.inputs[1]);
  const scales = source.numbers(node.inputs[2]);
  const zeroName = node.inputs[3] ?? '';
  const gIdx = node.inputs[4] ? source.numbers(node.inputs[4]) : undefined;
  const zeroBytes = zeroName && source.dataType(zeroName) === DataType.UINT8 ? source.bytes(zeroName) : undefined;
  const zeroFloats = zeroName && !zeroBytes ? source.numbers(zeroName) : undefined;
  const zeroColumns = Math.ceil((blocks * bits) / 8) * (8 / bits);
  const w = new Float64Array(k * n);
  for (let col = 0; col < n; col++) {
    for (let row = 0; row < k; row++) {
      const block = gIdx ? gIdx[row] : Math.floor(row / blockSize);
      const code = lowFirstCode(codes, col * blocks * blockSize + row, bits);
      const zero = zeroBytes
        ? lowFirstCode(zeroBytes, col * zeroColumns + block, bits)
        : zeroFloats
          ? zeroFloats[col * blocks + block]
          : 2 ** (bits - 1);
      w[row * n + col] = (code - zero) * scales[col * blocks + block];
    }
  }
  return w;
}

/** W [K, N] of MatMulBnb4: the flattened [N, K] matrix, high nibble first, table value * absmax of its block. */
export function dequantizeBnb4(node: OnnxNode, source: WeightSource): Float64Array {
  const k = node.int('K');
  const n = node.int('N');
  const blockSize = node.int('block_size');
  const table = node.int('quant_type') === 0 ? FP4_VALUES : NF4_VALUES;
  const packed = source.bytes(node.inputs[1]);
  const absmax = source.numbers(node.inputs[2]);
  const w = new Float64Array(k * n);
  for (let i = 0; i < n * k; i++) {
    const byte = packed[i >> 1];
    const code = i % 2 === 0 ? byte >> 4 : byte & 15;
    const col = Math.floor(i / k);
    const row = i % k;
    w[row * n + col] = table[code] * absmax[Math.floor(i / blockSize)];
  }
  return w;
}

/** W [K, N] = (Wq - zero point) * scale, per tensor or per column. */
export function dequantizeInteger(
  weight: Float64Array,
  dims: number[],
  zeroPoint: Float64Array | undefined,
  scale: Float64Array,
): Float64Array {
  const [k, n] = dims;
  const at = (values: Float64Array | undefined, col: number) =>
    values ? (values.length === 1 ? values[0] : values[col]) : 0;
  return Float64Array.from({ length: k * n }, (_, i) => (weight[i] - at(zeroPoint, i % n)) * at(scale, i % n));
}

/** A value_info whose type can be edited without touching the source model's. */
function copyValueInfo(v: ValueInfoProto): ValueInfoProto {
  // Only the element type is edited, so the tensor type is copied and its shape shared.
  return v.type?.tensorType ? { ...v, type: { ...v.type, tensorType: { ...v.type.tensorType } } } : v;
}

function replaceFloat16(type: TypeProto | null | undefined): void {
  const tensor = type?.tensorType;
  if (tensor?.elemType === DataType.FLOAT16) tensor.elemType = DataType.FLOAT;
}

function toFloat32(t: TensorProto, read: OnnxModel['readExternal']): TensorProto {
  if (t.dataType !== DataType.FLOAT16) return t;
  return makeFloatTensor(t.name ?? '', 'float32', numbers(t, read), tensorDims(t));
}

/** The twin of `quantized` (which is left unchanged). */
export function dequantizedTwin(quantized: OnnxModel, options: TwinOptions = {}): Twin {
  const g0: GraphProto = quantized.proto.graph ?? {};
  const proto: ModelProto = {
    ...quantized.proto,
    graph: {
      ...g0,
      // Nodes are copied with their attributes, which the float32 conversion edits; tensors are shared.
      node: (g0.node ?? []).map((n) => ({ ...n, attribute: (n.attribute ?? []).map((a) => ({ ...a })) })),
      input: (g0.input ?? []).map(copyValueInfo),
      output: (g0.output ?? []).map(copyValueInfo),
      initializer: [...(g0.initializer ?? [])],
      valueInfo: (g0.valueInfo ?? []).map(copyValueInfo),
    },
  };
  const model = new OnnxModel(proto, { baseDir: quantized.baseDir, readExternal: quantized.readExternal });
  const graph = model.graph;
  const read = quantized.readExternal;
  const initializer = (name: string): TensorProto => {
    const t = graph.initializer(name);
    if (!t) throw new Error(`"${name}" is not an initializer`);
    return t;
  };
  const source: WeightSource = {
    numbers: (name) => numbers(initializer(name), read),
    bytes: (name) => tensorToArray(initializer(name), read) as Uint8Array,
    dataType: (name) => graph.initializer(name)?.dataType ?? undefined,
  };

  const facts = new GraphFacts(graph);
  const replaced: Twin['replaced'] = { MatMulNBits: 0, MatMulBnb4: 0, MatMulInteger: 0 };
  const roundings: Twin['roundings'] = [];
  // The quantized nodes go first, so that their output names are free for the float products.
  const removed: OnnxNode[] = [];
  const products: {
    name: string;
    input: string;
    output: string;
    w: Float64Array;
    k: number;
    n: number;
    bias?: string;
    type: 'float32' | 'float16';
  }[] = [];
  const floatTypeOf = (node: OnnxNode, input: string): 'float32' | 'float16' => {
    if (options.float32) return 'float32';
    if (graph.valueInfo(input)?.elementType === 'float16') return 'float16';
    const scale = node.domain === 'com.microsoft' ? graph.initializer(node.inputs[2]) : undefined;
    return scale?.dataType === DataType.FLOAT16 ? 'float16' : 'float32';
  };
  for (const node of graph.nodes) {
    if (node.domain === 'com.microsoft' && (node.opType === 'MatMulNBits' || node.opType === 'MatMulBnb4')) {
      const w = node.opType === 'MatMulNBits' ? dequantizeNBits(node, source) : dequantizeBnb4(node, source);
      const bias = node.opType === 'MatMulNBits' ? node.inputs[5] || undefined : undefined;
      removed.push(node);
      products.push({
        name: node.name,
        input: node.inputs[0],
        output: node.outputs[0],
        w,
        k: node.int('K'),
        n: node.int('N'),
        bias,
        type: floatTypeOf(node, node.inputs[0]),
      });
      replaced[node.opType] += 1;
    }
    if (node.opType === 'DynamicQuantizeLinear' && node.domain === '') {
      let [x] = node.inputs;
      removed.push(node);
      if (options.roundingInputs) {
        const input = graph.uniqueValueName(`${x}/rounding`);
        const width = tensorDims(initializer(graph.consumers(node.outputs[0])[0].inputs[1]))[0];
        graph.addInput(input, 'float32', facts.of(x).shape ?? ['batch_size', 'sequence_length', width]);
        roundings.push({ activation: x, input });
        x = graph.addNode({ opType: 'Add', inputs: [x, input], name: `${node.name}/twin_rounding` }).outputs[0];
      }
      for (const matMul of graph.consumers(node.outputs[0])) {
        if (matMul.opType !== 'MatMulInteger') throw new Error(`unexpected consumer ${matMul.opType} of ${node.name}`);
        const cast = graph.consumers(matMul.outputs[0])[0];
        const rescale = graph.consumers(cast.outputs[0])[0];
        const productName = rescale.inputs.find((i) => i !== cast.outputs[0]) as string;
        const product = graph.producer(productName) as OnnxNode;
        const weightScale = product.inputs.find((i) => i !== node.outputs[1]) as string;
        const weightName = matMul.inputs[1];
        const dims = tensorDims(graph.initializer(weightName) as TensorProto);
        const w = dequantizeInteger(
          source.numbers(weightName),
          dims,
          matMul.inputs[3] ? source.numbers(matMul.inputs[3]) : undefined,
          source.numbers(weightScale),
        );
        removed.push(matMul, cast, rescale, product);
        products.push({
          name: matMul.name,
          input: x,
          output: rescale.outputs[0],
          w,
          k: dims[0],
          n: dims[1],
          type: 'float32',
        });
        replaced.MatMulInteger += 1;
      }
    }
  }
  graph.removeNodes(new Set(removed));
  for (const p of products) {
    const weight = graph.addTensor(
      makeFloatTensor(graph.uniqueValueName(`${p.name || p.output}/twin_weight`), p.type, p.w, [p.k, p.n]),
    );
    const product = graph.addNode({
      opType: 'MatMul',
      inputs: [p.input, weight],
      outputs: p.bias ? 1 : [p.output],
      name: `${p.name}/twin`,
    });
    if (p.bias)
      graph.addNode({
        opType: 'Add',
        inputs: [product.outputs[0], p.bias],
        outputs: [p.output],
        name: `${p.name}/twin_bias`,
      });
  }

  if (options.float32) {
    const g = proto.graph as GraphProto;
    g.initializer = (g.initializer ?? []).map((t) => toFloat32(t, read));
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])] as ValueInfoProto[])
      replaceFloat16(v.type);
    for (const node of graph.nodes) {
      for (const a of node.proto.attribute ?? []) {
        if (node.opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT16)
          a.i = int64FromNumber(DataType.FLOAT);
        if (a.t && a.t.dataType === DataType.FLOAT16) a.t = toFloat32(a.t, read);
      }
    }
  }
  graph.pruneUnused();
  graph.refresh();
  return {
    model: new OnnxModel(proto, { baseDir: quantized.baseDir, readExternal: quantized.readExternal }),
    replaced,
    roundings,
  };
}

/** Round half to even, as ONNX's quantizers round. */
function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const diff = v - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * DynamicQuantizeLinear then back to float, in float32 as the operator
 * defines it: uint8 over [min(x, 0), max(x, 0)], zero point rounded, values
 * rounded half to even and saturated.
 */
export function fakeDynamicQuantize(x: Float32Array): Float32Array {
  let lo = 0;
  let hi = 0;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = Math.fround((hi - lo) / 255);
  if (scale === 0) return new Float32Array(x.length);
  const zero = Math.min(255, Math.max(0, roundHalfEven(Math.fround(-lo / scale))));
  return Float32Array.from(x, (v) =>
    Math.fround((Math.min(255, Math.max(0, roundHalfEven(Math.fround(v / scale)) + zero)) - zero) * scale),
  );
}

/**
 * The rounding r = dequantize(quantize(x)) - x of every dynamically quantized
 * activation x of `quantized` when it runs on `feeds` (extra feeds the model
 * does not take are ignored): what the twin's rounding inputs need.
 */
export async function dynamicQuantizationRounding(
  quantized: OnnxModel,
  twin: Twin,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const g0: GraphProto = quantized.proto.graph ?? {};
  const activations = twin.roundings.map((r) => r.activation);
  const probe: ModelProto = {
    ...quantized.proto,
    graph: { ...g0, output: [...(g0.output ?? []), ...activations.map((name) => ({ name }))] },
  };
  const session = await ort.InferenceSession.create(encodeModel(probe), {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  try {
    const own = Object.fromEntries(Object.entries(feeds).filter(([name]) => session.inputNames.includes(name)));
    const out = await session.run(own, activations);
    return Object.fromEntries(
      twin.roundings.map(({ activation, input }) => {
        const x = out[activation].data as Float32Array;
        const fake = fakeDynamicQuantize(x);
        return [
          input,
          new ort.Tensor(
            'float32',
            Float32Array.from(fake, (v, i) => v - x[i]),
            out[activation].dims,
          ),
        ];
      }),
    );
  } finally {
    await session.release();
  }
}
