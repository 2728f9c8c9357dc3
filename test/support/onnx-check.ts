// Checks of a built or edited model: the structure first (every value
// defined once before use, outputs computed, operator sets imported), then
// the real judge, ONNX Runtime, which must load it.
import * as ort from 'onnxruntime-node';
import { OnnxGraph } from '../../src/onnx/graph.ts';
import type { OnnxModel } from '../../src/onnx/model.ts';
import { modelToStandaloneBytes } from '../../src/onnx/model-io.ts';
import { sessionOptionsFor, usesFloat64 } from '../../src/onnx/runtime.ts';

/**
 * Structural problems of a graph, in plain words (empty when none). Names
 * visible from enclosing graphs are passed as `outerScope` for subgraphs.
 */
export function validateGraph(graph: OnnxGraph, outerScope: ReadonlySet<string> = new Set(), isMain = true): string[] {
  const problems: string[] = [];
  const label = graph.name ? `graph "${graph.name}"` : 'the graph';
  const defined = new Set<string>(outerScope);
  for (const input of graph.inputs) defined.add(input.name);
  for (const t of graph.initializers) {
    if (defined.has(t.name ?? '') && !graph.inputs.some((i) => i.name === t.name))
      problems.push(`${label}: initializer "${t.name}" shadows another value.`);
    defined.add(t.name ?? '');
  }
  let order: ReturnType<OnnxGraph['topologicalOrder']>;
  try {
    order = graph.topologicalOrder();
  } catch (error) {
    return [...problems, `${label}: ${(error as Error).message}`];
  }
  const produced = new Set<string>();
  for (const node of order) {
    const who = `node "${node.name || node.opType}" (${node.opType})`;
    for (const input of node.inputs)
      if (input && !defined.has(input)) problems.push(`${label}: ${who} reads "${input}", which nothing defines.`);
    if (graph.opsetVersion(node.domain) === undefined)
      problems.push(`${label}: ${who} uses domain "${node.domain || 'ai.onnx'}", which the model does not import.`);
    for (const output of node.outputs) {
      if (!output) continue;
      if (produced.has(output) || (defined.has(output) && !outerScope.has(output)))
        problems.push(`${label}: "${output}" is computed twice (again by ${who}).`);
      produced.add(output);
      defined.add(output);
    }
    for (const { graph: sub } of node.graphAttributes()) {
      problems.push(
        ...validateGraph(
          new OnnxGraph(sub, { opsets: { opsetVersion: (d) => graph.opsetVersion(d) } }),
          defined,
          false,
        ),
      );
    }
  }
  for (const output of graph.outputs) {
    if (!defined.has(output.name)) problems.push(`${label}: output "${output.name}" is never computed.`);
    if (isMain && !output.elementType) problems.push(`${label}: output "${output.name}" has no declared type.`);
  }
  if (isMain)
    for (const input of graph.feedInputs)
      if (!input.elementType) problems.push(`${label}: input "${input.name}" has no declared type.`);
  return problems;
}

/** How `checkModel` runs the model once to compare real output shapes with the declared ones. */
export interface CheckRun {
  /** Sizes of symbolic dimensions (e.g. `{ past_sequence_length: 2 }`); others get `defaultDim`. */
  dims?: Readonly<Record<string, number>>;
  /** Size of symbolic or unknown dimensions not named in `dims` (default 2). */
  defaultDim?: number;
}

const ZERO_ARRAYS: Record<string, (n: number) => ort.Tensor['data']> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int64: (n) => new BigInt64Array(n),
  int32: (n) => new Int32Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
};

/**
 * Runs the model on zeros and reports outputs whose real shape contradicts
 * the declared one: a different rank, a different fixed size, or one symbolic
 * name taking two sizes.
 */
async function shapeProblems(session: ort.InferenceSession, model: OnnxModel, run: CheckRun): Promise<string[]> {
  const sizes = new Map<string, number>(Object.entries(run.dims ?? {}));
  const fallback = run.defaultDim ?? 2;
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of model.graph.feedInputs) {
    const make = ZERO_ARRAYS[input.elementType ?? ''];
    if (!make || !input.shape)
      return [`input "${input.name}" (${input.elementType ?? 'no type'}) cannot be filled to run the model.`];
    const dims = input.shape.map((d) =>
      typeof d === 'number' ? d : typeof d === 'string' ? (sizes.get(d) ?? fallback) : fallback,
    );
    input.shape.forEach((d, i) => typeof d === 'string' && sizes.set(d, dims[i]));
    feeds[input.name] = new ort.Tensor(
      input.elementType as 'float32',
      make(dims.reduce((a, b) => a * b, 1)) as Float32Array,
      dims,
    );
  }
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds);
  } catch (error) {
    return [`running the model on zeros failed: ${error instanceof Error ? error.message : String(error)}`];
  }
  const problems: string[] = [];
  for (const output of model.graph.outputs) {
    const actual = results[output.name]?.dims;
    if (!actual || !output.shape) continue;
    const bad =
      actual.length !== output.shape.length ||
      output.shape.some((d, i) => {
        if (typeof d === 'number') return d !== actual[i];
        if (typeof d !== 'string') return false;
        const bound = sizes.get(d);
        if (bound === undefined) sizes.set(d, actual[i]);
        return bound !== undefined && bound !== actual[i];
      });
    if (bad)
      problems.push(
        `output "${output.name}" is declared [${output.shape.join(', ')}] but came out [${actual.join(', ')}].`,
      );
  }
  return problems;
}

/** The outcome of `checkModel`. */
export interface ModelCheck {
  ok: boolean;
  /** Structural problems, then ONNX Runtime's refusal if it would not load the model. */
  problems: string[];
  /** Inputs and outputs as ONNX Runtime sees them (after its own shape inference), when it loaded. */
  runtimeInputs: readonly ort.InferenceSession.ValueMetadata[];
  runtimeOutputs: readonly ort.InferenceSession.ValueMetadata[];
}

/**
 * Validates the structure and loads the model in ONNX Runtime (CPU, with the
 * optimizations `sessionOptionsFor` picks for its float type). With `run`, it
 * also runs the model once on zeros and checks the declared output shapes.
 */
export async function checkModel(model: OnnxModel, options: { run?: CheckRun } = {}): Promise<ModelCheck> {
  const problems = validateGraph(model.graph);
  let runtimeInputs: readonly ort.InferenceSession.ValueMetadata[] = [];
  let runtimeOutputs: readonly ort.InferenceSession.ValueMetadata[] = [];
  try {
    const sessionOptions = {
      ...sessionOptionsFor(usesFloat64(model) ? 'float64' : 'float32'),
      logSeverityLevel: 3 as const,
    };
    const session = await ort.InferenceSession.create(modelToStandaloneBytes(model), sessionOptions);
    runtimeInputs = session.inputMetadata;
    runtimeOutputs = session.outputMetadata;
    if (options.run) problems.push(...(await shapeProblems(session, model, options.run)));
    await session.release();
  } catch (error) {
    problems.push(`ONNX Runtime refuses the model: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ok: problems.length === 0, problems, runtimeInputs, runtimeOutputs };
}
