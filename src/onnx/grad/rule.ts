// The contract between the reverse-mode driver and one operator's gradient
// rule: the rule sees the forward node, the gradients arriving at its outputs
// and which inputs want one, and returns the gradient of each input.
import type { OnnxNode } from '../node.ts';
import type { GradEmitter } from './emitter.ts';

/** What a gradient rule gets to work with for one forward node. */
export interface GradContext {
  readonly node: OnnxNode;
  readonly emit: GradEmitter;
  /** Input value name i ('' when an optional input is absent). */
  input(i: number): string;
  /** Output value name i. */
  output(i: number): string;
  /** The gradient arriving at output i, or undefined when none does. */
  grad(i?: number): string | undefined;
  /** The gradient at output i, or zeros shaped like that output. */
  gradOrZeros(i: number): string;
  /** True when input i needs a gradient (it depends on a differentiated input). */
  wants(i: number): boolean;
  /** A plain description of the node for error messages. */
  readonly label: string;
}

/**
 * Returns one entry per input: the gradient value of that input (same shape
 * as the input), or undefined where the input gets none or was not wanted.
 */
export type GradRule = (ctx: GradContext) => (string | undefined)[];
