// What the ONNX importer (import.ts) and its per-op table (onnx-kinds.ts) share: the error types, the value
// flowing along an edge (Val), attribute / initializer readers that name the node on error, and ImportContext,
// the part of the importer a per-op converter may use.
import type { Engine } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import type { InitRng } from '../util/rng.js';
import { QwasmError } from '../errors.js';
import { DataType, dataTypeName, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

export class OnnxImportError extends QwasmError {
  constructor(message: string) { super(message); this.name = 'OnnxImportError'; }
}

/** The graph is not a chain with residual joins: the importer then builds a Graph instead of a Sequential. */
export class NotAChain extends OnnxImportError {}

/**
 * The value flowing along an edge, as the importer sees it: ONNX's logical shape (batch dim first, taken as
 * any size) and how qwasm holds it. 'map': an NCHW feature map held as NHWC [n, h, w, c]; `pooled` marks a
 * GlobalAveragePool output ([n, c, 1, 1] in ONNX, [n, c] in qwasm: the same bytes). 'flat': [n, k] features;
 * perm[i] = the ONNX feature index held at qwasm position i (null = identity).
 */
export type Val =
  | { name: string; kind: 'map'; c: number; h: number; w: number; pooled: boolean }
  | { name: string; kind: 'flat'; k: number; perm: Int32Array | null };

/** What one ONNX node becomes: the modules (in order, maybe none) and the value it outputs. */
export interface Converted { modules: Module[]; out: Val }

/** Internal ops of a fused x·Sigmoid(x) (ONNX has no SiLU before opset 22's Swish) and x·HardSigmoid(x)
 * (PyTorch's Hardswish below opset 14, which has no HardSwish op). */
export const FUSED_SILU = 'qwasm.SiLU', FUSED_HARDSWISH = 'qwasm.HardSwish';

/** The importer as a per-op converter sees it (src/onnx/import.ts implements it). */
export interface ImportContext {
  readonly E: Engine;
  /** Initial weights of new layers (all overwritten by the ONNX initializers). */
  readonly rng: InitRng;
  /** Default-domain opset of the model. */
  readonly opset: number;
  /** Building a Graph (true) or a Sequential with Residual blocks (false). */
  readonly graphMode: boolean;
  readonly outputName: string;
  /** Initializers and Constant outputs by name. */
  readonly consts: Map<string, OnnxTensor>;
  /** The nodes (after fusing gated activations), in graph order. */
  readonly nodes: OnnxNode[];
  /** Nodes converted (or folded into another) so far. */
  readonly done: Set<OnnxNode>;
  /** Consumers of a value (data inputs only). */
  readonly consumers: Map<string, OnnxNode[]>;
  /** Input idx of n, which must be a constant. */
  konst(n: OnnxNode, idx: number, what: string): OnnxTensor;
  /** Input idx of n when present (then a constant), else null. */
  optConst(n: OnnxNode, idx: number, what: string): OnnxTensor | null;
  /** The single consumer of a value when it is exactly one node (for fusing a following op). */
  soleConsumer(name: string): OnnxNode | null;
  /** An Add of two computed values (a residual join or a Graph merge). */
  isJoin(n: OnnxNode): boolean;
  /** Computed (non-constant) inputs of a node. */
  dataInputs(n: OnnxNode): string[];
}

export function fail(n: OnnxNode, msg: string): never {
  throw new OnnxImportError(`ONNX node '${n.name}' (${n.opType}): ${msg}`);
}

export function attrOf(n: OnnxNode, name: string): OnnxAttribute | undefined { return n.attributes.find((a) => a.name === name); }
export function attrInt(n: OnnxNode, name: string, dflt: number): number { return attrOf(n, name)?.i ?? dflt; }
export function attrFloat(n: OnnxNode, name: string, dflt: number): number { return attrOf(n, name)?.f ?? dflt; }
export function attrInts(n: OnnxNode, name: string): number[] | undefined { return attrOf(n, name)?.ints; }
export function attrString(n: OnnxNode, name: string, dflt: string): string { return attrOf(n, name)?.s ?? dflt; }

/** Attributes a node may carry; any other is an error (an attribute we would ignore could change the math). */
export function onlyAttrs(n: OnnxNode, allowed: string[]): void {
  for (const a of n.attributes) if (!allowed.includes(a.name)) fail(n, `attribute '${a.name}' is not supported (supported: ${allowed.join(', ') || 'none'})`);
}

export const f32of = (t: OnnxTensor): Float32Array => {
  if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.DOUBLE) throw new OnnxImportError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, expected FLOAT`);
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
};
export const intsOf = (t: OnnxTensor): number[] => {
  if (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32 && t.dataType !== DataType.BOOL) throw new OnnxImportError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, expected INT64`);
  return Array.from(t.data as ArrayLike<number>);
};

export function pairAttr(n: OnnxNode, name: string): [number, number] {
  const v = attrInts(n, name) ?? [1, 1];
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 1)) fail(n, `${name} must be 2 positive integers, got [${v}]`);
  return [v[0], v[1]];
}

export function show(v: Val): string {
  return v.kind === 'map' ? (v.pooled ? `pooled [batch, ${v.c}, 1, 1]` : `[batch, ${v.c}, ${v.h}, ${v.w}]`) : `[batch, ${v.k}]`;
}

export function sameVal(a: Val, b: Val): boolean {
  if (a.kind === 'map' && b.kind === 'map') return a.c === b.c && a.h === b.h && a.w === b.w && a.pooled === b.pooled;
  if (a.kind === 'flat' && b.kind === 'flat') {
    if (a.k !== b.k) return false;
    if (!a.perm || !b.perm) return a.perm === b.perm;
    return a.perm.every((p, i) => p === b.perm![i]);
  }
  return false;
}
