// Value types in plain terms (element type and a shape of numbers, symbolic
// names or unknowns), converted to and from ValueInfoProto / TypeProto.
import { int64FromNumber, int64ToNumber, type TensorShapeProto, type TypeProto, type ValueInfoProto } from './proto.ts';
import { dataTypeOf, elementTypeName, type ElementType } from './tensor.ts';

/** One dimension: a fixed size, a symbolic name (`'batch_size'`), or null when nothing is known. */
export type Dim = number | string | null;

/** What kind of value a ValueInfo describes; almost always a tensor. */
export type ValueKind = 'tensor' | 'sparse_tensor' | 'sequence' | 'map' | 'optional' | 'opaque' | 'unknown';

/** A graph value's declared type: element type and shape (undefined shape = rank unknown). */
export interface ValueInfo {
  name: string;
  kind: ValueKind;
  /** Element type of a tensor (or of a sequence/optional of tensors); undefined when not declared. */
  elementType: ReturnType<typeof elementTypeName> | undefined;
  /** Dimensions, or undefined when the rank is not declared. */
  shape: Dim[] | undefined;
  docString?: string;
}

function shapeFromProto(shape: TensorShapeProto | undefined | null): Dim[] | undefined {
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== undefined && d.dimValue !== null && Object.prototype.hasOwnProperty.call(d, 'dimValue'))
      return int64ToNumber(d.dimValue);
    return null;
  });
}

function innerTensor(type: TypeProto | undefined | null): { elemType?: number; shape?: TensorShapeProto } | undefined {
  if (!type) return undefined;
  if (type.tensorType) return type.tensorType;
  if (type.sparseTensorType) return type.sparseTensorType;
  if (type.sequenceType) return innerTensor(type.sequenceType.elemType);
  if (type.optionalType) return innerTensor(type.optionalType.elemType);
  return undefined;
}

function kindOf(type: TypeProto | undefined | null): ValueKind {
  if (!type) return 'unknown';
  if (type.tensorType) return 'tensor';
  if (type.sparseTensorType) return 'sparse_tensor';
  if (type.sequenceType) return 'sequence';
  if (type.mapType) return 'map';
  if (type.optionalType) return 'optional';
  if (type.opaqueType) return 'opaque';
  return 'unknown';
}

/** Reads a ValueInfoProto into plain terms. */
export function valueInfoFromProto(proto: ValueInfoProto): ValueInfo {
  const kind = kindOf(proto.type);
  const tensor = innerTensor(proto.type);
  const info: ValueInfo = {
    name: proto.name ?? '',
    kind,
    elementType: tensor?.elemType ? elementTypeName(tensor.elemType) : undefined,
    shape: kind === 'tensor' || kind === 'sparse_tensor' ? shapeFromProto(tensor?.shape) : undefined,
  };
  if (proto.docString) info.docString = proto.docString;
  return info;
}

/** A tensor TypeProto for an element type and optional shape. */
export function tensorTypeProto(elementType: ElementType, shape?: readonly Dim[]): TypeProto {
  const tensorType: NonNullable<TypeProto['tensorType']> = { elemType: dataTypeOf(elementType) };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d) =>
        typeof d === 'number' ? { dimValue: int64FromNumber(d) } : typeof d === 'string' ? { dimParam: d } : {},
      ),
    };
  }
  return { tensorType };
}

/** A tensor ValueInfoProto. */
export function tensorValueInfo(
  name: string,
  elementType: ElementType,
  shape?: readonly Dim[],
  docString?: string,
): ValueInfoProto {
  const proto: ValueInfoProto = { name, type: tensorTypeProto(elementType, shape) };
  if (docString) proto.docString = docString;
  return proto;
}

/** `float32[batch_size, 3, 224, 224]`: a type as people write it. */
export function formatType(info: Pick<ValueInfo, 'kind' | 'elementType' | 'shape'>): string {
  const element = info.elementType ?? '?';
  const shape = info.shape ? `[${info.shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '';
  if (info.kind === 'tensor') return info.shape ? `${element}${shape}` : `${element} (shape not declared)`;
  if (info.kind === 'sequence' || info.kind === 'optional') return `${info.kind}<${element}>`;
  return `${info.kind}${info.elementType ? `<${element}${shape}>` : ''}`;
}
