// From a forward model to the model that training runs: the forward graph,
// a loss built on its outputs, and the backward pass, as one ONNX model whose
// outputs are the loss and the requested gradients. Weights are not copied:
// the new model holds the same initializers, and when written next to (or
// linked to) the forward model's external data file it reads that same file.
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OnnxGraph } from '../graph.ts';
import { externalDataFiles, resolveExternalPath } from '../model-io.ts';
import { OnnxModel } from '../model.ts';
import type { GraphProto, ModelProto, ValueInfoProto } from '../proto.ts';
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
function editableCopy(forward: OnnxModel): OnnxModel {
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
  return new OnnxModel(proto, { baseDir: forward.baseDir, readExternal: forward.readExternal });
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
  const outputs: { name: string; value: string; like: string }[] = [{ name: lossName, value: lossValue, like: lossValue }];
  for (const [input, grad] of Object.entries(gradients)) outputs.push({ name: graph.uniqueValueName(`${input}_grad`), value: grad, like: input });
  for (const keep of spec.keep ?? []) outputs.push({ name: keep, value: keep, like: keep });

  const facts = new GraphFacts(graph);
  const infos: ValueInfoProto[] = [];
  for (const { name, value, like } of outputs) {
    if (name !== value) graph.addNode({ opType: 'Identity', inputs: [value], outputs: [name], name: `/grad/output/${name}` });
    const f = facts.of(like);
    if (!f.type) throw new GradientError(`The element type of output "${name}" is not known.`);
    infos.push(tensorValueInfo(name, f.type, f.shape));
  }
  graph.proto.output = infos;
  graph.pruneUnused();
  const proto = working.proto;
  (proto.graph as GraphProto).node = graph.topologicalOrder().map((n) => n.proto);
  const model = new OnnxModel(proto, { baseDir: forward.baseDir, readExternal: forward.readExternal });
  return {
    model,
    loss: lossName,
    gradients: Object.fromEntries(Object.keys(gradients).map((input, i) => [input, outputs[i + 1].name])),
    differentiatedNodes: differentiated.length,
  };
}

/**
 * Writes a gradient model to `file` atomically. Tensors stay where they are:
 * external ones keep pointing at the forward model's data file, which is
 * linked next to `file` (hard link, else symbolic link) when `file` lives in
 * another folder, so the weights exist once on disk.
 */
export function writeGradientModel(model: OnnxModel, file: string): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true });
  const external = externalDataFiles(model.proto);
  if (external.length > 0) {
    if (!model.baseDir) throw new GradientError('The model keeps weights in external files but was not read from disk.');
    for (const location of external) {
      const source = resolveExternalPath(model.baseDir, location);
      const linked = resolveExternalPath(dir, location);
      if (path.resolve(source) === linked || existsSync(linked)) continue;
      mkdirSync(path.dirname(linked), { recursive: true });
      try {
        linkSync(source, linked);
      } catch {
        symlinkSync(source, linked);
      }
    }
  }
  const temp = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, model.toBytes());
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
