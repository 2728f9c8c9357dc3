// Reading and writing .onnx files, including tensors kept in external data
// files (models past protobuf's 2 GB limit ship that way). External paths
// come from downloaded files, so they are confined to the model's folder.
import { closeSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InternalError, OperatorError } from '../errors.ts';
import { OnnxModel } from './model.ts';
import {
  DAMAGED_MODEL_HINT,
  DataLocation,
  encodeModel,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './proto.ts';
import {
  byteLength,
  elementCount,
  externalLocation,
  isExternal,
  tensorDims,
  type ExternalDataReader,
  type ExternalLocation,
} from './tensor.ts';

/** Resolves an external-data location inside `baseDir`, refusing paths that leave it. */
export function resolveExternalPath(baseDir: string, location: string): string {
  const resolved = path.resolve(baseDir, location);
  const relative = path.relative(path.resolve(baseDir), resolved);
  if (path.isAbsolute(location) || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new OperatorError(
      `The model points to external data outside its folder ("${location}"); refusing to read it.`,
      { hint: 'Use a model whose files all live in its own folder, from a source you trust.' },
    );
  }
  return resolved;
}

/** A reader of external tensor bytes relative to a folder (reads only the slice asked for). */
export function externalDataReader(baseDir: string): ExternalDataReader {
  return ({ location, offset, length }: ExternalLocation) => {
    const file = resolveExternalPath(baseDir, location);
    if (length === undefined)
      throw new OperatorError(`External tensor in "${location}" has no length.`, { hint: DAMAGED_MODEL_HINT });
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (cause) {
      throw new OperatorError(`The model's external data file "${location}" is missing next to it.`, {
        cause,
        hint: `Copy ${location} into the folder of the .onnx file that names it, or download the model again.`,
      });
    }
    try {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0)
          throw new OperatorError(`The external data file "${location}" is shorter than the model expects.`, {
            hint: DAMAGED_MODEL_HINT,
          });
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  };
}

/** Reads an .onnx file. External tensors stay on disk and are read on demand. */
export async function readModel(file: string): Promise<OnnxModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new OperatorError(
      `Cannot read the model file ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.`,
      { cause, hint: 'Check that the path is right and that this process may read the file.' },
    );
  }
  const baseDir = path.dirname(path.resolve(file));
  return OnnxModel.fromBytes(bytes, { baseDir, readExternal: externalDataReader(baseDir), source: file });
}

/** Every external data file a model refers to (main graph, subgraphs and attribute tensors). */
export function externalDataFiles(model: ModelProto): string[] {
  const files = new Set<string>();
  visitTensors(model.graph ?? {}, (t) => {
    if (isExternal(t)) files.add(externalLocation(t).location);
    return t;
  });
  return [...files].sort();
}

/** How `writeModel` stores tensors. */
export interface WriteModelOptions {
  /**
   * Move initializers of at least `minBytes` bytes (default 1024) into one
   * side file `location` (default `<file name>_data`, the name transformers.js
   * looks for). Without it every tensor is written inline.
   */
  externalData?: { location?: string; minBytes?: number };
}

/** What `writeModel` wrote. */
export interface WrittenModel {
  file: string;
  bytes: number;
  externalFile?: string;
  externalBytes?: number;
}

/** A ModelProto ready to encode, plus the bytes that go to the external data file (in order). */
interface PlacedTensors {
  proto: ModelProto;
  chunks: Uint8Array[];
  externalBytes: number;
}

/**
 * Decides where every tensor's bytes go: into `location` when it is at least
 * `minBytes` long, inline otherwise. Tensors the model keeps externally are
 * read so that the result stands on its own.
 */
function placeTensors(model: OnnxModel, location: string | undefined, minBytes: number): PlacedTensors {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const graph = visitTensors(model.proto.graph ?? {}, (tensor) => {
    let raw: Uint8Array | undefined;
    if (isExternal(tensor)) {
      if (!model.readExternal)
        throw new InternalError(`Tensor "${tensor.name ?? ''}" is external but the model was not read from a file.`);
      const where = externalLocation(tensor);
      raw = model.readExternal({
        ...where,
        length: where.length ?? byteLength(tensor.dataType ?? 0, elementCount(tensorDims(tensor))),
      });
    } else if (tensor.rawData && tensor.rawData.byteLength > 0) {
      raw = tensor.rawData;
    }
    const { externalData: _e, dataLocation: _d, rawData: _r, ...rest } = tensor;
    if (raw && location && raw.byteLength >= minBytes) {
      chunks.push(raw);
      const entry: TensorProto = {
        ...rest,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.byteLength) },
        ],
        dataLocation: DataLocation.EXTERNAL,
      };
      offset += raw.byteLength;
      return entry;
    }
    if (isExternal(tensor)) return { ...rest, rawData: raw };
    return tensor;
  });
  return { proto: { ...model.proto, graph }, chunks, externalBytes: offset };
}

/** The model as one self-contained byte string (external tensors read back inline). */
export function modelToStandaloneBytes(model: OnnxModel): Uint8Array {
  return encodeModel(placeTensors(model, undefined, 0).proto);
}

/**
 * Writes a model to `file`. Tensors the model keeps externally are read and
 * re-stored according to `options`, so the written files stand on their own.
 */
export async function writeModel(
  model: OnnxModel,
  file: string,
  options: WriteModelOptions = {},
): Promise<WrittenModel> {
  const target = path.resolve(file);
  mkdirSync(path.dirname(target), { recursive: true });
  const external = options.externalData;
  const location = external ? (external.location ?? `${path.basename(target)}_data`) : undefined;
  const placed = placeTensors(model, location, external?.minBytes ?? 1024);
  const bytes = encodeModel(placed.proto);
  await writeFile(target, bytes);
  const written: WrittenModel = { file: target, bytes: bytes.byteLength };
  if (location) {
    const dataFile = resolveExternalPath(path.dirname(target), location);
    const fd = openSync(dataFile, 'w');
    try {
      for (const chunk of placed.chunks) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    written.externalFile = dataFile;
    written.externalBytes = placed.externalBytes;
  }
  return written;
}

/**
 * Rebuilds a graph with every tensor (initializers, attribute tensors, in
 * subgraphs too) passed through `visit`; untouched parts are shared.
 */
function visitTensors(graph: GraphProto, visit: (t: TensorProto) => TensorProto): GraphProto {
  let changed = false;
  const initializer = (graph.initializer ?? []).map((t) => {
    const next = visit(t);
    if (next !== t) changed = true;
    return next;
  });
  const node = (graph.node ?? []).map((n): NodeProto => {
    let nodeChanged = false;
    const attribute = (n.attribute ?? []).map((a): AttributeProto => {
      const t = a.t ? visit(a.t) : undefined;
      const g = a.g ? visitTensors(a.g, visit) : undefined;
      const tensors = a.tensors?.map(visit);
      const graphs = a.graphs?.map((sub) => visitTensors(sub, visit));
      const same =
        t === a.t &&
        g === a.g &&
        (tensors ?? []).every((x, i) => x === a.tensors?.[i]) &&
        (graphs ?? []).every((x, i) => x === a.graphs?.[i]);
      if (same) return a;
      nodeChanged = true;
      const copy: AttributeProto = { ...a };
      if (a.t) copy.t = t;
      if (a.g) copy.g = g;
      if (a.tensors && a.tensors.length > 0) copy.tensors = tensors;
      if (a.graphs && a.graphs.length > 0) copy.graphs = graphs;
      return copy;
    });
    if (!nodeChanged) return n;
    changed = true;
    return { ...n, attribute };
  });
  if (!changed) return graph;
  const copy: GraphProto = { ...graph };
  if (graph.initializer && graph.initializer.length > 0) copy.initializer = initializer;
  if (graph.node && graph.node.length > 0) copy.node = node;
  return copy;
}
