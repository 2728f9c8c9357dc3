import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, int64FromNumber, int64ToBigInt, int64ToNumber, type ModelProto } from './proto.ts';
import { OnnxModel } from './model.ts';
import { Attr } from './node.ts';
import { makeTensor } from './tensor.ts';
import { OperatorError } from '../errors.ts';

describe('int64 helpers', () => {
  it('keeps every value exact through bigint and clamps numbers past the int64 range to its ends', () => {
    const max = (1n << 63n) - 1n;
    expect(int64ToBigInt(int64FromNumber(max))).toBe(max);
    expect(int64ToBigInt(int64FromNumber(-(1n << 63n)))).toBe(-(1n << 63n));
    // 9223372036854775807 as a double is 2^63; it must come back as INT64_MAX, not INT64_MIN.
    expect(int64ToBigInt(int64FromNumber(Number(max)))).toBe(max);
    expect(int64ToBigInt(int64FromNumber(-5))).toBe(-5n);
    expect(int64ToNumber({ low: -1, high: -1 })).toBe(-1);
    expect(int64ToNumber({ low: -1, high: 0, unsigned: true })).toBe(4294967295);
    expect(int64ToBigInt({ low: -1, high: -1, unsigned: true })).toBe((1n << 64n) - 1n);
  });
});

describe('decodeModel / encodeModel', () => {
  it('round-trips every kind of field the builder writes', () => {
    const model = OnnxModel.create({ opsets: { '': 17, 'com.example': 1 }, producerVersion: '1.2', docString: 'doc' });
    const g = model.graph;
    g.addInput('x', 'float32', ['batch', 3, null]);
    g.addInitializer('w', Float32Array.of(1, 2, 3), [3]);
    const thenBranch = OnnxModel.create().graph;
    thenBranch.name = 'then';
    thenBranch.addNode({ opType: 'Identity', inputs: ['x'], outputs: ['y_then'] });
    thenBranch.addOutput('y_then', 'float32');
    g.addNode({
      opType: 'Custom',
      domain: 'com.example',
      inputs: ['x', '', 'w'],
      outputs: ['y'],
      attributes: {
        i: 7,
        big: Attr.int((1n << 62n) + 3n),
        f: 0.5,
        whole: Attr.float(2),
        s: 'text',
        ints: [1, -2, 3],
        floats: [0.25, 1.5],
        strings: ['a', 'b'],
        t: Attr.tensor(makeTensor('t', BigInt64Array.of(5n, -6n), [2])),
        g: Attr.graph(thenBranch),
      },
    });
    g.addOutput('y', 'float32', ['batch', 3, null]);
    model.setMetadata('k', 'v');

    const bytes = model.toBytes();
    const back = decodeModel(bytes);
    expect(encodeModel(back)).toEqual(bytes);
    const again = new OnnxModel(back);
    expect(again.opsets).toEqual({ '': 17, 'com.example': 1 });
    expect(again.metadata).toEqual({ k: 'v' });
    expect(again.graph.inputs[0]).toMatchObject({ name: 'x', elementType: 'float32', shape: ['batch', 3, null] });
    const node = again.graph.nodes[0];
    expect(node.inputs).toEqual(['x', '', 'w']);
    expect(node.int('i')).toBe(7);
    expect(int64ToBigInt(node.attribute('big')?.i)).toBe((1n << 62n) + 3n);
    expect(node.float('f')).toBe(0.5);
    expect(node.float('whole')).toBe(2);
    expect(node.string('s')).toBe('text');
    expect(node.ints('ints')).toEqual([1, -2, 3]);
    expect(node.floats('floats')).toEqual([0.25, 1.5]);
    expect(node.strings('strings')).toEqual(['a', 'b']);
    expect(node.graphAttributes().map((a) => a.graph.name)).toEqual(['then']);
    expect(node.int('missing', 3)).toBe(3);
    expect(() => node.int('missing')).toThrow(OperatorError);
    expect(() => node.int('missing')).toThrow(/has no int attribute "missing"/);
  });

  it('turns bytes that are not a model into an OperatorError naming the source, with what to do', () => {
    let thrown: unknown;
    try {
      decodeModel(Uint8Array.of(0x0a, 0xff, 0xff, 0xff), 'broken.onnx');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OperatorError);
    expect((thrown as OperatorError).message).toMatch(/^broken\.onnx is not a readable ONNX file/);
    expect((thrown as OperatorError).hint).toMatch(/download or export the model again/);
  });

  it('writes only the fields a message carries (proto2 presence)', () => {
    const proto: ModelProto = { irVersion: 8, graph: { name: 'g' } };
    const bytes = encodeModel(proto);
    // ir_version (field 1, varint 8) then graph (field 7, 3 bytes: name "g").
    expect(Array.from(bytes)).toEqual([0x08, 0x08, 0x3a, 0x03, 0x12, 0x01, 0x67]);
  });
});
