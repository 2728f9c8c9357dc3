// Rotary position embedding in standard ops, as ONNX Runtime's kernels apply
// it (inside GroupQueryAttention, and as the com.microsoft RotaryEmbedding op),
// so the teaching graph can differentiate through it.
import type { OnnxGraph } from '../graph.ts';
import type { OnnxNode } from '../node.ts';
import { Ops } from '../ops.ts';
import { GradientError } from './emitter.ts';
import { GraphFacts } from './facts.ts';

/** Past every real index: a Slice end meaning "to the end" (exact in int64). */
const TO_END = Number.MAX_SAFE_INTEGER;

/** How to rotate one tensor of heads. */
export interface RotarySpec {
  /** int64 [batch or 1, sequence] positions that index the caches. */
  positions: string;
  /** [max_positions, rotary_dim / 2] tables; rotary_dim = 2 * their last dim. */
  cos: string;
  sin: string;
  /** Pairs are (2i, 2i+1) when true, (i, i + rotary_dim / 2) when false. */
  interleaved: boolean;
  /** Axis layout of the input: heads before the sequence (BNSH) or after it (BSNH). */
  layout: 'bnsh' | 'bsnh';
  /** Static sizes where the graph tells them (cos_cache's last dim, the head size): fewer runtime shape ops. */
  half?: number;
  head?: number;
}

/**
 * Rotates the first rotary_dim channels of `x` (rank 4, head size last) by
 * the angles the caches hold for each position; the other channels pass
 * unchanged. Returns the rotated value, named `output` when given.
 */
export function applyRotary(graph: OnnxGraph, x: string, spec: RotarySpec, output?: string): string {
  const op = new Ops(graph);
  const { half, head } = spec;
  const full = half !== undefined && head !== undefined && 2 * half === head;
  // [B, S, half] from the caches, placed where x has its sequence axis, with a
  // heads axis of 1 (and a pair axis of 1 when interleaved).
  const headsAxis = spec.layout === 'bnsh' ? 1 : 2;
  const pairAxes = spec.interleaved ? [headsAxis, 4] : [headsAxis];
  const cos = op.unsqueeze(op.gather(spec.cos, spec.positions, 0), pairAxes);
  const sin = op.unsqueeze(op.gather(spec.sin, spec.positions, 0), pairAxes);

  // The rotated part and the part that passes (absent when rotary_dim is the head size).
  let rotated = x;
  let passed: string | undefined;
  if (!full) {
    const rotaryEnd = half !== undefined ? [2 * half] : op.mul(op.shape(spec.cos, 1, 2), op.int64s([2]));
    rotated = op.slice(x, [0], rotaryEnd, [-1]);
    passed = op.slice(x, rotaryEnd, [TO_END], [-1]);
  }
  const rotate = (a: string, b: string): [string, string] => [
    op.sub(op.mul(a, cos), op.mul(b, sin)),
    op.add(op.mul(a, sin), op.mul(b, cos)),
  ];
  let result: string;
  if (spec.interleaved) {
    // [..., rotary_dim] -> [..., half, 2]: the pair axis last.
    const pairs = op.reshape(rotated, [0, 0, 0, -1, 2]);
    const [even, odd] = rotate(op.slice(pairs, [0], [1], [-1]), op.slice(pairs, [1], [2], [-1]));
    const joined = op.concat([even, odd], -1);
    result = op.reshape(joined, op.shape(rotated), passed ? {} : { output });
  } else {
    const halfEnd = half !== undefined ? [half] : op.shape(spec.cos, 1, 2);
    const [first, second] = rotate(op.slice(rotated, [0], halfEnd, [-1]), op.slice(rotated, halfEnd, [TO_END], [-1]));
    result = op.concat([first, second], -1, passed ? {} : { output });
  }
  return passed ? op.concat([result, passed], -1, { output }) : result;
}

/** A dimension the graph states as a number, else undefined. */
export function staticDim(facts: GraphFacts, value: string, axis: number): number | undefined {
  const d = facts.of(value).shape?.[axis];
  return typeof d === 'number' ? d : undefined;
}

/**
 * Positions as int64 [batch or 1, sequence] from position_ids of rank 2, or
 * of rank 1 (one element): ONNX Runtime reads that as the first position of
 * every sequence.
 */
function positionsOf(
  op: Ops,
  ids: string,
  idsRank: 1 | 2,
  asInt64: boolean,
  sequenceOf: string,
  sequenceAxis: number,
): string {
  const positions = asInt64 ? ids : op.cast(ids, 'int64');
  if (idsRank === 2) return positions;
  const steps = op.range(op.int64(0), op.gather(op.shape(sequenceOf), op.int64(sequenceAxis), 0), op.int64(1));
  return op.unsqueeze(op.add(op.slice(positions, [0], [1], [0]), steps), [0]);
}

/**
 * Rewrites a com.microsoft RotaryEmbedding node into standard ops with the
 * same output name. Its input is [B, N, S, H] (4-D) or [B, S, N*H] (3-D,
 * heads of num_heads, else of 2 * cos_cache's last dim).
 */
export function rewriteRotaryEmbedding(graph: OnnxGraph, node: OnnxNode): void {
  const refuse: (why: string) => never = (why) => {
    throw new GradientError(`Cannot rewrite node "${node.name}" (com.microsoft RotaryEmbedding): ${why}.`);
  };
  const [x, ids, cosCache, sinCache] = node.inputs;
  if (!x || !ids || !cosCache || !sinCache) refuse('it needs its input, position_ids, cos_cache and sin_cache');
  if (node.int('is_packed_batching', 0) !== 0) refuse('packed (ragged) batching is not supported');
  // `scale` is documented but ONNX Runtime's CPU kernel ignores it; so does this rewrite.
  const facts = new GraphFacts(graph);
  const rank = facts.rank(x);
  if (rank !== 3 && rank !== 4) refuse('the rank of its input is not known from the graph (3 or 4 is needed)');
  const idsRank = facts.rank(ids);
  if (idsRank !== 1 && idsRank !== 2)
    refuse('the rank of its position_ids is not known from the graph (1 or 2 is needed)');
  const idsInt64 = facts.of(ids).type === 'int64';
  const interleaved = node.int('interleaved', 0) === 1;
  const half = staticDim(facts, cosCache, 1);
  const output = node.outputs[0];
  graph.removeNodes([node]);
  graph.withScope(node.name || '/RotaryEmbedding', () => {
    const op = new Ops(graph);
    if (rank === 4) {
      const positions = positionsOf(op, ids, idsRank, idsInt64, x, 2);
      applyRotary(
        graph,
        x,
        { positions, cos: cosCache, sin: sinCache, interleaved, layout: 'bnsh', half, head: staticDim(facts, x, 3) },
        output,
      );
      return;
    }
    const heads = node.int('num_heads', 0);
    let split: string;
    let head: number | undefined;
    const hidden = staticDim(facts, x, 2);
    if (heads > 0) {
      split = op.reshape(x, [0, 0, heads, -1]);
      head = hidden !== undefined ? hidden / heads : undefined;
    } else {
      head = half !== undefined ? 2 * half : undefined;
      const headSize = head !== undefined ? op.int64s([head]) : op.mul(op.shape(cosCache, 1, 2), op.int64s([2]));
      split = op.reshape(x, op.concat([op.int64s([0, 0, -1]), headSize], 0));
    }
    const positions = positionsOf(op, ids, idsRank, idsInt64, x, 1);
    const rotated = applyRotary(graph, split, {
      positions,
      cos: cosCache,
      sin: sinCache,
      interleaved,
      layout: 'bsnh',
      half,
      head,
    });
    op.reshape(rotated, op.shape(x), { output });
  });
}
