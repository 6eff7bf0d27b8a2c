// The layer registry: one entry per layer kind (the `type` its config() reports), the single place that says
// how a kind is described, built from a description and cloned. Everything that needs to know "every layer
// kind" (checkpoint load / save, model copies, QAT, int8 lowering, ONNX import / export, TF.js import) asks
// this registry instead of keeping its own list.
//
// Registration API
//   registerLayer({ type, cls, build, describe?, copyExtra?, pointwise? })
//       called once per kind, next to the class (src/nn/layers.ts, src/nn/lowrank-linear.ts, …).
//       - build(spec, ctx): the module a description (config()) stands for, with fresh weights; containers
//         build their children with ctx.build(childSpec, where).
//       - describe(m, ctx): the JSON description; default: a deep copy of m.config(). Containers override it
//         to describe their children with ctx.describe(child).
//       - copyExtra(src, dst): state a clone must carry that is neither in the description nor a tensor
//         (BatchNorm2d.frozen, Dropout's seed).
//       - pointwise: for an element-wise activation, its real function f(x) (f64, the reference the int8
//         lookup table is built from), its ONNX op and its Keras activation names. Higher layers handle every pointwise kind generically
//         (QAT: fake-quantised output; deploy: a 256-entry int8 table; ONNX: the op), so a new activation
//         is one registry entry plus its autograd op.
//   new LayerAspect<T>(name) … aspect.register(type, impl)
//       how a HIGHER layer attaches its own per-kind behaviour without nn importing it: src/quant registers
//       a QAT compiler per kind, src/onnx an op mapper per ONNX op, and so on. The aspect object lives in the
//       higher layer; nn only provides the keyed store and the error when a kind has no entry.
//   layerKind(type) / kindOf(module) / layerTypes(): look-ups.
//   describeModule(m) / buildModule(engine, spec) / cloneModule(m): the generic operations
//       (clone = describe + build + load state + copyExtra).
// This file imports only autograd types and nn's own module / random / errors: nn stays below quant,
// compress, deploy and onnx (test/layering.test.js checks it).
import type { Engine } from '../autograd/tensor.js';
import { Module } from './module.js';
import { InitRng } from '../util/rng.js';
import { QwasmError, describe } from '../errors.js';

/** A JSON description of a module: its config() fields (containers: their children's descriptions). */
export type LayerSpec =
  | { type: 'Sequential'; layers: { name: string; module: LayerSpec }[] }
  | { type: 'Residual'; body: LayerSpec; shortcut: LayerSpec | null; post: LayerSpec | null }
  | { type: string; [key: string]: unknown };

export interface BuildContext {
  engine: Engine;
  /** Initialisation stream (the weights are usually overwritten by a state dict). */
  rng: InitRng;
  /** Where in the description we are (for errors: 'layers.3.body'). */
  where: string;
  /** Builds a child description. */
  build(spec: unknown, where: string): Module;
  /** A finite number field of the spec, or an error naming it. */
  num(spec: Record<string, unknown>, key: string): number;
}

export interface DescribeContext { describe(m: Module): LayerSpec }

/** An element-wise activation: enough for QAT, int8 (a lookup table) and ONNX to handle it generically. */
export interface PointwiseInfo {
  /** The real function (f64), the reference the int8 lookup table is computed from. */
  f(x: number): number;
  /** ONNX op and the first default-domain opset that has it. */
  onnx?: { op: string; opset: number };
  /** Keras activation names (`activation: 'sigmoid'`) this kind computes: the TF.js importer maps them to it. */
  keras?: readonly string[];
}

export interface LayerKind<M extends Module = Module> {
  /** The `type` field of config() and of the description. */
  readonly type: string;
  /** The class (instanceof checks). */
  readonly cls: abstract new (...args: never[]) => M;
  build(spec: Record<string, unknown>, ctx: BuildContext): M;
  describe?(m: M, ctx: DescribeContext): LayerSpec;
  copyExtra?(src: M, dst: M): void;
  pointwise?: PointwiseInfo;
}

const kinds = new Map<string, LayerKind>();

/** Adds a layer kind (once per type). */
export function registerLayer<M extends Module>(kind: LayerKind<M>): LayerKind<M> {
  if (!kind || typeof kind.type !== 'string' || !kind.type) throw new TypeError(`registerLayer: kind.type must be a non-empty string, got ${describe(kind?.type)}`);
  if (typeof kind.build !== 'function' || typeof kind.cls !== 'function') throw new TypeError(`registerLayer('${kind.type}'): build and cls are required`);
  if (kinds.has(kind.type)) throw new QwasmError(`layer kind '${kind.type}' is registered twice`);
  kinds.set(kind.type, kind as unknown as LayerKind);
  return kind;
}

export function layerKind(type: string): LayerKind | undefined { return kinds.get(type); }

/** Every registered type, in registration order. */
export function layerTypes(): string[] { return [...kinds.keys()]; }

/** The registry entry of a module (by its config().type, checked against the class), or undefined. */
export function kindOf(m: Module): LayerKind | undefined {
  const type = (m.config() as { type?: unknown }).type;
  const k = typeof type === 'string' ? kinds.get(type) : undefined;
  return k && m instanceof k.cls ? k : undefined;
}

/** Pointwise activations registered with an ONNX op, keyed by that op. */
export function pointwiseByOnnxOp(op: string): LayerKind | undefined {
  for (const k of kinds.values()) if (k.pointwise?.onnx?.op === op) return k;
  return undefined;
}

/**
 * A per-kind behaviour owned by a higher layer (see the file header). `key` is a layer type (or, for an
 * aspect keyed by something else — an ONNX op — that key).
 */
export class LayerAspect<T> {
  private readonly impls = new Map<string, T>();
  constructor(readonly name: string) {}
  register(key: string, impl: T): void {
    if (this.impls.has(key)) throw new QwasmError(`${this.name}: '${key}' is registered twice`);
    this.impls.set(key, impl);
  }
  get(key: string): T | undefined { return this.impls.get(key); }
  keys(): string[] { return [...this.impls.keys()]; }
}

// ------------------------------------------------------------------ generic operations

const describeCtx: DescribeContext = { describe: (m) => describeModule(m) };

/** The JSON description of a module tree (what a checkpoint records for a model no built-in name describes). */
export function describeModule(m: Module): LayerSpec {
  if (!(m instanceof Module)) throw new TypeError(`model must be a Module, got ${describe(m)}`);
  const k = kindOf(m);
  if (!k) {
    const type = (m.config() as { type?: unknown }).type;
    throw new QwasmError(`cannot describe a module of type '${String(type)}' for a checkpoint (supported: ${layerTypes().join(', ')})`);
  }
  return k.describe ? k.describe(m, describeCtx) : JSON.parse(JSON.stringify(m.config())) as LayerSpec;
}

const num = (where: string) => (spec: Record<string, unknown>, key: string): number => {
  const v = spec[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new QwasmError(`${where}.${key} must be a number, got ${describe(v)}`);
  return v;
};

/** The module tree a description stands for (fresh weights: load the state dict after). */
export function buildModule(engine: Engine, spec: unknown, where = 'layers', rng = new InitRng(1)): Module {
  if (!spec || typeof spec !== 'object') throw new QwasmError(`${where} must be a layer description object, got ${describe(spec)}`);
  const s = spec as Record<string, unknown>;
  const k = typeof s.type === 'string' ? kinds.get(s.type) : undefined;
  if (!k) throw new QwasmError(`${where}: unknown layer type ${describe(s.type)}${typeof s.type === 'string' ? ` ('${s.type}')` : ''}`);
  const ctx: BuildContext = { engine, rng, where, build: (c, w) => buildModule(engine, c, w, rng), num: num(where) };
  return k.build(s, ctx);
}

/**
 * A copy of one module (and its children): describe + build + load state + copyExtra; train / eval mode kept.
 * A parameter-free module of an unregistered type is shared (nothing to free or train).
 */
export function cloneModule<M extends Module>(m: M): M {
  const k = kindOf(m);
  if (!k) {
    if (m.namedParameters().length === 0 && m.namedBuffers().length === 0 && m.children().length === 0) return m;
    throw new QwasmError(`cannot copy a module of type '${String(m.config().type)}' (supported: ${layerTypes().join(', ')} and parameter-free layers)`);
  }
  const c = buildModule(m.engine, describeModule(m), String(m.config().type)) as M;
  c.loadStateDict(m.stateDict());
  copyExtraTree(m, c);
  c.train(m.training);
  return c;
}

function copyExtraTree(src: Module, dst: Module): void {
  kindOf(src)?.copyExtra?.(src, dst);
  const a = src.children(), b = dst.children();
  for (let i = 0; i < a.length && i < b.length; i++) copyExtraTree(a[i][1], b[i][1]);
}
