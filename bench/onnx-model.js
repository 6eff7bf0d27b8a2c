// The few ONNX models the benchmarks give their peers (QLinearMatMul, MatMulInteger, QLinearConv), built as
// plain objects and serialised by the library's own ONNX writer (src/onnx/onnx-proto.ts encodeModel, over
// src/onnx/protobuf.ts): one protobuf writer in the repository. Weights go in as initializers (constant), which
// is what lets ONNX Runtime prepack them once at session creation. Needs dist/ (npm run build).
import { DataType, attr, encodeModel } from '../dist/onnx/onnx-proto.js';

export { DataType };

/** TensorProto (raw little-endian data). */
export function tensor(name, dataType, dims, data) {
  return { name, dims, dataType, data };
}

/** ValueInfoProto of a tensor with fixed dims. */
export function valueInfo(name, elemType, dims) {
  return { name, elemType, dims };
}

/** NodeProto; attrs: { name: int | float | string | int[] }. */
export function node(opType, inputs, outputs, attrs = {}, domain = '') {
  const attributes = Object.entries(attrs).map(([k, v]) => Array.isArray(v) ? attr.ints(k, v)
    : typeof v === 'string' ? attr.string(k, v) : Number.isInteger(v) ? attr.int(k, v) : attr.float(k, v));
  return { name: `${opType}_0`, opType, domain, inputs, outputs, attributes };
}

/** ModelProto bytes (IR version 8, opset 13 by default, plus any extra domains). */
export function model({ nodes, initializers = [], inputs, outputs, opset = 13, extraOpsets = {} }) {
  return encodeModel({
    irVersion: 8, producerName: 'qwasm-bench', producerVersion: '', metadata: {},
    opsets: [{ domain: '', version: opset }, ...Object.entries(extraOpsets).map(([domain, version]) => ({ domain, version }))],
    graph: { name: 'qwasm_bench', nodes, initializers, inputs, outputs, valueInfo: [] },
  });
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
 * QLinearConv, NCHW input [n, c, h, w] × s8 weights [oc, c / group, kh, kw] (per-channel scales, int32 bias).
 * pad: one number for every side or [top, left, bottom, right]; stride ≥ 1; group = c = oc is depthwise;
 * act: the activation type, 'uint8' (default) or 'int8'.
 */
export function qlinearConvModel({ n, c, h, w, oc, kh, kw, pad, stride = 1, group = 1, act = 'uint8' }, weights) {
  const [pt, pl, pb, pr] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  const oh = Math.floor((h + pt + pb - kh) / stride) + 1, ow = Math.floor((w + pl + pr - kw) / stride) + 1;
  const wScale = Float32Array.from({ length: oc }, (_, i) => 0.01 + 0.0001 * i);
  const A = act === 'int8' ? DataType.INT8 : DataType.UINT8, zp = act === 'int8' ? 0 : 128;
  return model({
    nodes: [node('QLinearConv', ['x', 'x_scale', 'x_zp', 'w', 'w_scale', 'w_zp', 'y_scale', 'y_zp', 'bias'], ['y'],
      { kernel_shape: [kh, kw], pads: [pt, pl, pb, pr], strides: [stride, stride], dilations: [1, 1], group })],
    initializers: [
      scalar('x_scale', DataType.FLOAT, 0.02), scalar('x_zp', A, zp),
      tensor('w', DataType.INT8, [oc, c / group, kh, kw], weights), tensor('w_scale', DataType.FLOAT, [oc], wScale),
      tensor('w_zp', DataType.INT8, [oc], new Int8Array(oc)),
      scalar('y_scale', DataType.FLOAT, 0.05 * Math.sqrt((c / group) * kh * kw)), scalar('y_zp', A, zp),
      tensor('bias', DataType.INT32, [oc], Int32Array.from({ length: oc }, (_, i) => (i * 37) % 200 - 100)),
    ],
    inputs: [valueInfo('x', A, [n, c, h, w])],
    outputs: [valueInfo('y', A, [n, oc, oh, ow])],
  });
}
