// The QDQ ONNX graph writer the int8 exporter (export.ts) and its per-kind table (onnx-kinds.ts) share: Builder
// (unique names, initializers, QuantizeLinear / DequantizeLinear, per-channel weights, int32 biases, fused
// clamps), the tensor being exported (Cur) and ExportContext, the part of the exporter a per-kind writer may use.
import type { GraphNode, QParams } from '../deploy/graph.js';
import { QwasmError } from '../errors.js';
import { DataType, attr, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

/** The exported tensor's shape in ONNX terms; a flat value records the NHWC → NCHW row permutation it needs. */
export type Shape = { kind: 'map'; c: number; h: number; w: number } | { kind: 'flat'; k: number; perm: Int32Array | null; pooled4d: boolean };
/** The current int8 tensor: its ONNX value name, quantisation and shape. */
export interface Cur { name: string; q: QParams; shape: Shape }

/** The exporter as a per-kind writer sees it (src/onnx/export.ts implements it). */
export interface ExportContext {
  readonly b: Builder;
  /** Default-domain opset; a writer raises it when its op needs a later one. */
  opset: number;
  /** Makes `cur` a [batch, features] tensor for a matmul; returns it and the NCHW → NHWC row permutation. */
  flat(cur: Cur, node: string): { cur: Cur; perm: Int32Array | null; k: number };
  /** Exports a node list (a residual's body / shortcut) from `cur`. */
  run(nodes: GraphNode[], cur: Cur): Cur;
}

export class Builder {
  nodes: OnnxNode[] = [];
  inits: OnnxTensor[] = [];
  private ids = new Map<string, number>();

  id(base: string): string {
    const k = base.replace(/[^A-Za-z0-9_.]/g, '_');
    const n = this.ids.get(k) ?? 0;
    this.ids.set(k, n + 1);
    return n ? `${k}_${n}` : k;
  }

  init(base: string, dataType: number, dims: number[], data: ArrayLike<number>): string {
    const name = this.id(base);
    this.inits.push({ name, dataType, dims, data: Array.isArray(data) ? data : Array.from(data) });
    return name;
  }

  node(opType: string, inputs: string[], base: string, attributes = [] as OnnxNode['attributes']): string {
    const out = this.id(base);
    this.nodes.push({ name: out, opType, domain: '', inputs, outputs: [out], attributes });
    return out;
  }

  scalarQ(base: string, q: QParams): [string, string] {
    return [this.init(`${base}.scale`, DataType.FLOAT, [], [q.scale]), this.init(`${base}.zero_point`, DataType.INT8, [], [q.zeroPoint])];
  }

  quantize(x: string, q: QParams, base: string): string {
    const [s, z] = this.scalarQ(base, q);
    return this.node('QuantizeLinear', [x, s, z], `${base}.q`);
  }

  dequantize(x: string, q: QParams, base: string): string {
    const [s, z] = this.scalarQ(`${base}.in`, q);
    return this.node('DequantizeLinear', [x, s, z], `${base}.dq`);
  }

  /** Per-channel int8 weights (zero points 0) along `axis`, dequantised. */
  weight(base: string, dims: number[], data: Int8Array, scales: Float32Array, axis: number): string {
    const w = this.init(`${base}.weight_q`, DataType.INT8, dims, data);
    const s = this.init(`${base}.weight_scale`, DataType.FLOAT, [scales.length], scales);
    const z = this.init(`${base}.weight_zero_point`, DataType.INT8, [scales.length], new Int8Array(scales.length));
    return this.node('DequantizeLinear', [w, s, z], `${base}.weight`, [attr.int('axis', axis)]);
  }

  /** int32 bias in units inScale·wScale[c], dequantised with exactly those scales. */
  bias(base: string, bias: Int32Array, inScale: number, wScale: Float32Array): string {
    const b = this.init(`${base}.bias_q`, DataType.INT32, [bias.length], bias);
    const s = this.init(`${base}.bias_scale`, DataType.FLOAT, [bias.length], Float32Array.from(wScale, (v) => Math.fround(inScale * v)));
    const z = this.init(`${base}.bias_zero_point`, DataType.INT32, [bias.length], new Int32Array(bias.length));
    return this.node('DequantizeLinear', [b, s, z], `${base}.bias`, [attr.int('axis', 0)]);
  }

  /** The fused clamp [qmin, qmax] (int8 codes around zero point zp) as Relu / Clip on the float value. */
  activation(x: string, q: QParams, qmin: number, qmax: number, base: string): string {
    const zp = q.zeroPoint;
    if (qmin <= -128 && qmax >= 127) return x;
    if (qmin === zp && qmax >= 127) return this.node('Relu', [x], `${base}.relu`);
    const lo = qmin <= -128 ? '' : this.init(`${base}.clip_min`, DataType.FLOAT, [], [(qmin - zp) * q.scale]);
    const hi = qmax >= 127 ? '' : this.init(`${base}.clip_max`, DataType.FLOAT, [], [(qmax - zp) * q.scale]);
    return this.node('Clip', [x, lo, hi], `${base}.clip`);
  }
}

export function checkQ(where: string, q: QParams): QParams {
  if (!q || typeof q !== 'object' || !(q.scale > 0) || !Number.isFinite(q.scale) || !Number.isInteger(q.zeroPoint) || q.zeroPoint < -128 || q.zeroPoint > 127) {
    throw new QwasmError(`${where}: quantisation parameters must be { scale > 0, zeroPoint in [-128, 127] }, got ${JSON.stringify(q)}`);
  }
  return q;
}

/** perm[i] = the NCHW flatten index of NHWC flatten position i. */
export function nchwPerm(s: { c: number; h: number; w: number }): Int32Array | null {
  if (s.h * s.w === 1 || s.c === 1) return null;
  const p = new Int32Array(s.c * s.h * s.w);
  for (let h = 0; h < s.h; h++) for (let w = 0; w < s.w; w++) for (let c = 0; c < s.c; c++) p[(h * s.w + w) * s.c + c] = (c * s.h + h) * s.w + w;
  return p;
}

/** Rows of a K×N matrix in NHWC feature order → NCHW order: out[perm[i]] = w[i]. */
export function permuteRows(w: Int8Array, k: number, n: number, perm: Int32Array | null): Int8Array {
  if (!perm) return w;
  const out = new Int8Array(k * n);
  for (let i = 0; i < k; i++) out.set(w.subarray(i * n, (i + 1) * n), perm[i] * n);
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.kind === 'map' && b.kind === 'map') return a.c === b.c && a.h === b.h && a.w === b.w;
  if (a.kind === 'flat' && b.kind === 'flat') return a.k === b.k && a.pooled4d === b.pooled4d && (!a.perm && !b.perm || (!!a.perm && !!b.perm && a.perm.every((p, i) => p === b.perm![i])));
  return false;
}

export function showShape(s: Shape): string { return s.kind === 'map' ? `[batch, ${s.c}, ${s.h}, ${s.w}]` : `[batch, ${s.k}]`; }
