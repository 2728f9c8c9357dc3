// The contract for differentiating a group of forward nodes as one edge: a
// matcher recognizes a pattern that no per-node rule can differentiate
// correctly (a dynamic quantization around an integer MatMul), and the
// backward pass walks the group as a single unit with its own rule.
import type { OnnxGraph } from '../../graph.ts';
import type { OnnxNode } from '../../node.ts';
import type { GraphFacts } from '../facts.ts';
import type { GradRule } from '../rule.ts';

/**
 * A matched group of forward nodes that the backward pass treats as one
 * differentiable edge from `inputs` to `outputs`. Values computed inside it
 * and not listed in `outputs` receive no gradient: only the region's rule
 * decides what flows from its outputs back to its inputs.
 */
export interface GradRegion {
  /** Name of the unit (error messages and the scope of its backward nodes). */
  name: string;
  /** What the region computes, in plain words, for error messages. */
  description: string;
  /** Every forward node of the region; each belongs to at most one region. */
  nodes: readonly OnnxNode[];
  /** Values from outside that the region's outputs are differentiated with respect to. */
  inputs: readonly string[];
  /** Values the region computes for nodes (or graph outputs) outside it. */
  outputs: readonly string[];
  /**
   * The gradient rule of the whole region. Its context indexes `inputs` and
   * `outputs` (ctx.input(i), ctx.grad(i)); ctx.node is a stand-in node
   * carrying those lists, not a node of the graph.
   */
  rule: GradRule;
}

/** Recognizes regions that start at one kind of node. */
export interface RegionMatcher {
  /** Op type of the node a region starts at (standard domain '' or a contrib domain). */
  domain: string;
  opType: string;
  /** The region starting at `node`, or undefined when the pattern around it is not the expected one. */
  match(graph: OnnxGraph, facts: GraphFacts, node: OnnxNode): GradRegion | undefined;
}
