import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { checkModel, validateGraph } from '../../test/support/onnx-check.ts';
import { OnnxModel } from './model.ts';
import { Ops } from './ops.ts';
import { Attr } from './node.ts';
import { InternalError } from '../errors.ts';

/** y = softmax(x @ W + b) over the last axis, with scoped names. */
function smallModel(opset = 17): OnnxModel {
  const model = OnnxModel.create({ opsets: { '': opset } });
  const g = model.graph;
  const op = new Ops(g);
  g.addInput('x', 'float32', ['batch', 2]);
  g.withScope('/head', () => {
    const w = g.addInitializer('head.weight', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    const b = g.addInitializer('head.bias', Float32Array.of(0.5, 0, -0.5), [3]);
    op.softmax(op.add(op.matMul('x', w), b), -1, { output: 'y' });
  });
  g.addOutput('y', 'float32', ['batch', 3]);
  return model;
}

describe('OnnxGraph', () => {
  it('names nodes by scope, values uniquely, and indexes producers, consumers and initializers', () => {
    const model = smallModel();
    const g = model.graph;
    expect(g.nodes.map((n) => n.name)).toEqual(['/head/MatMul', '/head/Add', '/head/Softmax']);
    expect(g.nodes[0].outputs).toEqual(['/head/MatMul_output_0']);
    expect(g.producer('y')?.opType).toBe('Softmax');
    expect(g.producer('x')).toBeUndefined();
    expect(g.consumers('x').map((n) => n.name)).toEqual(['/head/MatMul']);
    expect(g.consumers('/head/MatMul_output_0').map((n) => n.opType)).toEqual(['Add']);
    expect(Array.from(g.initializerData('head.bias') as Float32Array)).toEqual([0.5, 0, -0.5]);
    expect(g.valueInfo('head.weight')).toMatchObject({ elementType: 'float32', shape: [2, 3] });
    expect(g.uniqueValueName('y')).toBe('y_1');
    expect(() => g.addInitializer('head.bias', Float32Array.of(1), [1])).toThrow(InternalError);
    expect(() => g.addInitializer('head.bias', Float32Array.of(1), [1])).toThrow(
      'The graph already has a value named "head.bias".',
    );
    const node = g.addNode({ opType: 'Relu', inputs: ['y'] });
    expect(node.name).toBe('/Relu');
    expect(g.addNode({ opType: 'Relu', inputs: ['y'] }).name).toBe('/Relu_1');
  });

  it('sorts nodes topologically, keeping the stored order where valid, and reports cycles', () => {
    const model = OnnxModel.create();
    const g = model.graph;
    g.addInput('a', 'float32', [1]);
    // Stored out of order: "late" needs b, which "early" computes; "free" needs only the input.
    g.addNode({ opType: 'Neg', inputs: ['b'], outputs: ['c'], name: 'late' });
    g.addNode({ opType: 'Neg', inputs: ['a'], outputs: ['b'], name: 'early' });
    g.addNode({ opType: 'Neg', inputs: ['a'], outputs: ['d'], name: 'free' });
    // As soon as "late" may run it does, since it was stored first.
    expect(g.topologicalOrder().map((n) => n.name)).toEqual(['early', 'late', 'free']);
    g.addNode({ opType: 'Add', inputs: ['c', 'e'], outputs: ['f'], name: 'loop1' });
    g.addNode({ opType: 'Neg', inputs: ['f'], outputs: ['e'], name: 'loop2' });
    expect(() => g.topologicalOrder()).toThrow(InternalError);
    expect(() => g.topologicalOrder()).toThrow(/^The graph has a cycle \(around loop1, loop2\)\.$/);
  });

  it('prunes what no output needs and removes nodes', () => {
    const model = smallModel();
    const g = model.graph;
    const dead = new Ops(g).relu(g.addInitializer('unused.weight', Float32Array.of(1), [1]));
    expect(g.producer(dead)).toBeDefined();
    expect(g.pruneUnused()).toBe(2);
    expect(g.isInitializer('unused.weight')).toBe(false);
    expect(g.nodes).toHaveLength(3);
    g.removeNodes([g.nodes[2]]);
    expect(validateGraph(g)).toEqual(['graph "main_graph": output "y" is never computed.']);
    // Rewiring a node's proto by hand, then refreshing the lookups.
    const add = g.nodes[1];
    (add.proto.input as string[])[1] = 'x';
    g.refresh();
    expect(g.consumers('x').map((n) => n.opType)).toEqual(['MatMul', 'Add']);
    expect(g.consumers('head.bias')).toEqual([]);
    expect(g.nodes[1]).toBe(add);
  });

  it('finds structural problems in plain words', () => {
    const model = OnnxModel.create();
    const g = model.graph;
    g.addInput('x', 'float32', [1]);
    g.addNode({ opType: 'Neg', inputs: ['missing'], outputs: ['y'] });
    g.addNode({ opType: 'Fancy', domain: 'com.vendor', inputs: ['x'], outputs: ['z'] });
    g.addOutput('nowhere', 'float32');
    const problems = validateGraph(g);
    expect(problems).toContain('graph "main_graph": node "/Neg" (Neg) reads "missing", which nothing defines.');
    expect(problems).toContain(
      'graph "main_graph": node "/Fancy" (Fancy) uses domain "com.vendor", which the model does not import.',
    );
    expect(problems).toContain('graph "main_graph": output "nowhere" is never computed.');
  });

  it('builds models that ONNX Runtime loads and computes correctly', async () => {
    const model = smallModel();
    const check = await checkModel(model);
    expect(check.problems).toEqual([]);
    expect(check.runtimeOutputs[0]).toMatchObject({ name: 'y', type: 'float32', shape: ['batch', 3] });
    const session = await ort.InferenceSession.create(model.toBytes());
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, -1), [1, 2]) });
    const logits = [1 - 4 + 0.5, 2 - 5, 3 - 6 - 0.5];
    const total = logits.reduce((s, v) => s + Math.exp(v), 0);
    expect(Array.from(y.data as Float32Array).map((v) => Number(v.toFixed(6)))).toEqual(
      logits.map((v) => Number((Math.exp(v) / total).toFixed(6))),
    );
    await session.release();
  });

  it('emits the operator form each opset expects (Unsqueeze, ReduceMean, Split)', async () => {
    for (const opset of [11, 13, 18]) {
      const model = OnnxModel.create({ opsets: { '': opset }, irVersion: 7 });
      const g = model.graph;
      const op = new Ops(g);
      g.addInput('x', 'float32', [2, 4]);
      const mean = op.reduceMean(op.unsqueeze('x', [0]), [-1], false);
      const [left] = op.split(op.squeeze(mean, [0]), [1, 1], 0);
      op.identity(left, { output: 'out' });
      g.addOutput('out', 'float32', [1]);
      const session = await ort.InferenceSession.create(model.toBytes());
      const { out } = await session.run({
        x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [2, 4]),
      });
      expect(Array.from(out.data as Float32Array)).toEqual([2.5]);
      await session.release();
      const reduce = g.nodes.find((n) => n.opType === 'ReduceMean');
      expect(reduce?.inputs.length).toBe(opset >= 18 ? 2 : 1);
    }
  });

  it('runs the model on zeros to catch declared output shapes that are wrong', async () => {
    const model = OnnxModel.create();
    const g = model.graph;
    const op = new Ops(g);
    g.addInput('x', 'float32', ['batch', 4]);
    op.matMul('x', op.floats(new Array<number>(12).fill(1), [4, 3], 'float32'), { output: 'y' });
    op.concat(['x', 'x'], 0, { output: 'z' });
    g.addOutput('y', 'float32', ['batch', 5]);
    g.addOutput('z', 'float32', ['batch', 4]);
    const check = await checkModel(model, { run: { dims: { batch: 3 } } });
    expect(check.problems).toEqual([
      'output "y" is declared [batch, 5] but came out [3, 3].',
      'output "z" is declared [batch, 4] but came out [6, 4].',
    ]);
  });

  it('reports what ONNX Runtime refuses', async () => {
    const model = OnnxModel.create();
    model.graph.addInput('x', 'float32', [2]);
    model.graph.addNode({
      opType: 'Transpose',
      inputs: ['x'],
      outputs: ['y'],
      attributes: { perm: Attr.ints([1, 0]) },
    });
    model.graph.addOutput('y', 'float32', [2]);
    const check = await checkModel(model);
    expect(check.ok).toBe(false);
    expect(check.problems.at(-1)).toMatch(/ONNX Runtime refuses the model/);
  });
});
