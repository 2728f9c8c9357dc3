// From a forward model to the model that training runs: the forward graph,
// a loss built on its outputs, and the backward pass, as one ONNX model whose
// outputs are the loss and the requested gradients. Weights are not copied:
// the new model holds the same initializers, and when written next to (or
// linked to) the forward model's external data file it reads that same file.
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InternalError, OperatorError } from '../../errors.ts';
import type { OnnxGraph } from '../graph.ts';
import { externalDataFiles, resolveExternalPath } from '../model-io.ts';
import { OnnxModel } from '../model.ts';
import {
  DataLocation,
  encodeModel,
  type GraphProto,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
} from '../proto.ts';
import { isExternal } from '../tensor.ts';
import { tensorValueInfo } from '../types.ts';
import { appendBackward } from './backward.ts';
import { GradientError } from './emitter.ts';
import { GraphFacts } from './facts.ts';
import { rewriteFusedOps } from './fused.ts';

/** How to turn a forward model into a gradient model. */
export interface GradientModelSpec {
  /** Inputs (or initializers) to differentiate, e.g. `['inputs_embeds']`. Every other initializer stays frozen. */
  wrt: readonly string[];
  /**
   * Appends the loss to the forward graph and returns its value name (a
   * scalar). It may add graph inputs (labels, positions) the loss needs.
   */
  loss: (graph: OnnxGraph) => string;
  /** Forward values to keep as extra outputs (default none: cache outputs and logits are dropped). */
  keep?: readonly string[];
  /** Name of the loss output (default 'loss'). */
  lossOutput?: string;
}

/** The built model and the names of its outputs. */
export interface GradientModel {
  model: OnnxModel;
  /** Output name of the loss. */
  loss: string;
  /** Output name of each gradient, by differentiated input. */
  gradients: Record<string, string>;
  /** Forward nodes the gradient flows through. */
  differentiatedNodes: number;
}

/** A copy of the model whose graph can be edited without touching the original; tensors are shared. */
export function editableCopy(forward: OnnxModel): OnnxModel {
  const g: GraphProto = forward.proto.graph ?? {};
  const graph: GraphProto = {
    ...g,
    node: [...(g.node ?? [])],
    input: [...(g.input ?? [])],
    output: [...(g.output ?? [])],
    initializer: [...(g.initializer ?? [])],
    valueInfo: [...(g.valueInfo ?? [])],
  };
  const proto: ModelProto = { ...forward.proto, graph, opsetImport: [...(forward.proto.opsetImport ?? [])] };
  return new OnnxModel(proto, {
    baseDir: forward.baseDir,
    readExternal: forward.readExternal,
    sourceFile: forward.sourceFile,
  });
}

/**
 * Builds the training model: forward + loss + backward, outputs = loss,
 * one gradient per `wrt` entry (named `<input>_grad`), and `keep`.
 * Fused normalizations are rewritten into standard ops first; other fused
 * contrib ops on the gradient path are refused by name (GradientError).
 */
export function buildGradientModel(forward: OnnxModel, spec: GradientModelSpec): GradientModel {
  const working = editableCopy(forward);
  rewriteFusedOps(working.graph);
  const graph = working.graph;
  const lossValue = spec.loss(graph);
  const { gradients, differentiated } = appendBackward(graph, { loss: lossValue, wrt: spec.wrt });

  const lossName = spec.lossOutput ?? 'loss';
  // A gradient has its input's type and shape, which the input declares best.
  const outputs: { name: string; value: string; like: string }[] = [
    { name: lossName, value: lossValue, like: lossValue },
  ];
  for (const [input, grad] of Object.entries(gradients))
    outputs.push({ name: graph.uniqueValueName(`${input}_grad`), value: grad, like: input });
  for (const keep of spec.keep ?? []) outputs.push({ name: keep, value: keep, like: keep });

  const facts = new GraphFacts(graph);
  const infos: ValueInfoProto[] = [];
  for (const { name, value, like } of outputs) {
    if (name !== value)
      graph.addNode({ opType: 'Identity', inputs: [value], outputs: [name], name: `/grad/output/${name}` });
    const f = facts.of(like);
    if (!f.type) throw new GradientError(`The element type of output "${name}" is not known.`);
    infos.push(tensorValueInfo(name, f.type, f.shape));
  }
  graph.proto.output = infos;
  graph.pruneUnused();
  const proto = working.proto;
  (proto.graph as GraphProto).node = graph.topologicalOrder().map((n) => n.proto);
  const model = new OnnxModel(proto, {
    baseDir: forward.baseDir,
    readExternal: forward.readExternal,
    sourceFile: forward.sourceFile,
  });
  return {
    model,
    loss: lossName,
    gradients: Object.fromEntries(Object.keys(gradients).map((input, i) => [input, outputs[i + 1].name])),
    differentiatedNodes: differentiated.length,
  };
}

/** Inline tensors at least this long are pointed at in the source file instead of copied (small ones stay inline). */
const IN_PLACE_MIN_BYTES = 1024;

/** Name of the link to the forward model's own .onnx file, beside a gradient model whose weights are read from it. */
const SOURCE_LINK = 'forward-weights.onnx';

/** Links `source` as `linked` (a hard link, else a symbolic link) unless something is there already. */
function link(source: string, linked: string): void {
  if (path.resolve(source) === linked || existsSync(linked)) return;
  mkdirSync(path.dirname(linked), { recursive: true });
  try {
    linkSync(source, linked);
  } catch {
    symlinkSync(source, linked);
  }
}

/**
 * The main graph's inline weights as external data read in place from the
 * forward model's file (linked beside the gradient model as SOURCE_LINK): a
 * single-file export of several hundred MB is then neither copied on disk
 * nor re-encoded, and writing the teaching graph takes seconds.
 */
function weightsInPlace(model: OnnxModel): ModelProto {
  const source = model.sourceFile;
  const graph = model.proto.graph ?? {};
  if (!source) return model.proto;
  const initializer = (graph.initializer ?? []).map((tensor): TensorProto => {
    const raw = tensor.rawData;
    if (!raw || raw.buffer !== source.bytes.buffer || raw.byteLength < IN_PLACE_MIN_BYTES || isExternal(tensor))
      return tensor;
    const { rawData: _raw, ...rest } = tensor;
    return {
      ...rest,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: SOURCE_LINK },
        { key: 'offset', value: String(raw.byteOffset - source.bytes.byteOffset) },
        { key: 'length', value: String(raw.byteLength) },
      ],
    };
  });
  return { ...model.proto, graph: { ...graph, initializer } };
}

/**
 * Writes a model derived from a forward model (a gradient model, a pruned
 * copy) to `file` atomically. Weights are never copied:
 * tensors the forward model keeps in external data files stay there (each
 * file linked next to `file`), and weights stored inside a single-file
 * forward model are read in place from it (linked next to `file` as
 * SOURCE_LINK). Either way the weights exist once on disk.
 */
export function writeDerivedModel(model: OnnxModel, file: string): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true });
  const proto = weightsInPlace(model);
  const external = externalDataFiles(model.proto);
  if (external.length > 0) {
    if (!model.baseDir)
      throw new InternalError('The model keeps weights in external files but was not read from disk.');
    for (const location of external)
      link(resolveExternalPath(model.baseDir, location), resolveExternalPath(dir, location));
  }
  if (proto !== model.proto && model.sourceFile) link(path.resolve(model.sourceFile.path), path.join(dir, SOURCE_LINK));
  const temp = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, encodeModel(proto));
    renameSync(temp, target);
  } catch (cause) {
    rmSync(temp, { force: true });
    throw new OperatorError(`Cannot write ${target} (${cause instanceof Error ? cause.message : String(cause)}).`, {
      cause,
      hint: 'Check the free space and the permissions of that folder.',
    });
  }
}
