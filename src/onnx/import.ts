// ONNX → qwasm: a float ONNX model (as PyTorch's torch.onnx.export writes it) becomes a trainable model: a
// Sequential (with Residual blocks) when the graph is a chain with residual joins — what int8 deploy, QAT,
// pruning and checkpoints understand — else a Graph (src/nn/graph.ts: named nodes, each a module chain or an
// add / mul / concat merge) for squeeze-excite gates (MobileNetV3, EfficientNet) and concatenations (SqueezeNet).
// Supported ops (default domain, opset 7+): Conv, BatchNormalization, Relu, Clip (ReLU / ReLU6 / Clip), Sigmoid,
// HardSigmoid, HardSwish, Mul (x·Sigmoid(x) → SiLU, x·HardSigmoid(x) → HardSwish, a [N,C,1,1] gate × a map,
// or same shapes), Concat (channels), MaxPool (ceil_mode too), AveragePool, GlobalAveragePool, ReduceMean
// over H, W, Flatten, Reshape (a flatten to [batch, features] or a no-op), Gemm, MatMul (+ a constant Add as
// its bias), Add of two computed values, Pad (zeros only, or folded into the following Conv), Identity
// (also of a weight), Dropout, Constant, and every element-wise activation the layer registry maps to an ONNX
// op (pointwise.onnx in src/nn/registry.ts: Sigmoid, Tanh, HardSwish from opset 14). Anything else is an error naming
// the node and op. This file walks the graph and structures it; what each op becomes is its layer kind's entry
// in src/onnx/onnx-kinds.ts (the ONNX aspect of the layer registry).
// Layout: ONNX is NCHW with OIHW conv weights; qwasm is NHWC with OHWI weights, and its Linear weight is
// [in, out] (Gemm's B is [out, in] when transB = 1). A flatten of an NCHW map orders features c·H·W + h·W + w,
// qwasm's NHWC flatten (h·W + w)·C + c: the importer tracks that permutation through the graph and applies it
// to the rows of the Linear that consumes the flattened features, so the imported model computes the same
// function on NHWC input. The model's input is NHWC: inputShape [h, w, c] (from the ONNX input's C, H, W).
import type { Engine } from '../autograd/tensor.js';
import { Module } from '../nn/module.js';
import { ReLU, ReLU6, Sequential } from '../nn/layers.js';
import type { Graph, GraphMerge } from '../nn/graph.js';
import { GraphAssembler, assembledGraph } from '../nn/graph-assembler.js';
import { ResidualChains, type Chain, type ChainSource } from '../nn/residual-chain.js';
import { InitRng } from '../util/rng.js';
import { describe } from '../errors.js';
import { asBytes } from './protobuf.js';
import { layerKind, layerTypes } from '../nn/registry.js';
import '../nn/layer-spec.js';
import { DataType, dataTypeName, decodeModel, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx-proto.js';
import {
  FUSED_HARDSWISH, FUSED_SILU, NotAChain, OnnxImportError, attrFloat, attrInt, attrOf, fail, onlyAttrs, sameVal, show,
  type Converted, type ImportContext, type Val,
} from './import-util.js';
import { importPointwise, onnxImporters, onnxPointwise, reluOf } from './onnx-kinds.js';

export { OnnxImportError };


export interface ImportOptions {
  /** Input [h, w, c] when the ONNX input's C / H / W dims are symbolic. */
  inputShape?: [number, number, number];
}

export interface ImportedModel {
  /** A Sequential (chains with residual blocks) or a Graph (squeeze-excite gates, concatenations). */
  model: Sequential | Graph;
  /** NHWC [h, w, c] of one sample. */
  inputShape: [number, number, number];
  /** Features of the output (logits per sample). */
  classes: number;
  inputName: string; outputName: string;
  /** Default-domain opset of the source model. */
  opset: number;
  producer: string;
}


const MERGES: Record<string, GraphMerge> = { Add: 'add', Mul: 'mul', Concat: 'concat' };

/** The ops this importer reads: the per-op table (src/onnx/onnx-kinds.ts), Constant, and every registered pointwise op. */
const supportedOps = (): string[] => [
  ...onnxImporters.keys().filter((op) => !op.startsWith('qwasm.')), 'Constant',
  ...layerTypes().flatMap((t) => layerKind(t)?.pointwise?.onnx?.op ?? []),
];

class Importer implements ImportContext, ChainSource<OnnxNode, Val> {
  readonly consts = new Map<string, OnnxTensor>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly done = new Set<OnnxNode>();
  readonly rng: InitRng;
  readonly outputName: string;
  /** Every layer built (disposed when the import fails half-way). */
  readonly made: Module[] = [];

  /** The nodes, with x·Sigmoid(x) and x·HardSigmoid(x) (PyTorch's SiLU / Hardswish at opset < 14) fused. */
  readonly nodes: OnnxNode[];

  /** graphMode: GlobalAveragePool keeps [n, 1, 1, c] (a squeeze-excite gate a 1×1 conv reads). */
  constructor(readonly E: Engine, readonly m: OnnxModel, readonly opset: number, readonly graphMode = false) {
    // the layers' initial weights are all overwritten by the ONNX initializers
    this.rng = new InitRng(1);
    const g = m.graph;
    for (const t of g.initializers) this.consts.set(t.name, t);
    for (const n of g.nodes) {
      if (n.domain && n.domain !== 'ai.onnx') fail(n, `custom domain '${n.domain}' is not supported`);
      if (n.opType === 'Constant') {
        onlyAttrs(n, ['value']);
        const t = attrOf(n, 'value')?.t;
        if (!t) fail(n, 'only the tensor form (attribute value) is supported');
        this.consts.set(n.outputs[0], { ...t, name: n.outputs[0] });
        this.done.add(n);
      } else if (n.opType === 'Identity' && this.consts.has(n.inputs[0])) {
        // PyTorch writes a weight shared by two layers (equal tensors are deduplicated) as Identity(initializer)
        this.consts.set(n.outputs[0], { ...this.consts.get(n.inputs[0])!, name: n.outputs[0] });
        this.done.add(n);
      }
    }
    this.nodes = fuseGatedActivations(g.nodes.filter((n) => !this.done.has(n)));
    for (const n of this.nodes) {
      if (!onnxImporters.get(n.opType) && !onnxPointwise(n.opType, this.opset)) fail(n, `op '${n.opType}' is not supported (supported: ${supportedOps().join(', ')})`);
      for (const i of n.inputs) {
        if (!i || this.consts.has(i)) continue;
        let l = this.consumers.get(i);
        if (!l) this.consumers.set(i, (l = []));
        l.push(n);
      }
    }
    if (g.outputs.length !== 1) throw new OnnxImportError(`the graph has ${g.outputs.length} outputs (${g.outputs.map((o) => o.name).join(', ')}); exactly one (the logits) is supported`);
    this.outputName = g.outputs[0].name;
  }

  konst(n: OnnxNode, idx: number, what: string): OnnxTensor {
    const name = n.inputs[idx];
    if (!name) fail(n, `input ${idx} (${what}) is missing`);
    const t = this.consts.get(name);
    if (!t) fail(n, `input ${idx} (${what}, '${name}') must be an initializer or a Constant, not a computed value`);
    return t;
  }

  optConst(n: OnnxNode, idx: number, what: string): OnnxTensor | null {
    return n.inputs[idx] ? this.konst(n, idx, what) : null;
  }

  /** The single data consumer of `name` if it is exactly one node (used for fusing a following op). */
  soleConsumer(name: string): OnnxNode | null {
    const c = this.consumers.get(name) ?? [];
    return c.length === 1 && name !== this.outputName ? c[0] : null;
  }

  isJoin(n: OnnxNode): boolean {
    return n.opType === 'Add' && n.inputs.length === 2 && n.inputs.every((i) => !this.consts.has(i));
  }

  /** Computed (non-constant) inputs of a node. */
  dataInputs(n: OnnxNode): string[] { return n.inputs.filter((i) => i && !this.consts.has(i)); }

  // ---- ChainSource (src/nn/residual-chain.ts): the graph as a chain with residual joins

  pending(v: Val): OnnxNode[] { return (this.consumers.get(v.name) ?? []).filter((n) => !this.done.has(n)); }

  atEnd(v: Val, readers: OnnxNode[]): boolean {
    if (v.name !== this.outputName) return false;
    if (readers.length) fail(readers[0], `reads the graph output '${v.name}', which is not supported`);
    return true;
  }

  deadEnd(v: Val): Error { return new OnnxImportError(`value '${v.name}' is not used by any node and is not the graph output '${this.outputName}'`); }

  step(n: OnnxNode, v: Val, modules: Module[]): Val {
    const r = this.convert(n, v);
    this.made.push(...r.modules);
    pushMerged(modules, r.modules);
    return r.out;
  }

  join(add: OnnxNode, from: Val, body: Chain<OnnxNode, Val>, short: Chain<OnnxNode, Val>): { out: Val; post: Module | null } {
    if (add.inputs.filter((i) => i === from.name).length === 2) fail(add, 'adds a value to itself');
    if (!sameVal(body.end, short.end)) fail(add, `adds values of different shapes (${show(body.end)} and ${show(short.end)})`);
    this.done.add(add);
    const out: Val = { ...body.end, name: add.outputs[0] };
    // a ReLU / ReLU6 right after the join becomes the residual's post activation (what int8 fuses)
    const next = this.soleConsumer(out.name);
    const act = next && (next.opType === 'Relu' || next.opType === 'Clip') ? reluOf(this, next) : null;
    if (!act) return { out, post: null };
    this.done.add(next!); this.made.push(act);
    return { out: { ...out, name: next!.outputs[0] }, post: act };
  }

  label(n: OnnxNode): string { return `node '${n.name}' (${n.opType})`; }
  notAChain(message: string): Error { return new NotAChain(message); }
  append(chain: Module[], add: Module[]): void { pushMerged(chain, add); }

  /** One node reading x: the registry's pointwise kinds first, then the per-op table (src/onnx/onnx-kinds.ts). */
  convert(n: OnnxNode, x: Val): Converted {
    this.done.add(n);
    if (n.inputs[0] !== x.name) fail(n, `its data input must be the first input (got '${n.inputs[0]}', expected '${x.name}')`);
    const pw = onnxPointwise(n.opType, this.opset);
    if (pw) return importPointwise(this, n, x, pw);
    const op = onnxImporters.get(n.opType);
    if (!op) fail(n, `op '${n.opType}' is not supported (supported: ${supportedOps().join(', ')})`);
    return op(this, n, x);
  }
}

/** Appends modules, merging back-to-back activations (PyTorch exports relu6 as Relu then Clip(0, 6)). */
function pushMerged(list: Module[], add: Module[]): void {
  for (const m of add) {
    const last = list[list.length - 1];
    const isAct = (x: Module | undefined) => x instanceof ReLU || x instanceof ReLU6;
    if (isAct(last) && isAct(m)) {
      // relu∘relu6 = relu6∘relu = relu6; relu∘relu = relu
      if (m instanceof ReLU6 && !(last instanceof ReLU6)) list[list.length - 1] = m;
      continue;
    }
    list.push(m);
  }
}

/**
 * Imports an ONNX model (bytes of a .onnx file) as a qwasm Sequential on `engine`: see the file header for
 * the supported ops and the layout conversion. The model is in training mode, ready for fit().
 */
export function importOnnx(engine: Engine, input: Uint8Array | ArrayBuffer, opts: ImportOptions = {}): ImportedModel {
  if (!engine || typeof engine !== 'object' || typeof (engine as Engine).persistent !== 'function') throw new TypeError(`engine must be an Engine, got ${describe(engine)}`);
  if (!(input instanceof Uint8Array) && !(input instanceof ArrayBuffer)) throw new TypeError(`bytes must be a Uint8Array, Buffer or ArrayBuffer (the .onnx file), got ${describe(input)}`);
  const bytes = asBytes('bytes', input);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const m = decodeModel(bytes);
  const opset = m.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  if (opset < 7) throw new OnnxImportError(`the model's default-domain opset is ${opset || 'missing'}; opset 7 or newer is supported`);
  const g = m.graph;
  const inits = new Set(g.initializers.map((t) => t.name));
  const inputs = g.inputs.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) throw new OnnxImportError(`the graph has ${inputs.length} data inputs (${inputs.map((i) => i.name).join(', ')}); exactly one is supported`);
  const inp = inputs[0];
  if (inp.elemType !== DataType.FLOAT) throw new OnnxImportError(`input '${inp.name}' is ${dataTypeName(inp.elemType)}; a FLOAT input is supported`);
  let x: Val, inputShape: [number, number, number];
  const d = inp.dims;
  if (opts.inputShape !== undefined && (!Array.isArray(opts.inputShape) || opts.inputShape.length !== 3 || opts.inputShape.some((v) => !Number.isInteger(v) || v < 1))) {
    throw new TypeError(`opts.inputShape must be [h, w, c] positive integers, got ${describe(opts.inputShape)}`);
  }
  const fixed = (v: unknown, i: number, from?: number) => {
    if (typeof v === 'number' && v > 0) return v;
    if (from !== undefined) return from;
    throw new OnnxImportError(`input '${inp.name}' dim ${i} is ${typeof v === 'string' ? `the symbolic '${v}'` : 'unknown'}: C, H and W must be fixed (or pass opts.inputShape)`);
  };
  if (d && d.length === 4) {
    const [h, w, c] = [fixed(d[2], 2, opts.inputShape?.[0]), fixed(d[3], 3, opts.inputShape?.[1]), fixed(d[1], 1, opts.inputShape?.[2])];
    if (opts.inputShape && (opts.inputShape[0] !== h || opts.inputShape[1] !== w || opts.inputShape[2] !== c)) {
      throw new OnnxImportError(`opts.inputShape [${opts.inputShape}] contradicts the model's input [batch, ${c}, ${h}, ${w}]`);
    }
    inputShape = [h, w, c];
    x = { name: inp.name, kind: 'map', c, h, w, pooled: false };
  } else if (d && d.length === 2) {
    const k = fixed(d[1], 1);
    inputShape = [1, 1, k];
    x = { name: inp.name, kind: 'flat', k, perm: null };
  } else {
    throw new OnnxImportError(`input '${inp.name}' has ${d ? `rank ${d.length}` : 'no shape'}; [batch, C, H, W] or [batch, features] is supported`);
  }
  const producer = `${m.producerName} ${m.producerVersion}`.trim();
  const finish = (imp: Importer, end: Val, model: Sequential | Graph): ImportedModel => {
    if (end.kind === 'map' && !end.pooled) throw new OnnxImportError(`the graph output '${end.name}' is a feature map ${show(end)}; models ending in [batch, features] (logits) are supported`);
    if (end.kind === 'flat' && end.perm) throw new OnnxImportError(`the graph output '${end.name}' is an NCHW-ordered flatten, which qwasm (NHWC) cannot reproduce; end the model with a Gemm / MatMul`);
    const unused = imp.nodes.filter((n) => !imp.done.has(n));
    if (unused.length) throw new OnnxImportError(`node '${unused[0].name}' (${unused[0].opType}) does not lie on the path from the input to the output`);
    return { model, inputShape, classes: end.kind === 'flat' ? end.k : end.c, inputName: inp.name, outputName: imp.outputName, opset, producer };
  };
  // a chain with residual joins → Sequential; anything else (NotAChain) → Graph
  let imp = new Importer(engine, m, opset);
  try {
    const r = new ResidualChains(engine, imp).walk(x);
    if (r.join) throw new NotAChain(`Add node '${r.join.name}' joins '${r.end.name}' with a value that does not branch from it`);
    return finish(imp, r.end, new Sequential(engine, r.modules));
  } catch (e) {
    // free the WASM memory of the layers built so far (nothing reachable from the caller holds them)
    for (const mod of imp.made) mod.dispose();
    if (!(e instanceof NotAChain)) throw e;
  }
  imp = new Importer(engine, m, opset, true);
  try {
    const r = buildGraph(imp, x);
    return finish(imp, r.end, r.graph);
  } catch (e) {
    for (const mod of imp.made) mod.dispose();
    throw e;
  }
}

/**
 * The ONNX graph as a qwasm Graph (src/nn/graph-assembler.ts): chains of single-input ops become one node each
 * (a Sequential when longer than one module); Add / Mul / Concat of computed values become merge nodes.
 */
function buildGraph(imp: Importer, input: Val): { graph: Graph; end: Val } {
  const g = new GraphAssembler<Val>(input.name, input, {
    single: (v) => (imp.consumers.get(v)?.length ?? 0) === 1 && v !== imp.outputName, names: 'index', append: pushMerged,
  });
  for (const n of imp.nodes) {
    if (imp.done.has(n)) continue;
    const ins = imp.dataInputs(n);
    if (ins.length === 0) fail(n, 'reads no computed value (a constant subgraph is not supported)');
    const missing = ins.find((i) => !g.has(i));
    if (missing) fail(n, `input '${missing}' is not computed by an earlier node (the graph is not topologically sorted or reads an unsupported value)`);
    if (ins.length >= 2) {
      const kind = MERGES[n.opType];
      if (!kind) fail(n, `${n.opType} of ${ins.length} computed values is not supported`);
      imp.done.add(n);
      g.merge(n.outputs[0], ins, kind, { ...mergedVal(n, kind, ins.map((i) => g.val(i)!)), name: n.outputs[0] }, n.name);
      continue;
    }
    const r = imp.convert(n, g.val(ins[0])!);
    imp.made.push(...r.modules);
    g.chain(r.out.name, ins[0], r.modules, r.out, n.name);
  }
  const endNode = g.nodeOf(imp.outputName);
  if (endNode === undefined) throw new OnnxImportError(`the graph output '${imp.outputName}' is not computed by any supported node`);
  if (endNode === null) throw new OnnxImportError(`the graph output '${imp.outputName}' is the input itself`);
  // every node must feed the output (a dead branch would be computed for nothing)
  const dead = g.liveness(endNode).dead[0];
  if (dead) throw new OnnxImportError(`graph node ${dead.name} (${dead.merge ?? dead.modules!.map((m) => m.config().type).join(' → ')}) does not lie on the path from the input to the output '${imp.outputName}'`);
  return { graph: assembledGraph(imp.E, g.nodes, endNode), end: g.val(imp.outputName)! };
}

/** The value an Add / Mul / Concat of computed values yields, or an error naming the node. */
function mergedVal(n: OnnxNode, kind: GraphMerge, vs: Val[]): Val {
  if (kind === 'concat') {
    onlyAttrs(n, ['axis']);
    const axis = attrInt(n, 'axis', 1);
    if (vs.every((v) => v.kind === 'map' && !v.pooled)) {
      if (axis !== 1 && axis !== -3) fail(n, `only the channel axis (1) of NCHW maps is supported, got axis ${axis}`);
      const ms = vs as Extract<Val, { kind: 'map' }>[];
      if (ms.some((v) => v.h !== ms[0].h || v.w !== ms[0].w)) fail(n, `inputs ${ms.map(show).join(', ')} differ in H or W`);
      return { ...ms[0], c: ms.reduce((a, v) => a + v.c, 0) };
    }
    if (vs.every((v) => v.kind === 'flat' && !v.perm)) {
      if (axis !== 1 && axis !== -1) fail(n, `only axis 1 of [batch, features] values is supported, got axis ${axis}`);
      return { name: '', kind: 'flat', k: vs.reduce((a, v) => a + (v as { k: number }).k, 0), perm: null };
    }
    fail(n, `concatenating ${vs.map(show).join(', ')} is not supported (NCHW maps along channels, or [batch, features] values)`);
  }
  onlyAttrs(n, []);
  const [a, b] = vs;
  if (sameVal(a, b)) return a;
  if (kind === 'mul' && a.kind === 'map' && b.kind === 'map' && a.c === b.c) {
    // squeeze-excite: [N, C, 1, 1] gate × [N, C, H, W] map
    if (b.h === 1 && b.w === 1) return a;
    if (a.h === 1 && a.w === 1) return b;
  }
  fail(n, `${n.opType === 'Mul' ? 'multiplies' : 'adds'} values of shapes ${show(a)} and ${show(b)}: only equal shapes${kind === 'mul' ? ' or a [batch, C, 1, 1] gate times a map' : ''} are supported`);
}

/**
 * Fuses x·Sigmoid(x) into one SiLU node and x·HardSigmoid(x) (alpha 1/6, beta 1/2: PyTorch's Hardswish below
 * opset 14) into HardSwish, when the activation's output feeds only that Mul.
 */
function fuseGatedActivations(nodes: OnnxNode[]): OnnxNode[] {
  const producer = new Map<string, OnnxNode>(), uses = new Map<string, number>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const drop = new Set<OnnxNode>(), swap = new Map<OnnxNode, OnnxNode>();
  for (const m of nodes) {
    if (m.opType !== 'Mul' || m.inputs.length !== 2) continue;
    for (const k of [0, 1]) {
      const act = producer.get(m.inputs[k]), x = m.inputs[1 - k];
      if (!act || act.inputs[0] !== x || uses.get(m.inputs[k]) !== 1 || drop.has(act)) continue;
      let op: string | null = null;
      if (act.opType === 'Sigmoid' && act.attributes.length === 0) op = FUSED_SILU;
      else if (act.opType === 'HardSigmoid' && act.attributes.every((a) => a.name === 'alpha' || a.name === 'beta')
        && Math.abs(attrFloat(act, 'alpha', 0.2) - 1 / 6) < 1e-6 && attrFloat(act, 'beta', 0.5) === 0.5) op = FUSED_HARDSWISH;
      if (!op) continue;
      drop.add(act);
      swap.set(m, { name: m.name, opType: op, domain: '', inputs: [x], outputs: [m.outputs[0]], attributes: [] });
      break;
    }
  }
  return nodes.filter((n) => !drop.has(n)).map((n) => swap.get(n) ?? n);
}
