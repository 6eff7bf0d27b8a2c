// The subset of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto)
// that the importer reads and the exporter writes, as plain objects, over the wire format of protobuf.ts.
// Field numbers are onnx.proto's (IR version 3+). Tensors: FLOAT, DOUBLE, INT8, UINT8, INT32, INT64 from
// raw_data or the typed repeated fields (BOOL as Uint8Array); external data (data_location = EXTERNAL) is refused with an error.
import { Message, ProtoError, Writer, asBytes, ownBuffer } from './protobuf.js';

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
const TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL',
  10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 16: 'BFLOAT16',
};
export const dataTypeName = (t: number): string => TYPE_NAMES[t] ?? `type ${t}`;

export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** Tensor data by type: float / double → Float32Array / Float64Array, int8, uint8, int32, int64 → number[]. */
export type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | number[];

export interface OnnxTensor { name: string; dims: number[]; dataType: number; data: TensorData }

export interface OnnxAttribute {
  name: string; type: number;
  f?: number; i?: number; s?: string; t?: OnnxTensor; floats?: number[]; ints?: number[]; strings?: string[];
}

export interface OnnxNode { name: string; opType: string; domain: string; inputs: string[]; outputs: string[]; attributes: OnnxAttribute[] }

/** dims: a number (fixed), a string (symbolic, e.g. 'batch') or null (unknown); null dims = rank unknown. */
export interface OnnxValueInfo { name: string; elemType: number; dims: (number | string | null)[] | null }

export interface OnnxGraph {
  name: string; nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[]; docString?: string;
}

export interface OnnxModel {
  irVersion: number; opsets: { domain: string; version: number }[];
  producerName: string; producerVersion: string; docString?: string;
  graph: OnnxGraph; metadata: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding.

function elementCount(dims: number[]): number { return dims.reduce((a, b) => a * b, 1); }

function decodeTensor(m: Message): OnnxTensor {
  const name = m.string(8);
  const dims = m.ints(1);
  const dataType = m.int(2);
  const where = `tensor '${name}'`;
  if (m.int(14) === 1) throw new ProtoError(`${where} keeps its data in an external file, which is not supported: save the model with its weights inside (onnx.save_model(..., save_as_external_data=False))`);
  if (m.has(3)) throw new ProtoError(`${where} is segmented, which is not supported`);
  if (dims.some((d) => d < 0)) throw new ProtoError(`${where} has negative dims [${dims}]`);
  const n = elementCount(dims);
  const raw = m.bytesField(9);
  const fromRaw = <T>(size: number, make: (buf: ArrayBuffer) => T): T => {
    if (raw!.length !== n * size) throw new ProtoError(`${where}: raw_data has ${raw!.length} bytes, dims [${dims}] of ${dataTypeName(dataType)} need ${n * size}`);
    return make(ownBuffer(raw!));
  };
  const checkLen = (len: number) => { if (len !== n) throw new ProtoError(`${where}: holds ${len} values, dims [${dims}] need ${n}`); };
  let data: TensorData;
  switch (dataType) {
    case DataType.FLOAT:
      if (raw) data = fromRaw(4, (b) => new Float32Array(b));
      else { const v = m.floats(4); checkLen(v.length); data = Float32Array.from(v); }
      break;
    case DataType.DOUBLE:
      if (raw) data = fromRaw(8, (b) => new Float64Array(b));
      else { const v = m.doubles(10); checkLen(v.length); data = Float64Array.from(v); }
      break;
    case DataType.INT8: case DataType.UINT8: case DataType.BOOL: case DataType.INT32: {
      const size = dataType === DataType.INT32 ? 4 : 1;
      const Ctor = dataType === DataType.INT8 ? Int8Array : dataType === DataType.INT32 ? Int32Array : Uint8Array;
      if (raw) data = fromRaw(size, (b) => new Ctor(b));
      else { const v = m.ints(5); checkLen(v.length); data = Ctor.from(v); }
      break;
    }
    case DataType.INT64:
      if (raw) {
        data = fromRaw(8, (b) => Array.from(new BigInt64Array(b), (x) => {
          if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < BigInt(Number.MIN_SAFE_INTEGER)) throw new ProtoError(`${where}: int64 value ${x} is beyond ±2^53`);
          return Number(x);
        }));
      } else { const v = m.ints(7); checkLen(v.length); data = v; }
      break;
    default:
      throw new ProtoError(`${where} has data type ${dataTypeName(dataType)}, which is not supported (FLOAT, DOUBLE, INT8, UINT8, BOOL, INT32, INT64)`);
  }
  return { name, dims, dataType, data };
}

function decodeAttribute(m: Message, node: string): OnnxAttribute {
  const a: OnnxAttribute = { name: m.string(1), type: m.int(20) };
  const where = `node '${node}' attribute '${a.name}'`;
  if (m.has(2)) a.f = m.float(2);
  if (m.has(3)) a.i = m.int(3);
  if (m.has(4)) a.s = m.string(4);
  if (m.has(5)) a.t = decodeTensor(m.message(5, `${where}.t`)!);
  if (m.has(7)) a.floats = m.floats(7);
  if (m.has(8)) a.ints = m.ints(8);
  if (m.has(9)) a.strings = m.strings(9);
  return a;
}

function decodeNode(m: Message, i: number): OnnxNode {
  const opType = m.string(4), name = m.string(3) || `#${i} (${opType})`;
  return {
    name, opType, domain: m.string(7), inputs: m.strings(1), outputs: m.strings(2),
    attributes: m.messages(5, `node '${name}' attribute`).map((a) => decodeAttribute(a, name)),
  };
}

function decodeValueInfo(m: Message): OnnxValueInfo {
  const name = m.string(1);
  const tensorType = m.message(2, `value '${name}' type`)?.message(1, `value '${name}' tensor type`);
  if (!tensorType) return { name, elemType: 0, dims: null };
  const shape = tensorType.message(2, `value '${name}' shape`);
  const dims = shape ? shape.messages(1, `value '${name}' dim`).map((d) => (d.has(1) ? d.int(1) : d.has(2) ? d.string(2) : null)) : null;
  return { name, elemType: tensorType.int(1), dims };
}

function decodeGraph(m: Message): OnnxGraph {
  return {
    name: m.string(2),
    nodes: m.messages(1, 'node').map(decodeNode),
    initializers: m.messages(5, 'initializer').map(decodeTensor),
    inputs: m.messages(11, 'graph input').map(decodeValueInfo),
    outputs: m.messages(12, 'graph output').map(decodeValueInfo),
    valueInfo: m.messages(13, 'value_info').map(decodeValueInfo),
    docString: m.string(10) || undefined,
  };
}

/** Parses an ONNX model file (ModelProto bytes). Throws a ProtoError naming what is malformed. */
export function decodeModel(input: Uint8Array | ArrayBuffer): OnnxModel {
  const bytes = asBytes('bytes', input);
  if (bytes.length === 0) throw new ProtoError('the ONNX file is empty');
  const m = new Message(bytes, 'ModelProto');
  const g = m.message(7, 'graph');
  if (!g) throw new ProtoError('not an ONNX model: ModelProto has no graph (field 7)');
  const metadata: Record<string, string> = {};
  for (const e of m.messages(14, 'metadata_props')) metadata[e.string(1)] = e.string(2);
  return {
    irVersion: m.int(1),
    opsets: m.messages(8, 'opset_import').map((o) => ({ domain: o.string(1), version: o.int(2) })),
    producerName: m.string(2), producerVersion: m.string(3), docString: m.string(6) || undefined,
    graph: decodeGraph(g), metadata,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Encoding (always raw_data for tensors: what onnxruntime reads fastest).

function encodeTensor(t: OnnxTensor): Writer {
  const w = new Writer().varints(1, t.dims).varint(2, t.dataType);
  if (t.name) w.string(8, t.name);
  const n = elementCount(t.dims);
  if (t.data.length !== n) throw new RangeError(`tensor '${t.name}': ${t.data.length} values for dims [${t.dims}]`);
  let raw: Uint8Array;
  switch (t.dataType) {
    case DataType.FLOAT: raw = new Uint8Array(Float32Array.from(t.data as ArrayLike<number>).buffer); break;
    case DataType.DOUBLE: raw = new Uint8Array(Float64Array.from(t.data as ArrayLike<number>).buffer); break;
    case DataType.INT8: raw = new Uint8Array(Int8Array.from(t.data as ArrayLike<number>).buffer); break;
    case DataType.UINT8: raw = Uint8Array.from(t.data as ArrayLike<number>); break;
    case DataType.INT32: raw = new Uint8Array(Int32Array.from(t.data as ArrayLike<number>).buffer); break;
    case DataType.INT64: raw = new Uint8Array(BigInt64Array.from(t.data as ArrayLike<number>, (x) => BigInt(x)).buffer); break;
    default: throw new RangeError(`tensor '${t.name}': cannot write data type ${dataTypeName(t.dataType)}`);
  }
  // little-endian hosts only (typed arrays are host-endian; raw_data is little-endian)
  return w.bytes(9, raw);
}

function encodeAttribute(a: OnnxAttribute): Writer {
  const w = new Writer().string(1, a.name).varint(20, a.type);
  switch (a.type) {
    case AttrType.FLOAT: w.float(2, a.f ?? 0); break;
    case AttrType.INT: w.varint(3, a.i ?? 0); break;
    case AttrType.STRING: w.string(4, a.s ?? ''); break;
    case AttrType.TENSOR: w.message(5, encodeTensor(a.t!)); break;
    case AttrType.FLOATS: w.floats(7, a.floats ?? []); break;
    case AttrType.INTS: w.varints(8, a.ints ?? []); break;
    case AttrType.STRINGS: for (const s of a.strings ?? []) w.string(9, s); break;
    default: throw new RangeError(`attribute '${a.name}': cannot write attribute type ${a.type}`);
  }
  return w;
}

function encodeNode(n: OnnxNode): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, encodeAttribute(a));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeValueInfo(v: OnnxValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.dims ?? []) {
    const dim = new Writer();
    if (typeof d === 'number') dim.varint(1, d); else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer().varint(1, v.elemType);
  if (v.dims) tensorType.message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** Serialises a model to ModelProto bytes. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const g = new Writer();
  for (const n of m.graph.nodes) g.message(1, encodeNode(n));
  g.string(2, m.graph.name);
  for (const t of m.graph.initializers) g.message(5, encodeTensor(t));
  if (m.graph.docString) g.string(10, m.graph.docString);
  for (const v of m.graph.inputs) g.message(11, encodeValueInfo(v));
  for (const v of m.graph.outputs) g.message(12, encodeValueInfo(v));
  for (const v of m.graph.valueInfo) g.message(13, encodeValueInfo(v));
  const w = new Writer().varint(1, m.irVersion);
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, g);
  for (const o of m.opsets) { const ow = new Writer(); if (o.domain) ow.string(1, o.domain); ow.varint(2, o.version); w.message(8, ow); }
  for (const [k, v] of Object.entries(m.metadata)) w.message(14, new Writer().string(1, k).string(2, v));
  return w.finish();
}

/** Attribute helpers for building nodes. */
export const attr = {
  int: (name: string, i: number): OnnxAttribute => ({ name, type: AttrType.INT, i }),
  ints: (name: string, ints: number[]): OnnxAttribute => ({ name, type: AttrType.INTS, ints }),
  float: (name: string, f: number): OnnxAttribute => ({ name, type: AttrType.FLOAT, f }),
  string: (name: string, s: string): OnnxAttribute => ({ name, type: AttrType.STRING, s }),
};
