// ONNX as data: read and write models, walk and build graphs, inspect files,
// generate tiny VLMs, and run three-graph VLM exports with a KV cache.
export { decodeModel, encodeModel, int64FromNumber, int64ToBigInt, int64ToNumber, AttributeType, DataLocation } from './proto.ts';
export type { AttributeProto, GraphProto, Int64, ModelProto, NodeProto, TensorProto, TypeProto, ValueInfoProto } from './proto.ts';
export {
  DataType,
  dataTypeOf,
  elementTypeName,
  elementTypeOfArray,
  makeStringTensor,
  makeTensor,
  tensorDims,
  tensorToArray,
  tensorToNumbers,
} from './tensor.ts';
export type { ElementType, ExternalDataReader, NumericArray, TensorData } from './tensor.ts';
export { formatType, tensorValueInfo } from './types.ts';
export type { Dim, ValueInfo, ValueKind } from './types.ts';
export { Attr, OnnxNode } from './node.ts';
export type { AttributeInput, TypedAttribute } from './node.ts';
export { OnnxGraph, outerReferences } from './graph.ts';
export type { NodeSpec } from './graph.ts';
export { DEFAULT_IR_VERSION, DEFAULT_OPSET, OnnxModel } from './model.ts';
export type { NewModelOptions } from './model.ts';
export { externalDataFiles, modelToStandaloneBytes, readModel, writeModel } from './model-io.ts';
export type { WriteModelOptions, WrittenModel } from './model-io.ts';
export { Ops } from './ops.ts';
export type { OpOptions } from './ops.ts';
export { checkModel, validateGraph } from './check.ts';
export { sessionOptionsFor, usesFloat64 } from './runtime.ts';
export type { ModelCheck } from './check.ts';
export { formatInspection, inspectModel, summarizeModel } from './inspect.ts';
export type { ModelInspection, OpCount } from './inspect.ts';
export { VLM_GRAPH_FILES } from './layout.ts';
export { argmax, expandImagePlaceholder, lastLogits, loopConfigFromJson, VlmSessionLoop } from './session-loop.ts';
export type { DecoderStep, GenerateRequest, Generation, KvCache, VlmLoopConfig, VlmSessions } from './session-loop.ts';
export { buildTinyVlm, writeTinyLlava, writeTinyMiniGptV2, writeTinyVlm } from './tiny/factory.ts';
export type { TinyVlm, TinyVlmDirectory, TinyVlmGraphs } from './tiny/factory.ts';
export { MINIGPT_V2_TOKEN_GROUP, resolveSizes } from './tiny/config.ts';
export type { TinyDType, TinyFamily, TinyVlmOptions, TinyVlmSizes } from './tiny/config.ts';
export { attentionSoftmaxName, cacheNames, MASKED_SCORE, TINY_OPSET } from './tiny/decoder.ts';
export type { TokenIds } from './tiny/tokenizer.ts';
