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
// op (pointwise.onnx in src/nn/registry.ts: Sigmoid, HardSwish from opset 14). Anything else is an error naming
// the node and op.
// Layout: ONNX is NCHW with OIHW conv weights; qwasm is NHWC with OHWI weights, and its Linear weight is
// [in, out] (Gemm's B is [out, in] when transB = 1). A flatten of an NCHW map orders features c·H·W + h·W + w,
// qwasm's NHWC flatten (h·W + w)·C + c: the importer tracks that permutation through the graph and applies it
// to the rows of the Linear that consumes the flattened features, so the imported model computes the same
// function on NHWC input. The model's input is NHWC: inputShape [h, w, c] (from the ONNX input's C, H, W).
import type { Engine } from '../autograd/tensor.js';
import { Module } from '../nn/module.js';
import {
  AvgPool2d, BatchNorm2d, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU, ReLU6, Residual, Sequential,
} from '../nn/layers.js';
import { Clip, HardSigmoid, SiLU } from '../nn/activations.js';
import { HardSwish } from '../nn/hardswish.js';
import { Graph, GRAPH_INPUT, type GraphMerge, type GraphNodeSpec } from '../nn/graph.js';
import { InitRng } from '../util/rng.js';
import { QwasmError, describe } from '../errors.js';
import { asBytes } from './protobuf.js';
import { buildModule, layerKind, layerTypes, pointwiseByOnnxOp, type LayerKind } from '../nn/registry.js';
import '../nn/layer-spec.js';
import { DataType, dataTypeName, decodeModel, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

export class OnnxImportError extends QwasmError {
  constructor(message: string) { super(message); this.name = 'OnnxImportError'; }
}

/** The graph is not a chain with residual joins: the importer then builds a Graph instead of a Sequential. */
class NotAChain extends OnnxImportError {}

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

/**
 * The value flowing along an edge, as the importer sees it: ONNX's logical shape (batch dim first, taken as
 * any size) and how qwasm holds it. 'map': an NCHW feature map held as NHWC [n, h, w, c]; `pooled` marks a
 * GlobalAveragePool output ([n, c, 1, 1] in ONNX, [n, c] in qwasm: the same bytes). 'flat': [n, k] features;
 * perm[i] = the ONNX feature index held at qwasm position i (null = identity).
 */
type Val =
  | { name: string; kind: 'map'; c: number; h: number; w: number; pooled: boolean }
  | { name: string; kind: 'flat'; k: number; perm: Int32Array | null };

const SUPPORTED = ['Conv', 'BatchNormalization', 'Relu', 'Clip', 'HardSigmoid', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'ReduceMean', 'Flatten', 'Reshape', 'Gemm', 'MatMul', 'Add', 'Mul', 'Concat', 'Pad', 'Identity', 'Dropout', 'Constant'];

/** Internal ops of a fused x·Sigmoid(x) (ONNX has no SiLU before opset 22's Swish) and x·HardSigmoid(x)
 * (PyTorch's Hardswish below opset 14, which has no HardSwish op). */
const FUSED_SILU = 'qwasm.SiLU', FUSED_HARDSWISH = 'qwasm.HardSwish';
const MERGES: Record<string, GraphMerge> = { Add: 'add', Mul: 'mul', Concat: 'concat' };

/** The layer kind of an element-wise ONNX op registered with pointwise.onnx, when the model's opset has the op. */
function onnxPointwise(op: string, opset: number): LayerKind | undefined {
  const k = pointwiseByOnnxOp(op);
  return k && opset >= k.pointwise!.onnx!.opset ? k : undefined;
}

const supportedOps = (): string[] => [...SUPPORTED, ...layerTypes().flatMap((t) => layerKind(t)?.pointwise?.onnx?.op ?? [])];

function fail(n: OnnxNode, msg: string): never {
  throw new OnnxImportError(`ONNX node '${n.name}' (${n.opType}): ${msg}`);
}

function attrOf(n: OnnxNode, name: string): OnnxAttribute | undefined { return n.attributes.find((a) => a.name === name); }
function attrInt(n: OnnxNode, name: string, dflt: number): number { return attrOf(n, name)?.i ?? dflt; }
function attrFloat(n: OnnxNode, name: string, dflt: number): number { return attrOf(n, name)?.f ?? dflt; }
function attrInts(n: OnnxNode, name: string): number[] | undefined { return attrOf(n, name)?.ints; }
function attrString(n: OnnxNode, name: string, dflt: string): string { return attrOf(n, name)?.s ?? dflt; }

/** Attributes a node may carry; any other is an error (an attribute we would ignore could change the math). */
function onlyAttrs(n: OnnxNode, allowed: string[]): void {
  for (const a of n.attributes) if (!allowed.includes(a.name)) fail(n, `attribute '${a.name}' is not supported (supported: ${allowed.join(', ') || 'none'})`);
}

const f32of = (t: OnnxTensor): Float32Array => {
  if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.DOUBLE) throw new OnnxImportError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, expected FLOAT`);
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
};
const intsOf = (t: OnnxTensor): number[] => {
  if (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32 && t.dataType !== DataType.BOOL) throw new OnnxImportError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, expected INT64`);
  return Array.from(t.data as ArrayLike<number>);
};

class Importer {
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
      if (!SUPPORTED.includes(n.opType) && n.opType !== FUSED_SILU && n.opType !== FUSED_HARDSWISH && !onnxPointwise(n.opType, this.opset)) fail(n, `op '${n.opType}' is not supported (supported: ${supportedOps().join(', ')})`);
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

  /** Follows the chain from `v` until the graph output or an Add joining it with another branch. */
  walk(v: Val): { modules: Module[]; end: Val; join: OnnxNode | null } {
    const modules: Module[] = [];
    for (;;) {
      const cons = (this.consumers.get(v.name) ?? []).filter((n) => !this.done.has(n));
      if (v.name === this.outputName) {
        if (cons.length) fail(cons[0], `reads the graph output '${v.name}', which is not supported`);
        return { modules, end: v, join: null };
      }
      if (cons.length === 0) throw new OnnxImportError(`value '${v.name}' is not used by any node and is not the graph output '${this.outputName}'`);
      if (cons.length === 1) {
        const n = cons[0];
        if (this.isJoin(n)) return { modules, end: v, join: n };
        const r = this.convert(n, v);
        this.made.push(...r.modules);
        pushMerged(modules, r.modules);
        v = r.out;
        continue;
      }
      if (cons.length > 2) throw new NotAChain(`'${v.name}' feeds ${cons.length} nodes`);
      const branches = cons.map((n) => (this.isJoin(n) ? { modules: [] as Module[], end: v, join: n as OnnxNode | null } : this.branch(n, v)));
      const [a, b] = branches;
      if (!a.join || a.join !== b.join) {
        throw new NotAChain(`the two branches from '${v.name}' do not meet at one Add`);
      }
      const add = a.join;
      if (add.inputs.filter((i) => i === v.name).length === 2) fail(add, 'adds a value to itself');
      const [body, short] = a.modules.length >= b.modules.length ? [a, b] : [b, a];
      if (!sameVal(body.end, short.end)) fail(add, `adds values of different shapes (${show(body.end)} and ${show(short.end)})`);
      this.done.add(add);
      let out: Val = { ...body.end, name: add.outputs[0] };
      // a ReLU / ReLU6 right after the join becomes the residual's post activation (what int8 fuses)
      let post: Module | null = null;
      const next = this.soleConsumer(out.name);
      if (next && (next.opType === 'Relu' || next.opType === 'Clip')) {
        const act = this.activation(next);
        if (act) { post = act; this.done.add(next); out = { ...out, name: next.outputs[0] }; this.made.push(act); }
      }
      modules.push(new Residual(this.E, new Sequential(this.E, body.modules), short.modules.length ? new Sequential(this.E, short.modules) : null, post));
      v = out;
    }
  }

  branch(first: OnnxNode, v: Val): { modules: Module[]; end: Val; join: OnnxNode | null } {
    const r = this.convert(first, v);
    this.made.push(...r.modules);
    const rest = this.walk(r.out);
    const modules = [...r.modules];
    pushMerged(modules, rest.modules);
    if (!rest.join) throw new NotAChain(`the branch starting at node '${first.name}' (${first.opType}) reaches the graph output without joining its sibling branch`);
    return { modules, end: rest.end, join: rest.join };
  }

  /** A Clip's [min, max] (±Infinity when absent). */
  clipBounds(n: OnnxNode): [number, number] {
    onlyAttrs(n, ['min', 'max']);
    let lo = -Infinity, hi = Infinity;
    if (this.opset < 11) { lo = attrFloat(n, 'min', -Infinity); hi = attrFloat(n, 'max', Infinity); } else {
      const mn = this.optConst(n, 1, 'min'), mx = this.optConst(n, 2, 'max');
      if (mn) lo = f32of(mn)[0];
      if (mx) hi = f32of(mx)[0];
    }
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) fail(n, `bounds [${lo}, ${hi}] are not a range`);
    return [lo, hi];
  }

  /** Relu → ReLU, Clip(0, 6) → ReLU6, Clip(0, ∞) → ReLU; null for another Clip. */
  activation(n: OnnxNode): Module | null {
    if (n.opType === 'Relu') { onlyAttrs(n, []); return new ReLU(this.E); }
    const [lo, hi] = this.clipBounds(n);
    if (lo === 0 && hi === 6) return new ReLU6(this.E);
    if (lo === 0 && hi === Infinity) return new ReLU(this.E);
    return null;
  }

  convert(n: OnnxNode, x: Val): { modules: Module[]; out: Val } {
    this.done.add(n);
    const E = this.E, y = n.outputs[0];
    if (n.inputs[0] !== x.name) fail(n, `its data input must be the first input (got '${n.inputs[0]}', expected '${x.name}')`);
    const map = (what: string) => {
      // a pooled [n, c] value read as a map (squeeze-excite's 1×1 convs) is held [n, 1, 1, c] in a Graph
      if (x.kind === 'map' && x.pooled && !this.graphMode) throw new NotAChain(`${what} reads a pooled value`);
      if (x.kind !== 'map' || x.pooled) fail(n, `${what} needs a 4-D NCHW feature map, got ${show(x)}`);
      return x;
    };
    const pw = onnxPointwise(n.opType, this.opset);
    if (pw) {
      // an element-wise activation registered with pointwise.onnx (src/nn/registry.ts): no attributes, any shape
      onlyAttrs(n, []);
      return { modules: [buildModule(E, { type: pw.type }, n.name, this.rng)], out: { ...x, name: y } };
    }
    switch (n.opType) {
      case 'Identity': case 'Dropout': {
        if (n.outputs.length > 1 && n.outputs[1] && (this.consumers.get(n.outputs[1])?.length || n.outputs[1] === this.outputName)) fail(n, 'its mask output is used');
        if (n.opType === 'Dropout' && n.inputs[2] && this.consts.has(n.inputs[2]) && intsOf(this.consts.get(n.inputs[2])!)[0]) fail(n, 'training_mode = true is not supported');
        return { modules: [], out: { ...x, name: y } };
      }
      case 'Relu': case 'Clip': {
        // Clip(0, 6) / Clip(0, ∞) are ReLU6 / ReLU (what int8 fuses); other bounds a Clip layer
        const act = this.activation(n) ?? new Clip(E, ...this.clipBounds(n));
        return { modules: [act], out: { ...x, name: y } };
      }
      case FUSED_SILU: return { modules: [new SiLU(E)], out: { ...x, name: y } };
      case FUSED_HARDSWISH: return { modules: [new HardSwish(E)], out: { ...x, name: y } };
      case 'HardSigmoid': {
        onlyAttrs(n, ['alpha', 'beta']);
        return { modules: [new HardSigmoid(E, attrFloat(n, 'alpha', 0.2), attrFloat(n, 'beta', 0.5))], out: { ...x, name: y } };
      }
      case 'Mul': case 'Concat':
        if (this.dataInputs(n).length < 2) fail(n, `${n.opType} with a constant operand is not supported (only of computed values)`);
        throw new NotAChain(`${n.opType} node '${n.name}'`);
      case 'ReduceMean': {
        const s = map('ReduceMean');
        onlyAttrs(n, ['axes', 'keepdims']);
        const axes = (attrInts(n, 'axes') ?? (n.inputs[1] ? intsOf(this.konst(n, 1, 'axes')) : [])).map((a) => (a < 0 ? a + 4 : a)).sort();
        if (axes.length !== 2 || axes[0] !== 2 || axes[1] !== 3) fail(n, `only the mean over H and W (axes [2, 3]) is supported, got axes [${axes}]`);
        const keep = attrInt(n, 'keepdims', 1) === 1;
        if (!keep) return { modules: [new GlobalAvgPool(E)], out: { name: y, kind: 'flat', k: s.c, perm: null } };
        return this.globalPool(s.c, y);
      }
      case 'Conv': {
        const s = map('Conv');
        onlyAttrs(n, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
        const W = this.konst(n, 1, 'weight'), B = this.optConst(n, 2, 'bias');
        if (W.dims.length !== 4) fail(n, `only 2-D convolutions are supported (weight dims [${W.dims}])`);
        const [oc, cg, kh, kw] = W.dims;
        const groups = attrInt(n, 'group', 1);
        if (cg * groups !== s.c) fail(n, `weight [${W.dims}] with group ${groups} does not match ${s.c} input channels`);
        if (oc % groups) fail(n, `group ${groups} does not divide ${oc} output channels`);
        const ks = attrInts(n, 'kernel_shape');
        if (ks && (ks[0] !== kh || ks[1] !== kw)) fail(n, `kernel_shape [${ks}] differs from the weight's [${kh}, ${kw}]`);
        const [sh, sw] = pairAttr(n, 'strides'), [dh, dw] = pairAttr(n, 'dilations');
        const pads = this.padsOf(n, s, (dh * (kh - 1)) + 1, (dw * (kw - 1)) + 1, sh, sw);
        const extra = this.takePad(x.name);
        for (let i = 0; i < 4; i++) pads[i] += extra[i];
        const conv = new Conv2d(E, { inChannels: s.c, outChannels: oc, kernel: [kh, kw], stride: [sh, sw], padding: pads, dilation: [dh, dw], groups, bias: !!B }, this.rng);
        const w = f32of(W), wt = new Float32Array(w.length);
        // OIHW → OHWI
        for (let o = 0; o < oc; o++) for (let c = 0; c < cg; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
          wt[((o * kh + i) * kw + j) * cg + c] = w[((o * cg + c) * kh + i) * kw + j];
        }
        conv.weight.write(wt);
        if (B) { if (B.data.length !== oc) fail(n, `bias has ${B.data.length} values for ${oc} outputs`); conv.bias!.write(f32of(B)); }
        const oh = Math.floor((s.h + pads[0] + pads[2] - ((dh * (kh - 1)) + 1)) / sh) + 1;
        const ow = Math.floor((s.w + pads[1] + pads[3] - ((dw * (kw - 1)) + 1)) / sw) + 1;
        if (oh < 1 || ow < 1) fail(n, `output would be ${oh}×${ow}`);
        return { modules: [conv], out: { name: y, kind: 'map', c: oc, h: oh, w: ow, pooled: false } };
      }
      case 'Pad': {
        // a zero Pad is a no-op (PyTorch writes one before AvgPool2d); a constant-zero Pad before a Conv is
        // folded into the conv's padding (takePad); anything else is refused.
        const s = map('Pad');
        const pads = this.padAmounts(n);
        if (pads.every((p) => p === 0)) return { modules: [], out: { ...x, name: y } };
        const next = this.soleConsumer(y);
        if (!next || next.opType !== 'Conv') fail(n, 'non-zero padding is only supported right before a Conv (folded into its padding)');
        return { modules: [], out: { ...s, name: y } };
      }
      case 'BatchNormalization': {
        const s = map('BatchNormalization');
        onlyAttrs(n, ['epsilon', 'momentum', 'spatial', 'training_mode', 'is_test', 'consumed_inputs']);
        if (attrInt(n, 'spatial', 1) !== 1) fail(n, 'spatial = 0 is not supported');
        if (attrInt(n, 'training_mode', 0) !== 0) fail(n, 'training_mode = 1 is not supported (export the model in eval mode)');
        if (n.outputs.slice(1).some((o) => o && (this.consumers.get(o)?.length || o === this.outputName))) fail(n, 'its running-statistics outputs are used');
        const [gamma, beta, mean, vari] = [1, 2, 3, 4].map((i, k) => f32of(this.konst(n, i, ['scale', 'B', 'mean', 'var'][k])));
        for (const [k, a] of [['scale', gamma], ['B', beta], ['mean', mean], ['var', vari]] as [string, Float32Array][]) {
          if (a.length !== s.c) fail(n, `${k} has ${a.length} values for ${s.c} channels`);
        }
        const eps = attrFloat(n, 'epsilon', 1e-5), mom = attrFloat(n, 'momentum', 0.9);
        // ONNX: running = running·momentum + batch·(1 − momentum); qwasm (PyTorch): momentum weights the batch
        const bn = new BatchNorm2d(E, s.c, Math.round((1 - mom) * 1e6) / 1e6, eps);
        bn.gamma.write(gamma); bn.beta.write(beta); bn.runMean.write(mean); bn.runVar.write(vari);
        return { modules: [bn], out: { ...s, name: y } };
      }
      case 'MaxPool': case 'AveragePool': {
        const s = map(n.opType);
        const isMax = n.opType === 'MaxPool';
        onlyAttrs(n, ['auto_pad', 'ceil_mode', 'kernel_shape', 'pads', 'strides', ...(isMax ? ['dilations', 'storage_order'] : ['count_include_pad'])]);
        const ks = attrInts(n, 'kernel_shape');
        if (!ks || ks.length !== 2) fail(n, `kernel_shape must have 2 entries, got ${describe(ks)}`);
        const ceil = attrInt(n, 'ceil_mode', 0) !== 0;
        if (ceil && !isMax) fail(n, 'ceil_mode = 1 is only supported for MaxPool (qwasm average pools floor the output size)');
        if (isMax && (attrInts(n, 'dilations') ?? [1, 1]).some((d) => d !== 1)) fail(n, 'dilated max pooling is not supported');
        if (isMax && attrInt(n, 'storage_order', 0) !== 0) fail(n, 'storage_order = 1 is not supported');
        if (isMax && n.outputs[1] && (this.consumers.get(n.outputs[1])?.length || n.outputs[1] === this.outputName)) fail(n, 'its Indices output is used');
        const [kh, kw] = ks;
        const [sh, sw] = pairAttr(n, 'strides');
        const pads = this.padsOf(n, s, kh, kw, sh, sw);
        if (!isMax && (pads[0] !== pads[2] || pads[1] !== pads[3])) fail(n, `asymmetric pads [${pads}] are not supported for average pooling`);
        if (ceil) {
          // ceil mode = extra bottom / right padding (max pooling ignores padded cells); as PyTorch, the last
          // window must start inside the input or its top / left padding
          const extra = (len: number, p0: number, p1: number, k: number, st: number) => {
            let o = Math.ceil((len + p0 + p1 - k) / st) + 1;
            if ((o - 1) * st >= len + p0) o--;
            return Math.max(0, (o - 1) * st + k - (len + p0 + p1));
          };
          pads[2] += extra(s.h, pads[0], pads[2], kh, sh);
          pads[3] += extra(s.w, pads[1], pads[3], kw, sw);
        }
        if (Math.max(pads[0], pads[2]) >= kh || Math.max(pads[1], pads[3]) >= kw) fail(n, `pads [${pads}] must be smaller than the window ${kh}×${kw}`);
        if (!isMax && attrInt(n, 'count_include_pad', 0) !== 0 && pads.some((p) => p > 0)) {
          fail(n, 'count_include_pad = 1 with padding is not supported (qwasm averages over the real elements only); use AvgPool2d(count_include_pad=False) or no padding');
        }
        const sym = pads[0] === pads[2] && pads[1] === pads[3];
        const opts = { kernel: [kh, kw] as [number, number], stride: [sh, sw] as [number, number], padding: sym ? [pads[0], pads[1]] as [number, number] : pads };
        const oh = Math.floor((s.h + pads[0] + pads[2] - kh) / sh) + 1, ow = Math.floor((s.w + pads[1] + pads[3] - kw) / sw) + 1;
        if (oh < 1 || ow < 1) fail(n, `output would be ${oh}×${ow}`);
        return { modules: [isMax ? new MaxPool2d(E, opts) : new AvgPool2d(E, opts)], out: { name: y, kind: 'map', c: s.c, h: oh, w: ow, pooled: false } };
      }
      case 'GlobalAveragePool': {
        const s = map('GlobalAveragePool');
        onlyAttrs(n, []);
        return this.globalPool(s.c, y);
      }
      case 'Flatten': {
        onlyAttrs(n, ['axis']);
        const axis = attrInt(n, 'axis', 1);
        const rank = x.kind === 'map' ? 4 : 2;
        if (axis !== 1 && axis !== 1 - rank) fail(n, `axis ${axis} is not supported (only 1: [batch, features])`);
        return this.flatten(x, y);
      }
      case 'Reshape': {
        onlyAttrs(n, ['allowzero']);
        const shape = intsOf(this.konst(n, 1, 'shape'));
        const inDims = x.kind === 'map' ? [-2, x.c, x.h, x.w] : [-2, x.k]; // -2 marks the batch dim
        const allowZero = attrInt(n, 'allowzero', 0) === 1;
        const t = shape.map((d, i) => (d === 0 && !allowZero ? (i < inDims.length ? inDims[i] : fail(n, `0 at position ${i} has no input dim to copy`)) : d));
        const feats = inDims.slice(1).reduce((a, b) => a * b, 1);
        const batchOk = (d: number) => d === -2 || d === -1;
        if (t.length === 2 && batchOk(t[0]) && (t[1] === feats || (t[1] === -1 && t[0] !== -1))) return this.flatten(x, y);
        if (t.length === inDims.length && t.every((d, i) => d === inDims[i] || (i === 0 && batchOk(d)))) return { modules: [], out: { ...x, name: y } };
        fail(n, `reshaping ${show(x)} to [${shape}] is not supported (only flattening to [batch, features] or a no-op)`);
      }
      case 'Gemm': case 'MatMul': {
        const isGemm = n.opType === 'Gemm';
        onlyAttrs(n, isGemm ? ['alpha', 'beta', 'transA', 'transB'] : []);
        if (isGemm && attrInt(n, 'transA', 0) !== 0) fail(n, 'transA = 1 is not supported');
        const f = x.kind === 'flat' ? x : x.pooled ? { name: x.name, kind: 'flat' as const, k: x.c, perm: null } : fail(n, `needs [batch, features] input, got ${show(x)} (Flatten it first)`);
        const B = this.konst(n, 1, 'B');
        if (B.dims.length !== 2) fail(n, `B must be 2-D, got dims [${B.dims}]`);
        const transB = isGemm && attrInt(n, 'transB', 0) === 1;
        const [K, N] = transB ? [B.dims[1], B.dims[0]] : B.dims;
        if (K !== f.k) fail(n, `B (dims [${B.dims}]${transB ? ', transB' : ''}) expects ${K} input features, got ${f.k}`);
        const alpha = isGemm ? attrFloat(n, 'alpha', 1) : 1, beta = isGemm ? attrFloat(n, 'beta', 1) : 1;
        let C = isGemm ? this.optConst(n, 2, 'C') : null;
        let out = y;
        if (!isGemm) {
          // MatMul + Add(constant [N]) = a linear with bias
          const next = this.soleConsumer(y);
          if (next && next.opType === 'Add' && !this.isJoin(next)) {
            const ci = next.inputs.findIndex((i) => i !== y);
            C = this.konst(next, ci, 'bias');
            this.done.add(next);
            out = next.outputs[0];
          }
        }
        let bias: Float32Array | null = null;
        if (C) {
          const c = f32of(C);
          if (c.length !== N && c.length !== 1) fail(n, `bias C (dims [${C.dims}]) must hold ${N} values (or 1)`);
          bias = Float32Array.from({ length: N }, (_, j) => beta * c[c.length === 1 ? 0 : j]);
        }
        const lin = new Linear(E, K, N, this.rng, !!bias);
        const b = f32of(B), wt = new Float32Array(K * N);
        for (let i = 0; i < K; i++) {
          const src = f.perm ? f.perm[i] : i;
          for (let j = 0; j < N; j++) wt[i * N + j] = alpha * (transB ? b[j * K + src] : b[src * N + j]);
        }
        lin.weight.write(wt);
        if (bias) lin.bias!.write(bias);
        return { modules: [lin], out: { name: out, kind: 'flat', k: N, perm: null } };
      }
      case 'Add':
        if (this.isJoin(n)) throw new NotAChain(`Add node '${n.name}' outside a residual block`);
        fail(n, 'only the Add of two computed values (a residual join) or a bias Add after MatMul is supported');
      default:
        fail(n, `op '${n.opType}' is not supported`);
    }
  }

  /** GlobalAveragePool / ReduceMean(keepdims): [n, c] as a 'pooled' map, or [n, 1, 1, c] in a Graph (a 1×1 conv may read it). */
  globalPool(c: number, y: string): { modules: Module[]; out: Val } {
    if (this.graphMode) return { modules: [new GlobalAvgPool(this.E, true)], out: { name: y, kind: 'map', c, h: 1, w: 1, pooled: false } };
    return { modules: [new GlobalAvgPool(this.E)], out: { name: y, kind: 'map', c, h: 1, w: 1, pooled: true } };
  }

  /** [batch, features] from a map (NHWC order: records the permutation) or a flat value (no-op). */
  flatten(x: Val, y: string): { modules: Module[]; out: Val } {
    if (x.kind === 'flat') return { modules: [], out: { ...x, name: y } };
    const k = x.c * x.h * x.w;
    if (x.pooled) return { modules: [], out: { name: y, kind: 'flat', k, perm: null } };
    let perm: Int32Array | null = null;
    if (x.h * x.w > 1 && x.c > 1) {
      perm = new Int32Array(k);
      for (let h = 0; h < x.h; h++) for (let w = 0; w < x.w; w++) for (let c = 0; c < x.c; c++) perm[(h * x.w + w) * x.c + c] = (c * x.h + h) * x.w + w;
    }
    return { modules: [new Flatten(this.E)], out: { name: y, kind: 'flat', k, perm } };
  }

  /** Conv / pool pads as [top, left, bottom, right] from pads or auto_pad. */
  padsOf(n: OnnxNode, s: { h: number; w: number }, ekh: number, ekw: number, sh: number, sw: number): [number, number, number, number] {
    const auto = attrString(n, 'auto_pad', 'NOTSET');
    if (auto === 'NOTSET') {
      const p = attrInts(n, 'pads') ?? [0, 0, 0, 0];
      if (p.length !== 4 || p.some((v) => v < 0 || !Number.isInteger(v))) fail(n, `pads must be 4 non-negative integers, got [${p}]`);
      return [p[0], p[1], p[2], p[3]];
    }
    if (auto === 'VALID') return [0, 0, 0, 0];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const th = Math.max((Math.ceil(s.h / sh) - 1) * sh + ekh - s.h, 0), tw = Math.max((Math.ceil(s.w / sw) - 1) * sw + ekw - s.w, 0);
      const lo = (t: number) => (auto === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2));
      return [lo(th), lo(tw), th - lo(th), tw - lo(tw)];
    }
    fail(n, `auto_pad '${auto}' is not supported`);
  }

  /** The [t, l, b, r] of a constant-zero Pad over H and W (N and C unpadded). */
  padAmounts(n: OnnxNode): [number, number, number, number] {
    onlyAttrs(n, ['mode', 'pads', 'value']);
    if (attrString(n, 'mode', 'constant') !== 'constant') fail(n, `mode '${attrString(n, 'mode', '')}' is not supported (constant only)`);
    let p: number[], v = 0;
    if (this.opset < 11) { p = attrInts(n, 'pads') ?? []; v = attrFloat(n, 'value', 0); } else {
      p = intsOf(this.konst(n, 1, 'pads'));
      const cv = this.optConst(n, 2, 'constant_value');
      if (cv) v = f32of(cv)[0];
      if (n.inputs[3]) fail(n, 'the axes input is not supported');
    }
    if (p.length !== 8) fail(n, `pads must have 8 entries for a 4-D input, got [${p}]`);
    // ONNX order: [n0, c0, h0, w0, n1, c1, h1, w1]
    if (p[0] || p[1] || p[4] || p[5]) fail(n, `padding the batch or channel dims is not supported (pads [${p}])`);
    if (p.some((x) => x < 0)) fail(n, `negative pads (cropping) are not supported (pads [${p}])`);
    if (v !== 0 && p.some((x) => x !== 0)) fail(n, `constant_value ${v} is not supported (zero padding only)`);
    return [p[2], p[3], p[6], p[7]];
  }

  /** Extra padding of a Conv whose input comes from a non-zero Pad node (folded there). */
  takePad(input: string): [number, number, number, number] {
    const pad = this.nodes.find((p) => p.opType === 'Pad' && p.outputs[0] === input);
    return pad ? this.padAmounts(pad) : [0, 0, 0, 0];
  }
}

function pairAttr(n: OnnxNode, name: string): [number, number] {
  const v = attrInts(n, name) ?? [1, 1];
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 1)) fail(n, `${name} must be 2 positive integers, got [${v}]`);
  return [v[0], v[1]];
}

function show(v: Val): string {
  return v.kind === 'map' ? (v.pooled ? `pooled [batch, ${v.c}, 1, 1]` : `[batch, ${v.c}, ${v.h}, ${v.w}]`) : `[batch, ${v.k}]`;
}

function sameVal(a: Val, b: Val): boolean {
  if (a.kind === 'map' && b.kind === 'map') return a.c === b.c && a.h === b.h && a.w === b.w && a.pooled === b.pooled;
  if (a.kind === 'flat' && b.kind === 'flat') {
    if (a.k !== b.k) return false;
    if (!a.perm || !b.perm) return a.perm === b.perm;
    return a.perm.every((p, i) => p === b.perm![i]);
  }
  return false;
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
    const r = imp.walk(x);
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

interface GraphSpec { name: string; inputs: string[]; modules?: Module[]; merge?: GraphMerge }
/** Where an ONNX value lives in the Graph being built: the node computing it; `open` = a module chain may grow from it. */
interface Entry { node: GraphSpec | null; val: Val; open: boolean }

/**
 * The ONNX graph as a qwasm Graph: chains of single-input ops become one node each (a Sequential when
 * longer than one module); Add / Mul / Concat of computed values become merge nodes.
 */
function buildGraph(imp: Importer, input: Val): { graph: Graph; end: Val } {
  const specs: GraphSpec[] = [];
  const vals = new Map<string, Entry>();
  const single = (v: string) => (imp.consumers.get(v)?.length ?? 0) === 1 && v !== imp.outputName;
  const nodeName = (e: Entry) => (e.node ? e.node.name : GRAPH_INPUT);
  vals.set(input.name, { node: null, val: input, open: false });
  for (const n of imp.nodes) {
    if (imp.done.has(n)) continue;
    const ins = imp.dataInputs(n);
    if (ins.length === 0) fail(n, 'reads no computed value (a constant subgraph is not supported)');
    const missing = ins.find((i) => !vals.has(i));
    if (missing) fail(n, `input '${missing}' is not computed by an earlier node (the graph is not topologically sorted or reads an unsupported value)`);
    if (ins.length >= 2) {
      const kind = MERGES[n.opType];
      if (!kind) fail(n, `${n.opType} of ${ins.length} computed values is not supported`);
      imp.done.add(n);
      const es = ins.map((i) => vals.get(i)!);
      const spec: GraphSpec = { name: String(specs.length), inputs: es.map(nodeName), merge: kind };
      specs.push(spec);
      vals.set(n.outputs[0], { node: spec, val: { ...mergedVal(n, kind, es.map((e) => e.val)), name: n.outputs[0] }, open: false });
      continue;
    }
    const src = vals.get(ins[0])!;
    const r = imp.convert(n, src.val);
    imp.made.push(...r.modules);
    if (r.modules.length === 0) { vals.set(r.out.name, { node: src.node, val: r.out, open: src.open && single(r.out.name) }); continue; }
    let spec = src.node;
    if (spec && src.open && spec.modules) pushMerged(spec.modules, r.modules);
    else { spec = { name: String(specs.length), inputs: [nodeName(src)], modules: [...r.modules] }; specs.push(spec); }
    vals.set(r.out.name, { node: spec, val: r.out, open: single(r.out.name) });
  }
  const end = vals.get(imp.outputName);
  if (!end) throw new OnnxImportError(`the graph output '${imp.outputName}' is not computed by any supported node`);
  if (!end.node) throw new OnnxImportError(`the graph output '${imp.outputName}' is the input itself`);
  // every node must feed the output (a dead branch would be computed for nothing)
  const live = new Set<string>([end.node.name]);
  for (let i = specs.length - 1; i >= 0; i--) if (live.has(specs[i].name)) for (const inp of specs[i].inputs) live.add(inp);
  const dead = specs.find((sp) => !live.has(sp.name));
  if (dead) throw new OnnxImportError(`graph node ${dead.name} (${dead.merge ?? dead.modules!.map((m) => m.config().type).join(' → ')}) does not lie on the path from the input to the output '${imp.outputName}'`);
  const E = imp.E;
  const nodes: GraphNodeSpec[] = specs.map((sp) => (sp.merge
    ? { name: sp.name, inputs: sp.inputs, merge: sp.merge }
    : { name: sp.name, inputs: sp.inputs, module: sp.modules!.length === 1 ? sp.modules![0] : new Sequential(E, sp.modules!) }));
  return { graph: new Graph(E, nodes, end.node.name), end: end.val };
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
