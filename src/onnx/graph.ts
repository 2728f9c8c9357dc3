// A graph you can walk, look things up in, append to and serialize. It is an
// index over a GraphProto: reads never copy, and what was loaded from a file
// is written back as it was. The gradient-graph builder works on this class.
import { InternalError } from '../errors.ts';
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from './proto.ts';
import { makeAttribute, OnnxNode, type AttributeInput } from './node.ts';
import {
  makeTensor,
  tensorToArray,
  type ElementType,
  type ExternalDataReader,
  type NumericArray,
  type TensorData,
  tensorDims,
  elementTypeName,
} from './tensor.ts';
import { tensorValueInfo, valueInfoFromProto, type Dim, type ValueInfo } from './types.ts';

/** How a node is described when it is added. */
export interface NodeSpec {
  opType: string;
  /** Input value names; null/undefined/'' leave an optional input out. */
  inputs: readonly (string | null | undefined)[];
  /** Output names, or how many outputs to name automatically (default 1). */
  outputs?: readonly string[] | number;
  /** Node name; default `<scope>/<opType>`, made unique. */
  name?: string;
  /** Operator domain; default '' (standard ONNX). */
  domain?: string;
  attributes?: Readonly<Record<string, AttributeInput | undefined>>;
  docString?: string;
}

/** Where a graph looks up operator-set versions (its model, shared by subgraphs). */
export interface OpsetSource {
  opsetVersion(domain: string): number | undefined;
}

function own<T>(holder: Record<string, unknown>, key: string): T[] {
  // Decoded messages carry frozen default arrays on their prototype; give the
  // message its own array before appending to it.
  if (!Object.prototype.hasOwnProperty.call(holder, key)) holder[key] = [];
  return holder[key] as T[];
}

/** A graph over a GraphProto. Subgraphs of If/Loop nodes are graphs too (`subgraphs()`). */
export class OnnxGraph {
  readonly proto: GraphProto;
  private readonly opsetSource: OpsetSource | undefined;
  private readonly readExternal: ExternalDataReader | undefined;
  private nodeList: OnnxNode[] = [];
  private producers = new Map<string, OnnxNode>();
  private consumerMap = new Map<string, OnnxNode[]>();
  private initializerMap = new Map<string, TensorProto>();
  private valueNames = new Set<string>();
  private nodeNames = new Set<string>();
  private scopes: string[] = [];

  constructor(proto: GraphProto = {}, options: { opsets?: OpsetSource; readExternal?: ExternalDataReader } = {}) {
    this.proto = proto;
    this.opsetSource = options.opsets;
    this.readExternal = options.readExternal;
    this.refresh();
  }

  /** Rebuilds the lookups; call it after editing `proto` (or a node's proto) directly. */
  refresh(): void {
    const known = new Map(this.nodeList.map((n) => [n.proto, n]));
    this.nodeList = (this.proto.node ?? []).map((p) => known.get(p) ?? new OnnxNode(p));
    this.producers.clear();
    this.consumerMap.clear();
    this.initializerMap.clear();
    this.valueNames.clear();
    this.nodeNames.clear();
    for (const t of this.proto.initializer ?? []) {
      this.initializerMap.set(t.name ?? '', t);
      this.valueNames.add(t.name ?? '');
    }
    for (const v of [...(this.proto.input ?? []), ...(this.proto.output ?? []), ...(this.proto.valueInfo ?? [])])
      this.valueNames.add(v.name ?? '');
    for (const node of this.nodeList) this.indexNode(node);
  }

  private indexNode(node: OnnxNode): void {
    if (node.name) this.nodeNames.add(node.name);
    for (const out of node.outputs) {
      if (!out) continue;
      this.producers.set(out, node);
      this.valueNames.add(out);
    }
    for (const input of new Set(node.inputs)) {
      if (!input) continue;
      const list = this.consumerMap.get(input);
      if (list) list.push(node);
      else this.consumerMap.set(input, [node]);
      this.valueNames.add(input);
    }
  }

  // ---- reading -----------------------------------------------------------

  get name(): string {
    return this.proto.name ?? '';
  }
  set name(value: string) {
    this.proto.name = value;
  }
  /** Nodes in stored order (files are normally already topologically sorted). */
  get nodes(): readonly OnnxNode[] {
    return this.nodeList;
  }
  get inputs(): ValueInfo[] {
    return (this.proto.input ?? []).map(valueInfoFromProto);
  }
  get outputs(): ValueInfo[] {
    return (this.proto.output ?? []).map(valueInfoFromProto);
  }
  /** Graph inputs that are not initializers: what a caller must feed. */
  get feedInputs(): ValueInfo[] {
    return this.inputs.filter((i) => !this.initializerMap.has(i.name));
  }
  get initializers(): readonly TensorProto[] {
    return this.proto.initializer ?? [];
  }
  initializer(name: string): TensorProto | undefined {
    return this.initializerMap.get(name);
  }
  isInitializer(name: string): boolean {
    return this.initializerMap.has(name);
  }
  /** An initializer's values as a typed array (external data read from disk). */
  initializerData(name: string): TensorData {
    const t = this.initializerMap.get(name);
    if (!t) throw new InternalError(`The graph has no initializer "${name}".`);
    return tensorToArray(t, this.readExternal);
  }
  /** The node that computes a value; undefined for inputs, initializers and outer-scope values. */
  producer(value: string): OnnxNode | undefined {
    return this.producers.get(value);
  }
  /** Nodes that read a value (each once, in graph order). */
  consumers(value: string): readonly OnnxNode[] {
    return this.consumerMap.get(value) ?? [];
  }
  /** A value's declared type, from inputs, outputs, value_info or its initializer. */
  valueInfo(name: string): ValueInfo | undefined {
    const declared = [...(this.proto.input ?? []), ...(this.proto.output ?? []), ...(this.proto.valueInfo ?? [])].find(
      (v) => v.name === name,
    );
    if (declared) return valueInfoFromProto(declared);
    const t = this.initializerMap.get(name);
    if (t) return { name, kind: 'tensor', elementType: elementTypeName(t.dataType), shape: tensorDims(t) };
    return undefined;
  }
  /** Operator-set version imported by the model for a domain ('' = standard ONNX). */
  opsetVersion(domain = ''): number | undefined {
    return this.opsetSource?.opsetVersion(domain === 'ai.onnx' ? '' : domain);
  }
  /** Subgraphs held by this graph's nodes (one level), each with the node that holds it. */
  subgraphs(): { node: OnnxNode; attribute: string; graph: OnnxGraph }[] {
    return this.nodeList.flatMap((node) =>
      node.graphAttributes().map(({ name, graph }) => ({
        node,
        attribute: name,
        graph: new OnnxGraph(graph, { opsets: this.opsetSource, readExternal: this.readExternal }),
      })),
    );
  }

  /**
   * Nodes ordered so that every node comes after the producers of its inputs
   * (stable: the stored order wins where it is already valid). Values from
   * inputs, initializers and enclosing graphs count as available. Throws on a cycle.
   */
  topologicalOrder(): OnnxNode[] {
    const position = new Map(this.nodeList.map((n, i) => [n, i]));
    const waiting = new Map<OnnxNode, number>();
    const ready = new MinHeap<OnnxNode>((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
    for (const node of this.nodeList) {
      const waits = new Set(node.inputs.filter((i) => i && this.producers.has(i) && this.producers.get(i) !== node))
        .size;
      waiting.set(node, waits);
      if (waits === 0) ready.push(node);
    }
    const order: OnnxNode[] = [];
    for (let node = ready.pop(); node; node = ready.pop()) {
      order.push(node);
      const released = new Set<OnnxNode>();
      for (const out of node.outputs)
        for (const consumer of this.consumers(out)) if (consumer !== node) released.add(consumer);
      for (const consumer of released) {
        const producedHere = new Set(consumer.inputs.filter((i) => i && this.producers.get(i) === node)).size;
        const left = (waiting.get(consumer) ?? 0) - producedHere;
        waiting.set(consumer, left);
        if (left === 0) ready.push(consumer);
      }
    }
    if (order.length !== this.nodeList.length) {
      const done = new Set(order);
      const stuck = this.nodeList
        .filter((n) => !done.has(n))
        .slice(0, 3)
        .map((n) => n.name || n.opType);
      throw new InternalError(`The graph has a cycle (around ${stuck.join(', ')}).`);
    }
    return order;
  }

  // ---- naming ------------------------------------------------------------

  /** A value name not used anywhere in this graph yet (`base`, `base_1`, ...). */
  uniqueValueName(base: string): string {
    return this.unique(base, this.valueNames);
  }
  /** A node name not used in this graph yet. */
  uniqueNodeName(base: string): string {
    return this.unique(base, this.nodeNames);
  }
  private unique(base: string, used: Set<string>): string {
    if (!used.has(base)) return base;
    for (let i = 1; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
  }
  /** The current name scope, e.g. `/model/layers.0/attn`. */
  get scope(): string {
    return this.scopes.join('');
  }
  /**
   * Runs `build` with node names prefixed by `scope` (nested scopes join:
   * `/model` then `/layers.0` gives `/model/layers.0/MatMul`).
   */
  withScope<T>(scope: string, build: () => T): T {
    this.scopes.push(scope.startsWith('/') ? scope : `/${scope}`);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  // ---- building ----------------------------------------------------------

  /** Declares a graph input; returns its name. */
  addInput(name: string, elementType: ElementType, shape?: readonly Dim[]): string {
    this.claimValueName(name);
    own<ValueInfoProto>(this.proto as Record<string, unknown>, 'input').push(tensorValueInfo(name, elementType, shape));
    return name;
  }
  /** Declares an existing value as a graph output. */
  addOutput(name: string, elementType: ElementType, shape?: readonly Dim[]): string {
    if ((this.proto.output ?? []).some((o) => o.name === name))
      throw new InternalError(`"${name}" is already an output of the graph.`);
    own<ValueInfoProto>(this.proto as Record<string, unknown>, 'output').push(
      tensorValueInfo(name, elementType, shape),
    );
    this.valueNames.add(name);
    return name;
  }
  /** Records the type and shape of an intermediate value (value_info). */
  setValueInfo(name: string, elementType: ElementType, shape?: readonly Dim[]): void {
    const list = own<ValueInfoProto>(this.proto as Record<string, unknown>, 'valueInfo');
    const at = list.findIndex((v) => v.name === name);
    const info = tensorValueInfo(name, elementType, shape);
    if (at >= 0) list[at] = info;
    else list.push(info);
  }
  /** Adds a named initializer (a weight); the name must be free. */
  addInitializer(name: string, data: NumericArray, dims: readonly number[], elementType?: ElementType): string {
    return this.addTensor(makeTensor(name, data, dims, elementType));
  }
  /** Adds a prepared TensorProto as an initializer. */
  addTensor(tensor: TensorProto): string {
    const name = tensor.name ?? '';
    this.claimValueName(name);
    own<TensorProto>(this.proto as Record<string, unknown>, 'initializer').push(tensor);
    this.initializerMap.set(name, tensor);
    return name;
  }
  /** A constant as an initializer with a fresh name in the current scope. */
  constant(
    data: NumericArray,
    dims: readonly number[],
    options: { name?: string; elementType?: ElementType } = {},
  ): string {
    const name = this.uniqueValueName(options.name ?? `${this.scope}/Constant_output_0`);
    return this.addInitializer(name, data, dims, options.elementType);
  }
  /** Appends a node; outputs are named `<node name>_output_<i>` unless given. */
  addNode(spec: NodeSpec): OnnxNode {
    const name = this.uniqueNodeName(spec.name ?? `${this.scope}/${spec.opType}`);
    const outputs =
      typeof spec.outputs === 'object'
        ? [...spec.outputs]
        : Array.from({ length: spec.outputs ?? 1 }, (_, i) => this.uniqueValueName(`${name}_output_${i}`));
    for (const out of outputs) if (out) this.claimValueName(out);
    const proto: NodeProto = { input: spec.inputs.map((i) => i ?? ''), output: outputs, name, opType: spec.opType };
    if (spec.domain) proto.domain = spec.domain;
    const attributes = Object.entries(spec.attributes ?? {}).filter(
      (e): e is [string, AttributeInput] => e[1] !== undefined,
    );
    if (attributes.length > 0) proto.attribute = attributes.map(([k, v]) => makeAttribute(k, v));
    if (spec.docString) proto.docString = spec.docString;
    own<NodeProto>(this.proto as Record<string, unknown>, 'node').push(proto);
    const node = new OnnxNode(proto);
    this.nodeList.push(node);
    this.indexNode(node);
    return node;
  }
  /**
   * Points input `index` of `node` at `value`, on a copy of the node: node
   * protos may be shared with the model this graph was copied from, which
   * must not change. Returns the node that replaces it.
   */
  rewireInput(node: OnnxNode, index: number, value: string): OnnxNode {
    const copy = new OnnxNode({ ...node.proto, input: node.inputs.map((v, i) => (i === index ? value : v)) });
    this.nodeList = this.nodeList.map((n) => (n === node ? copy : n));
    this.proto.node = this.nodeList.map((n) => n.proto);
    this.refresh();
    return copy;
  }
  /** Removes nodes (and nothing else: values they produced become dangling until rewired). */
  removeNodes(nodes: Iterable<OnnxNode>): void {
    const gone = new Set(nodes);
    this.nodeList = this.nodeList.filter((n) => !gone.has(n));
    this.proto.node = this.nodeList.map((n) => n.proto);
    this.refresh();
  }
  /** Removes an initializer by name. */
  removeInitializer(name: string): void {
    this.proto.initializer = (this.proto.initializer ?? []).filter((t) => t.name !== name);
    this.proto.input = (this.proto.input ?? []).filter((v) => v.name !== name);
    this.refresh();
  }
  /**
   * Drops nodes and initializers that no graph output depends on (after
   * edits). Graph inputs stay, so the interface does not change.
   */
  pruneUnused(): number {
    const needed = new Set(this.outputs.map((o) => o.name));
    const keep = new Set<OnnxNode>();
    for (const node of [...this.topologicalOrder()].reverse()) {
      if (!node.outputs.some((o) => needed.has(o))) continue;
      keep.add(node);
      for (const i of node.inputs) if (i) needed.add(i);
      for (const { graph } of node.graphAttributes()) for (const inner of outerReferences(graph)) needed.add(inner);
    }
    const before = this.nodeList.length + this.initializers.length;
    this.nodeList = this.nodeList.filter((n) => keep.has(n));
    this.proto.node = this.nodeList.map((n) => n.proto);
    this.proto.initializer = this.initializers.filter((t) => needed.has(t.name ?? ''));
    this.refresh();
    return before - this.nodeList.length - this.initializers.length;
  }
  private claimValueName(name: string): void {
    if (!name) throw new InternalError('A graph value needs a name.');
    if (
      this.initializerMap.has(name) ||
      this.producers.has(name) ||
      (this.proto.input ?? []).some((i) => i.name === name)
    ) {
      throw new InternalError(`The graph already has a value named "${name}".`);
    }
    this.valueNames.add(name);
  }

  /** The GraphProto to serialize (this graph's own message, edits included). */
  toProto(): GraphProto {
    return this.proto;
  }
}

/** Names a subgraph reads from enclosing scopes (inputs it neither declares nor computes). */
export function outerReferences(graph: GraphProto): Set<string> {
  const local = new Set<string>([
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
  ]);
  for (const n of graph.node ?? []) for (const o of n.output ?? []) local.add(o);
  const outer = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) if (i && !local.has(i)) outer.add(i);
    for (const a of n.attribute ?? [])
      for (const g of [a.g, ...(a.graphs ?? [])])
        if (g) for (const r of outerReferences(g)) if (!local.has(r)) outer.add(r);
  }
  for (const o of graph.output ?? []) if (o.name && !local.has(o.name)) outer.add(o.name);
  return outer;
}

/** A binary min-heap: the ready queue of the topological sort. */
class MinHeap<T> {
  private items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => number) {}
  push(item: T): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (this.before(items[i], items[parent]) >= 0) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.before(items[l], items[m]) < 0) m = l;
        if (r < items.length && this.before(items[r], items[m]) < 0) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m], items[i]];
        i = m;
      }
    }
    return top;
  }
}
