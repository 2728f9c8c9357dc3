// A whole ONNX model: header (IR version, opset imports, producer, metadata)
// around one main graph. Loaded models keep their ModelProto; new ones start
// from `OnnxModel.create`.
import {
  decodeModel,
  encodeModel,
  entriesToRecord,
  int64FromNumber,
  int64ToNumber,
  type ModelProto,
  type OperatorSetIdProto,
} from './proto.ts';
import { OnnxGraph } from './graph.ts';
import type { ExternalDataReader } from './tensor.ts';

/**
 * IR version written by `OnnxModel.create`: IR 8 goes with opsets 14-17 and
 * is read by every ONNX Runtime since 1.10.
 */
export const DEFAULT_IR_VERSION = 8;

/** Standard-domain opset of new models unless told otherwise. */
export const DEFAULT_OPSET = 17;

/** Options of a new, empty model. */
export interface NewModelOptions {
  /** Operator sets by domain ('' is standard ONNX). Default `{ '': 17 }`. */
  opsets?: Readonly<Record<string, number>>;
  /** Default 8. */
  irVersion?: number;
  /** Default 'myvlm'. */
  producerName?: string;
  producerVersion?: string;
  graphName?: string;
  docString?: string;
}

/** A model file and the bytes read from it. */
export interface SourceFile {
  path: string;
  bytes: Uint8Array;
}

/** A model: header fields plus its main graph (`model.graph`). */
export class OnnxModel {
  readonly proto: ModelProto;
  readonly graph: OnnxGraph;
  /** Folder that external-data locations are relative to (the model file's folder). */
  readonly baseDir: string | undefined;
  /** Reads external tensor bytes; set when the model was read from a file. */
  readonly readExternal: ExternalDataReader | undefined;
  /**
   * The file the model was read from and its bytes: inline tensors are views
   * into them, so a derived model can point at them in place instead of
   * copying the weights (see writeDerivedModel).
   */
  readonly sourceFile: SourceFile | undefined;

  constructor(
    proto: ModelProto,
    options: { baseDir?: string; readExternal?: ExternalDataReader; sourceFile?: SourceFile } = {},
  ) {
    this.proto = proto;
    this.baseDir = options.baseDir;
    this.readExternal = options.readExternal;
    this.sourceFile = options.sourceFile;
    if (!Object.prototype.hasOwnProperty.call(proto, 'graph') || !proto.graph) proto.graph = {};
    this.graph = new OnnxGraph(proto.graph, { opsets: this, readExternal: options.readExternal });
  }

  /** An empty model to build into. */
  static create(options: NewModelOptions = {}): OnnxModel {
    const opsets = options.opsets ?? { '': DEFAULT_OPSET };
    const proto: ModelProto = {
      irVersion: int64FromNumber(options.irVersion ?? DEFAULT_IR_VERSION),
      producerName: options.producerName ?? 'myvlm',
      graph: { name: options.graphName ?? 'main_graph' },
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version: int64FromNumber(version) })),
    };
    if (options.producerVersion) proto.producerVersion = options.producerVersion;
    if (options.docString) proto.docString = options.docString;
    return new OnnxModel(proto);
  }

  /** Parses model bytes; `baseDir` and `readExternal` matter only for external data. */
  static fromBytes(
    bytes: Uint8Array,
    options: { baseDir?: string; readExternal?: ExternalDataReader; source?: string } = {},
  ): OnnxModel {
    return new OnnxModel(decodeModel(bytes, options.source), {
      ...options,
      sourceFile: options.source ? { path: options.source, bytes } : undefined,
    });
  }

  get irVersion(): number {
    return int64ToNumber(this.proto.irVersion);
  }
  get producerName(): string {
    return this.proto.producerName ?? '';
  }
  get producerVersion(): string {
    return this.proto.producerVersion ?? '';
  }
  /** Imported operator sets by domain ('' for standard ONNX; 'ai.onnx' is folded into ''). */
  get opsets(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.proto.opsetImport ?? [])
      out[o.domain === 'ai.onnx' ? '' : (o.domain ?? '')] = int64ToNumber(o.version);
    return out;
  }
  opsetVersion(domain: string): number | undefined {
    return this.opsets[domain === 'ai.onnx' ? '' : domain];
  }
  /** Imports an operator set (or changes its version). */
  setOpset(domain: string, version: number): void {
    if (!Object.prototype.hasOwnProperty.call(this.proto, 'opsetImport')) this.proto.opsetImport = [];
    const list = this.proto.opsetImport as OperatorSetIdProto[];
    const found = list.find((o) => (o.domain ?? '') === domain);
    if (found) found.version = int64FromNumber(version);
    else list.push({ domain, version: int64FromNumber(version) });
  }
  /** metadata_props as a record. */
  get metadata(): Record<string, string> {
    return entriesToRecord(this.proto.metadataProps);
  }
  /** Sets one metadata entry (replacing an existing key). */
  setMetadata(key: string, value: string): void {
    const list = Object.prototype.hasOwnProperty.call(this.proto, 'metadataProps')
      ? (this.proto.metadataProps ?? [])
      : [];
    const kept = list.filter((e) => e.key !== key);
    this.proto.metadataProps = [...kept, { key, value }];
  }

  /** The ModelProto to serialize. */
  toProto(): ModelProto {
    return this.proto;
  }
  /** The model as .onnx bytes (tensors stay where they are: inline or external). */
  toBytes(): Uint8Array {
    return encodeModel(this.proto);
  }
}
