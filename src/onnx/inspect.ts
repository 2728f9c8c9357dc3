// A structured summary of an ONNX file: what to feed it, what it returns,
// which operator sets and operators it uses, how many parameters it holds and
// which external data files it needs. `onnx inspect` prints it.
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { externalDataFiles, readModel, resolveExternalPath } from './model-io.ts';
import type { OnnxModel } from './model.ts';
import type { GraphProto } from './proto.ts';
import { DataType, byteLength, elementCount, tensorDims } from './tensor.ts';
import { formatType, valueInfoFromProto, type ValueInfo } from './types.ts';

/** One operator and how often it occurs (subgraphs included). */
export interface OpCount {
  /** `Conv` for the standard domain, `com.microsoft.MatMulNBits` otherwise. */
  op: string;
  count: number;
}

/** An external data file the model refers to. */
export interface ExternalFileInfo {
  location: string;
  /** Size on disk; null when missing (or when the model was not read from a file). */
  bytes: number | null;
}

/** What `inspectModel` reports. */
export interface ModelInspection {
  file: string | null;
  fileBytes: number | null;
  irVersion: number;
  producer: string;
  graphName: string;
  /** Imported operator sets ('' is the standard ONNX domain). */
  opsets: Record<string, number>;
  /** Inputs a caller feeds (initializers listed as inputs by old exporters are left out). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Nodes in the main graph and all subgraphs. */
  nodeCount: number;
  subgraphCount: number;
  /** Most frequent first, then by name. */
  ops: OpCount[];
  /** Elements in all initializers (main graph and subgraphs). */
  parameterCount: number;
  parameterBytes: number;
  initializerCount: number;
  externalData: ExternalFileInfo[];
  metadata: Record<string, string>;
}

function walk(graph: GraphProto, visit: (g: GraphProto, depth: number) => void, depth = 0): void {
  visit(graph, depth);
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.g) walk(a.g, visit, depth + 1);
      for (const g of a.graphs ?? []) walk(g, visit, depth + 1);
    }
  }
}

/** Summarizes a loaded model (`file` names it in the report). */
export function summarizeModel(
  model: OnnxModel,
  file: string | null = null,
  fileBytes: number | null = null,
): ModelInspection {
  const histogram = new Map<string, number>();
  let nodeCount = 0;
  let subgraphCount = -1;
  let parameterCount = 0;
  let parameterBytes = 0;
  let initializerCount = 0;
  walk(model.proto.graph ?? {}, (g) => {
    subgraphCount++;
    for (const node of g.node ?? []) {
      nodeCount++;
      const domain = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.` : '';
      const op = `${domain}${node.opType ?? ''}`;
      histogram.set(op, (histogram.get(op) ?? 0) + 1);
    }
    for (const t of g.initializer ?? []) {
      initializerCount++;
      const count = elementCount(tensorDims(t));
      parameterCount += count;
      parameterBytes += t.dataType === DataType.STRING ? 0 : (byteLength(t.dataType ?? 0, count) ?? 0);
    }
  });
  const graph = model.graph;
  const initializerNames = new Set(graph.initializers.map((t) => t.name));
  const baseDir = model.baseDir;
  return {
    file,
    fileBytes,
    irVersion: model.irVersion,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    graphName: graph.name,
    opsets: model.opsets,
    inputs: (graph.proto.input ?? []).filter((i) => !initializerNames.has(i.name)).map(valueInfoFromProto),
    outputs: graph.outputs,
    nodeCount,
    subgraphCount,
    ops: [...histogram]
      .map(([op, count]) => ({ op, count }))
      .sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
    parameterCount,
    parameterBytes,
    initializerCount,
    externalData: externalDataFiles(model.proto).map((location) => ({
      location,
      bytes: baseDir ? fileSize(baseDir, location) : null,
    })),
    metadata: model.metadata,
  };
}

/** Reads and summarizes an .onnx file, checking that its external data files exist. */
export async function inspectModel(file: string): Promise<ModelInspection> {
  const model = await readModel(file);
  const size = (await stat(file)).size;
  return summarizeModel(model, path.resolve(file), size);
}

function fileSize(baseDir: string, location: string): number | null {
  try {
    return statSync(resolveExternalPath(baseDir, location)).size;
  } catch {
    return null;
  }
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** The summary as plain text for a terminal. */
export function formatInspection(i: ModelInspection): string {
  const lines: string[] = [];
  if (i.file) lines.push(`${i.file}${i.fileBytes !== null ? ` (${human(i.fileBytes)}B)` : ''}`);
  lines.push(
    `IR version ${i.irVersion}${i.producer ? `, produced by ${i.producer}` : ''}${i.graphName ? `, graph "${i.graphName}"` : ''}`,
  );
  lines.push(
    `Opsets: ${Object.entries(i.opsets)
      .map(([d, v]) => `${d || 'ai.onnx'} ${v}`)
      .join(', ')}`,
  );
  const io = (title: string, values: ValueInfo[]): void => {
    lines.push(`${title} (${values.length}):`);
    const width = Math.max(0, ...values.map((v) => v.name.length));
    for (const v of values) lines.push(`  ${v.name.padEnd(width)}  ${formatType(v)}`);
  };
  io('Inputs', i.inputs);
  io('Outputs', i.outputs);
  lines.push(
    `Parameters: ${human(i.parameterCount)} in ${i.initializerCount} initializers (${human(i.parameterBytes)}B)`,
  );
  lines.push(
    `Nodes: ${i.nodeCount}${i.subgraphCount > 0 ? ` (${i.subgraphCount} subgraphs)` : ''}, ${i.ops.length} operator types:`,
  );
  const width = Math.max(0, ...i.ops.map((o) => o.op.length));
  for (const o of i.ops) lines.push(`  ${o.op.padEnd(width)}  ${o.count}`);
  if (i.externalData.length > 0) {
    lines.push('External data:');
    for (const e of i.externalData)
      lines.push(`  ${e.location}  ${e.bytes === null ? 'MISSING' : `${human(e.bytes)}B`}`);
  }
  const meta = Object.entries(i.metadata);
  if (meta.length > 0) {
    lines.push('Metadata:');
    for (const [k, v] of meta) lines.push(`  ${k}: ${v.length > 80 ? `${v.slice(0, 77)}...` : v}`);
  }
  return lines.join('\n');
}
