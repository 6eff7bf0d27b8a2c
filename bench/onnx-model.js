// A minimal protobuf writer for the few ONNX messages the benchmarks need (ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto), so peers' models are built in JS with no extra dependency.
// Field numbers are those of onnx/onnx.proto. Weights go in as initializers (constant), which is what lets
// ONNX Runtime prepack them once at session creation.

const enc = new TextEncoder();

// ---- wire format
function varint(out, v) {
  let x = BigInt.asUintN(64, BigInt(v));
  while (x >= 0x80n) { out.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
  out.push(Number(x));
}
const key = (out, field, wire) => varint(out, (field << 3) | wire);

class Msg {
  constructor() { this.b = []; }
  int(field, v) { key(this.b, field, 0); varint(this.b, v); return this; }
  ints(field, vs) { for (const v of vs) this.int(field, v); return this; }
  float(field, v) { key(this.b, field, 5); const f = new Uint8Array(new Float32Array([v]).buffer); this.b.push(...f); return this; }
  bytes(field, u8) { key(this.b, field, 2); varint(this.b, u8.length); for (let i = 0; i < u8.length; i++) this.b.push(u8[i]); return this; }
  str(field, s) { return this.bytes(field, enc.encode(s)); }
  msg(field, m) { return this.bytes(field, m.toBytes()); }
  toBytes() { return Uint8Array.from(this.b); }
}

// ---- ONNX
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 };
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 };

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian bytes). */
export function tensor(name, dataType, dims, data) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Msg().ints(1, dims).int(2, dataType).str(8, name).bytes(9, raw);
}

/** ValueInfoProto name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1. */
export function valueInfo(name, elemType, dims) {
  const shape = new Msg();
  for (const d of dims) shape.msg(1, new Msg().int(1, d));
  const tt = new Msg().int(1, elemType).msg(2, shape);
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tt));
}

/** AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20. */
function attribute(name, v) {
  const a = new Msg().str(1, name);
  if (Array.isArray(v)) return a.ints(8, v).int(20, AttrType.INTS);
  if (typeof v === 'string') return a.str(4, v).int(20, AttrType.STRING);
  if (Number.isInteger(v)) return a.int(3, v).int(20, AttrType.INT);
  return a.float(2, v).int(20, AttrType.FLOAT);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7. */
export function node(opType, inputs, outputs, attrs = {}, domain = '') {
  const n = new Msg();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, `${opType}_0`).str(4, opType);
  for (const [k, v] of Object.entries(attrs)) n.msg(5, attribute(k, v));
  if (domain) n.str(7, domain);
  return n;
}

/**
 * ModelProto bytes: ir_version 1, producer_name 2, graph 7, opset_import 8 (domain 1, version 2).
 * GraphProto: node 1, name 2, initializer 5, input 11, output 12.
 */
export function model({ nodes, initializers = [], inputs, outputs, opset = 13, extraOpsets = {} }) {
  const g = new Msg();
  for (const n of nodes) g.msg(1, n);
  g.str(2, 'qwasm_bench');
  for (const t of initializers) g.msg(5, t);
  for (const i of inputs) g.msg(11, i);
  for (const o of outputs) g.msg(12, o);
  const m = new Msg().int(1, 8).str(2, 'qwasm-bench').msg(7, g).msg(8, new Msg().str(1, '').int(2, opset));
  for (const [domain, version] of Object.entries(extraOpsets)) m.msg(8, new Msg().str(1, domain).int(2, version));
  return m.toBytes();
}

const scalar = (name, type, v) => tensor(name, type, [], type === DataType.FLOAT ? Float32Array.of(v)
  : type === DataType.UINT8 ? Uint8Array.of(v) : type === DataType.INT8 ? Int8Array.of(v) : Int32Array.of(v));

/** QLinearMatMul: y(u8, M×N) = requant(a(u8, M×K) · b(s8 weights, K×N, per-tensor scale)). */
export function qlinearMatMulModel(m, k, n, bWeights) {
  return model({
    nodes: [node('QLinearMatMul', ['a', 'a_scale', 'a_zp', 'b', 'b_scale', 'b_zp', 'y_scale', 'y_zp'], ['y'])],
    initializers: [
      scalar('a_scale', DataType.FLOAT, 0.02), scalar('a_zp', DataType.UINT8, 128),
      tensor('b', DataType.INT8, [k, n], bWeights), scalar('b_scale', DataType.FLOAT, 0.01), scalar('b_zp', DataType.INT8, 0),
      scalar('y_scale', DataType.FLOAT, 0.05 * Math.sqrt(k)), scalar('y_zp', DataType.UINT8, 128),
    ],
    inputs: [valueInfo('a', DataType.UINT8, [m, k])],
    outputs: [valueInfo('y', DataType.UINT8, [m, n])],
  });
}

/** MatMulInteger: y(int32, M×N) = (a(u8) − a_zp) · b(s8 weights). */
export function matMulIntegerModel(m, k, n, bWeights) {
  return model({
    nodes: [node('MatMulInteger', ['a', 'b', 'a_zp'], ['y'])],
    initializers: [tensor('b', DataType.INT8, [k, n], bWeights), scalar('a_zp', DataType.UINT8, 128)],
    inputs: [valueInfo('a', DataType.UINT8, [m, k])],
    outputs: [valueInfo('y', DataType.INT32, [m, n])],
  });
}

/**
 * QLinearConv, NCHW u8 input [n, c, h, w] × s8 weights [oc, c, kh, kw] (per-channel scales, int32 bias),
 * stride 1, `pad` on every side.
 */
export function qlinearConvModel({ n, c, h, w, oc, kh, kw, pad }, weights) {
  const oh = h + 2 * pad - kh + 1, ow = w + 2 * pad - kw + 1;
  const wScale = Float32Array.from({ length: oc }, (_, i) => 0.01 + 0.0001 * i);
  return model({
    nodes: [node('QLinearConv', ['x', 'x_scale', 'x_zp', 'w', 'w_scale', 'w_zp', 'y_scale', 'y_zp', 'bias'], ['y'],
      { kernel_shape: [kh, kw], pads: [pad, pad, pad, pad], strides: [1, 1], dilations: [1, 1], group: 1 })],
    initializers: [
      scalar('x_scale', DataType.FLOAT, 0.02), scalar('x_zp', DataType.UINT8, 128),
      tensor('w', DataType.INT8, [oc, c, kh, kw], weights), tensor('w_scale', DataType.FLOAT, [oc], wScale),
      tensor('w_zp', DataType.INT8, [oc], new Int8Array(oc)),
      scalar('y_scale', DataType.FLOAT, 0.05 * Math.sqrt(c * kh * kw)), scalar('y_zp', DataType.UINT8, 128),
      tensor('bias', DataType.INT32, [oc], Int32Array.from({ length: oc }, (_, i) => (i * 37) % 200 - 100)),
    ],
    inputs: [valueInfo('x', DataType.UINT8, [n, c, h, w])],
    outputs: [valueInfo('y', DataType.UINT8, [n, oc, oh, ow])],
  });
}
