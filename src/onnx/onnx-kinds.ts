// The ONNX aspect of the layer registry (src/nn/registry.ts): for each layer kind, in one section, how ONNX ops
// become that kind (import, keyed by ONNX op) and how its int8 graph node is written back as QDQ ONNX (export,
// keyed by int8 node kind). import.ts and export.ts only walk the graph and look up these tables; a new kind
// adds its section here (an element-wise activation with `pointwise.onnx` needs none: the generic entries at
// the end handle every one).
// Layout: ONNX is NCHW with OIHW conv weights; qwasm is NHWC with OHWI weights and a Linear weight [in, out]
// (Gemm's B is [out, in] when transB = 1). The importer tracks an NCHW flatten's feature order (Val.perm) and
// permutes the rows of the Linear that reads it; the exporter does the reverse (permuteRows).
import type { ConvNode, GraphNode, LinearNode, LowRankNode, QParams } from '../deploy/graph.js';
import type { Module } from '../nn/module.js';
import {
  AvgPool2d, BatchNorm2d, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU, ReLU6,
} from '../nn/layers.js';
import { Clip, HardSigmoid, SiLU } from '../nn/activations.js';
import { HardSwish } from '../nn/hardswish.js';
import { LayerAspect, buildModule, layerKind, pointwiseByOnnxOp, type LayerKind } from '../nn/registry.js';
import '../nn/layer-spec.js';
import { QwasmError, describe } from '../errors.js';
import { attr, type OnnxNode, type OnnxTensor } from './onnx-proto.js';
import {
  FUSED_HARDSWISH, FUSED_SILU, NotAChain, attrFloat, attrInt, attrInts, attrString, f32of, fail, intsOf, onlyAttrs,
  pairAttr, show, type Converted, type ImportContext, type Val,
} from './import-util.js';
import { checkQ, permuteRows, sameShape, showShape, type Cur, type ExportContext } from './qdq.js';

/** Converts one ONNX node reading `x` (already checked to be its first input). */
export type OnnxOpImporter = (c: ImportContext, n: OnnxNode, x: Val) => Converted;
/** Writes one int8 graph node reading `cur` as QDQ ONNX; `out` is the node's checked output qparams. */
export type OnnxNodeExporter = (c: ExportContext, n: GraphNode, cur: Cur, out: QParams, base: string) => Cur;

/** ONNX op → converter. Keys are ONNX op types (plus the importer's fused 'qwasm.*' internal ops). */
export const onnxImporters = new LayerAspect<OnnxOpImporter>('ONNX importer');
/** int8 graph node kind (src/deploy/graph.ts) → QDQ writer. */
export const onnxExporters = new LayerAspect<OnnxNodeExporter>('ONNX exporter');

/** The layer kind of an element-wise ONNX op registered with pointwise.onnx, when the model's opset has the op. */
export function onnxPointwise(op: string, opset: number): LayerKind | undefined {
  const k = pointwiseByOnnxOp(op);
  return k && opset >= k.pointwise!.onnx!.opset ? k : undefined;
}

/** x must be an NCHW feature map (a pooled value is one only inside a Graph: squeeze-excite's 1×1 convs). */
function mapOf(c: ImportContext, n: OnnxNode, x: Val, what = n.opType): Extract<Val, { kind: 'map' }> {
  if (x.kind === 'map' && x.pooled && !c.graphMode) throw new NotAChain(`${what} reads a pooled value`);
  if (x.kind !== 'map' || x.pooled) fail(n, `${what} needs a 4-D NCHW feature map, got ${show(x)}`);
  return x;
}

const same = (x: Val, n: OnnxNode, modules: Module[]): Converted => ({ modules, out: { ...x, name: n.outputs[0] } });

/** An output of n beyond the first (a mask, running statistics, indices) that something reads. */
const usesExtraOutput = (c: ImportContext, n: OnnxNode, from = 1): boolean =>
  n.outputs.slice(from).some((o) => o && (c.consumers.get(o)?.length || o === c.outputName));

/** The fused clamp of an int8 node, its quantize, and the new current tensor. */
function quantized(c: ExportContext, y: string, out: QParams, qmin: number, qmax: number, base: string, shape: Cur['shape']): Cur {
  return { name: c.b.quantize(c.b.activation(y, out, qmin, qmax, base), out, base), q: out, shape };
}

// ------------------------------------------------------------------ Identity / Dropout (no module)

onnxImporters.register('Identity', importPassThrough);
onnxImporters.register('Dropout', importPassThrough);
function importPassThrough(c: ImportContext, n: OnnxNode, x: Val): Converted {
  if (usesExtraOutput(c, n)) fail(n, 'its mask output is used');
  if (n.opType === 'Dropout' && n.inputs[2] && c.consts.has(n.inputs[2]) && intsOf(c.consts.get(n.inputs[2])!)[0]) fail(n, 'training_mode = true is not supported');
  return same(x, n, []);
}

// ------------------------------------------------------------------ ReLU / ReLU6 / Clip ↔ Relu, Clip

/** A Clip's [min, max] (±Infinity when absent). */
export function clipBounds(c: ImportContext, n: OnnxNode): [number, number] {
  onlyAttrs(n, ['min', 'max']);
  let lo = -Infinity, hi = Infinity;
  if (c.opset < 11) { lo = attrFloat(n, 'min', -Infinity); hi = attrFloat(n, 'max', Infinity); } else {
    const mn = c.optConst(n, 1, 'min'), mx = c.optConst(n, 2, 'max');
    if (mn) lo = f32of(mn)[0];
    if (mx) hi = f32of(mx)[0];
  }
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) fail(n, `bounds [${lo}, ${hi}] are not a range`);
  return [lo, hi];
}

/** Relu → ReLU, Clip(0, 6) → ReLU6, Clip(0, ∞) → ReLU; null for another Clip (what int8 fuses, e.g. a residual's post). */
export function reluOf(c: ImportContext, n: OnnxNode): Module | null {
  if (n.opType === 'Relu') { onlyAttrs(n, []); return new ReLU(c.E); }
  const [lo, hi] = clipBounds(c, n);
  if (lo === 0 && hi === 6) return new ReLU6(c.E);
  if (lo === 0 && hi === Infinity) return new ReLU(c.E);
  return null;
}

// Clip(0, 6) / Clip(0, ∞) are ReLU6 / ReLU (what int8 fuses); other bounds a Clip layer. The int8 graph carries
// them as a node's fused clamp, written by Builder.activation.
const importClamp: OnnxOpImporter = (c, n, x) => same(x, n, [reluOf(c, n) ?? new Clip(c.E, ...clipBounds(c, n))]);
onnxImporters.register('Relu', importClamp);
onnxImporters.register('Clip', importClamp);

// ------------------------------------------------------------------ SiLU, HardSwish (fused x·gate(x)), HardSigmoid

onnxImporters.register(FUSED_SILU, (c, n, x) => same(x, n, [new SiLU(c.E)]));
onnxImporters.register(FUSED_HARDSWISH, (c, n, x) => same(x, n, [new HardSwish(c.E)]));
onnxImporters.register('HardSigmoid', (c, n, x) => {
  onlyAttrs(n, ['alpha', 'beta']);
  return same(x, n, [new HardSigmoid(c.E, attrFloat(n, 'alpha', 0.2), attrFloat(n, 'beta', 0.5))]);
});

// ------------------------------------------------------------------ Graph merges (Mul, Concat; Add below)

// a merge of computed values is a Graph node (import.ts builds it); reaching here means a chain was assumed
const importMerge: OnnxOpImporter = (c, n) => {
  if (c.dataInputs(n).length < 2) fail(n, `${n.opType} with a constant operand is not supported (only of computed values)`);
  throw new NotAChain(`${n.opType} node '${n.name}'`);
};
onnxImporters.register('Mul', importMerge);
onnxImporters.register('Concat', importMerge);

// ------------------------------------------------------------------ Conv2d ↔ Conv (int8: conv)

/** Conv / pool pads as [top, left, bottom, right] from pads or auto_pad. */
function padsOf(n: OnnxNode, s: { h: number; w: number }, ekh: number, ekw: number, sh: number, sw: number): [number, number, number, number] {
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
function padAmounts(c: ImportContext, n: OnnxNode): [number, number, number, number] {
  onlyAttrs(n, ['mode', 'pads', 'value']);
  if (attrString(n, 'mode', 'constant') !== 'constant') fail(n, `mode '${attrString(n, 'mode', '')}' is not supported (constant only)`);
  let p: number[], v = 0;
  if (c.opset < 11) { p = attrInts(n, 'pads') ?? []; v = attrFloat(n, 'value', 0); } else {
    p = intsOf(c.konst(n, 1, 'pads'));
    const cv = c.optConst(n, 2, 'constant_value');
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

// a zero Pad is a no-op (PyTorch writes one before AvgPool2d); a constant-zero Pad before a Conv is folded into
// the conv's padding (the Conv importer reads it back); anything else is refused.
onnxImporters.register('Pad', (c, n, x) => {
  const s = mapOf(c, n, x, 'Pad');
  const pads = padAmounts(c, n);
  if (pads.every((p) => p === 0)) return same(x, n, []);
  const next = c.soleConsumer(n.outputs[0]);
  if (!next || next.opType !== 'Conv') fail(n, 'non-zero padding is only supported right before a Conv (folded into its padding)');
  return same(s, n, []);
});

onnxImporters.register('Conv', (c, n, x) => {
  const s = mapOf(c, n, x, 'Conv');
  onlyAttrs(n, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
  const W = c.konst(n, 1, 'weight'), B = c.optConst(n, 2, 'bias');
  if (W.dims.length !== 4) fail(n, `only 2-D convolutions are supported (weight dims [${W.dims}])`);
  const [oc, cg, kh, kw] = W.dims;
  const groups = attrInt(n, 'group', 1);
  if (cg * groups !== s.c) fail(n, `weight [${W.dims}] with group ${groups} does not match ${s.c} input channels`);
  if (oc % groups) fail(n, `group ${groups} does not divide ${oc} output channels`);
  const ks = attrInts(n, 'kernel_shape');
  if (ks && (ks[0] !== kh || ks[1] !== kw)) fail(n, `kernel_shape [${ks}] differs from the weight's [${kh}, ${kw}]`);
  const [sh, sw] = pairAttr(n, 'strides'), [dh, dw] = pairAttr(n, 'dilations');
  const pads = padsOf(n, s, (dh * (kh - 1)) + 1, (dw * (kw - 1)) + 1, sh, sw);
  // a non-zero Pad node right before (see 'Pad') is folded in here
  const pad = c.nodes.find((p) => p.opType === 'Pad' && p.outputs[0] === x.name);
  const extra = pad ? padAmounts(c, pad) : [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) pads[i] += extra[i];
  const conv = new Conv2d(c.E, { inChannels: s.c, outChannels: oc, kernel: [kh, kw], stride: [sh, sw], padding: pads, dilation: [dh, dw], groups, bias: !!B }, c.rng);
  const w = f32of(W), wt = new Float32Array(w.length);
  // OIHW → OHWI
  for (let o = 0; o < oc; o++) for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    wt[((o * kh + i) * kw + j) * cg + ci] = w[((o * cg + ci) * kh + i) * kw + j];
  }
  conv.weight.write(wt);
  if (B) { if (B.data.length !== oc) fail(n, `bias has ${B.data.length} values for ${oc} outputs`); conv.bias!.write(f32of(B)); }
  const oh = Math.floor((s.h + pads[0] + pads[2] - ((dh * (kh - 1)) + 1)) / sh) + 1;
  const ow = Math.floor((s.w + pads[1] + pads[3] - ((dw * (kw - 1)) + 1)) / sw) + 1;
  if (oh < 1 || ow < 1) fail(n, `output would be ${oh}×${ow}`);
  return { modules: [conv], out: { name: n.outputs[0], kind: 'map', c: oc, h: oh, w: ow, pooled: false } };
});

onnxExporters.register('conv', (c, node, cur, out, base) => {
  const n = node as ConvNode, b = c.b;
  if (cur.shape.kind !== 'map') throw new QwasmError(`conv '${base}' needs a feature map input, got [batch, ${cur.shape.k}]`);
  const s = cur.shape;
  if (s.c !== n.cg * n.groups) throw new QwasmError(`conv '${base}': ${n.cg}×${n.groups} input channels expected, the input has ${s.c}`);
  const oihw = new Int8Array(n.w.length);
  for (let o = 0; o < n.oc; o++) for (let i = 0; i < n.kh; i++) for (let j = 0; j < n.kw; j++) for (let ci = 0; ci < n.cg; ci++) {
    oihw[((o * n.cg + ci) * n.kh + i) * n.kw + j] = n.w[((o * n.kh + i) * n.kw + j) * n.cg + ci];
  }
  const x = b.dequantize(cur.name, cur.q, base);
  const w = b.weight(base, [n.oc, n.cg, n.kh, n.kw], oihw, n.wScale, 0);
  const bias = b.bias(base, n.bias, cur.q.scale, n.wScale);
  const [t, l, bo, r] = n.padding;
  const y = b.node('Conv', [x, w, bias], `${base}.conv`, [
    attr.ints('kernel_shape', [n.kh, n.kw]), attr.ints('strides', n.stride), attr.ints('dilations', n.dilation),
    attr.ints('pads', [t, l, bo, r]), attr.int('group', n.groups),
  ]);
  const oh = Math.floor((s.h + t + bo - (n.dilation[0] * (n.kh - 1) + 1)) / n.stride[0]) + 1;
  const ow = Math.floor((s.w + l + r - (n.dilation[1] * (n.kw - 1) + 1)) / n.stride[1]) + 1;
  if (oh < 1 || ow < 1) throw new QwasmError(`conv '${base}': output would be ${oh}×${ow} for a ${s.h}×${s.w} input`);
  return quantized(c, y, out, n.rq.qmin, n.rq.qmax, base, { kind: 'map', c: n.oc, h: oh, w: ow });
});

// ------------------------------------------------------------------ BatchNorm2d ← BatchNormalization (int8: folded into conv)

onnxImporters.register('BatchNormalization', (c, n, x) => {
  const s = mapOf(c, n, x, 'BatchNormalization');
  onlyAttrs(n, ['epsilon', 'momentum', 'spatial', 'training_mode', 'is_test', 'consumed_inputs']);
  if (attrInt(n, 'spatial', 1) !== 1) fail(n, 'spatial = 0 is not supported');
  if (attrInt(n, 'training_mode', 0) !== 0) fail(n, 'training_mode = 1 is not supported (export the model in eval mode)');
  if (usesExtraOutput(c, n)) fail(n, 'its running-statistics outputs are used');
  const [gamma, beta, mean, vari] = [1, 2, 3, 4].map((i, k) => f32of(c.konst(n, i, ['scale', 'B', 'mean', 'var'][k])));
  for (const [k, a] of [['scale', gamma], ['B', beta], ['mean', mean], ['var', vari]] as [string, Float32Array][]) {
    if (a.length !== s.c) fail(n, `${k} has ${a.length} values for ${s.c} channels`);
  }
  const eps = attrFloat(n, 'epsilon', 1e-5), mom = attrFloat(n, 'momentum', 0.9);
  // ONNX: running = running·momentum + batch·(1 − momentum); qwasm (PyTorch): momentum weights the batch
  const bn = new BatchNorm2d(c.E, s.c, Math.round((1 - mom) * 1e6) / 1e6, eps);
  bn.gamma.write(gamma); bn.beta.write(beta); bn.runMean.write(mean); bn.runVar.write(vari);
  return same(s, n, [bn]);
});

// ------------------------------------------------------------------ MaxPool2d / AvgPool2d ↔ MaxPool / AveragePool

/** ceil mode = extra bottom / right padding; as PyTorch, the last window must start inside the input or its top / left padding. */
function ceilExtra(len: number, p0: number, p1: number, k: number, st: number): number {
  let o = Math.ceil((len + p0 + p1 - k) / st) + 1;
  if ((o - 1) * st >= len + p0) o--;
  return Math.max(0, (o - 1) * st + k - (len + p0 + p1));
}

const importPool: OnnxOpImporter = (c, n, x) => {
  const s = mapOf(c, n, x);
  const isMax = n.opType === 'MaxPool';
  onlyAttrs(n, ['auto_pad', 'ceil_mode', 'kernel_shape', 'pads', 'strides', ...(isMax ? ['dilations', 'storage_order'] : ['count_include_pad'])]);
  const ks = attrInts(n, 'kernel_shape');
  if (!ks || ks.length !== 2) fail(n, `kernel_shape must have 2 entries, got ${describe(ks)}`);
  const ceil = attrInt(n, 'ceil_mode', 0) !== 0;
  if (ceil && !isMax) fail(n, 'ceil_mode = 1 is only supported for MaxPool (qwasm average pools floor the output size)');
  if (isMax && (attrInts(n, 'dilations') ?? [1, 1]).some((d) => d !== 1)) fail(n, 'dilated max pooling is not supported');
  if (isMax && attrInt(n, 'storage_order', 0) !== 0) fail(n, 'storage_order = 1 is not supported');
  if (isMax && usesExtraOutput(c, n)) fail(n, 'its Indices output is used');
  const [kh, kw] = ks;
  const [sh, sw] = pairAttr(n, 'strides');
  const pads = padsOf(n, s, kh, kw, sh, sw);
  if (!isMax && (pads[0] !== pads[2] || pads[1] !== pads[3])) fail(n, `asymmetric pads [${pads}] are not supported for average pooling`);
  // ceil mode: extra bottom / right padding (max pooling ignores padded cells)
  if (ceil) { pads[2] += ceilExtra(s.h, pads[0], pads[2], kh, sh); pads[3] += ceilExtra(s.w, pads[1], pads[3], kw, sw); }
  if (Math.max(pads[0], pads[2]) >= kh || Math.max(pads[1], pads[3]) >= kw) fail(n, `pads [${pads}] must be smaller than the window ${kh}×${kw}`);
  if (!isMax && attrInt(n, 'count_include_pad', 0) !== 0 && pads.some((p) => p > 0)) {
    fail(n, 'count_include_pad = 1 with padding is not supported (qwasm averages over the real elements only); use AvgPool2d(count_include_pad=False) or no padding');
  }
  const sym = pads[0] === pads[2] && pads[1] === pads[3];
  const opts = { kernel: [kh, kw] as [number, number], stride: [sh, sw] as [number, number], padding: sym ? [pads[0], pads[1]] as [number, number] : pads };
  const oh = Math.floor((s.h + pads[0] + pads[2] - kh) / sh) + 1, ow = Math.floor((s.w + pads[1] + pads[3] - kw) / sw) + 1;
  if (oh < 1 || ow < 1) fail(n, `output would be ${oh}×${ow}`);
  return { modules: [isMax ? new MaxPool2d(c.E, opts) : new AvgPool2d(c.E, opts)], out: { name: n.outputs[0], kind: 'map', c: s.c, h: oh, w: ow, pooled: false } };
};
onnxImporters.register('MaxPool', importPool);
onnxImporters.register('AveragePool', importPool);

const exportPool: OnnxNodeExporter = (c, node, cur, out, base) => {
  const n = node as Extract<GraphNode, { kind: 'maxpool' | 'avgpool' }>, b = c.b;
  const one = n.kh === 1 && n.kw === 1 && n.stride[0] === 1 && n.stride[1] === 1 && n.padding.every((p) => p === 0);
  if (n.kind === 'maxpool' && one) return { ...cur, q: out };
  if (n.kind === 'maxpool' && (out.scale !== cur.q.scale || out.zeroPoint !== cur.q.zeroPoint)) {
    throw new QwasmError(`maxpool '${base}' changes the quantisation (${JSON.stringify(cur.q)} → ${JSON.stringify(out)}); int8 max pooling keeps it`);
  }
  const x = b.dequantize(cur.name, cur.q, base);
  let y = x, shape = cur.shape;
  // a 1×1 avgpool is qwasm's standalone activation: only its clamp is written
  if (!one) {
    if (cur.shape.kind !== 'map') throw new QwasmError(`${n.kind} '${base}' needs a feature map input, got [batch, ${cur.shape.k}]`);
    const s = cur.shape, [t, l, bo, r] = n.padding;
    const attrs = [attr.ints('kernel_shape', [n.kh, n.kw]), attr.ints('strides', n.stride), attr.ints('pads', [t, l, bo, r])];
    if (n.kind === 'avgpool') attrs.push(attr.int('count_include_pad', 0));
    y = b.node(n.kind === 'maxpool' ? 'MaxPool' : 'AveragePool', [x], `${base}.pool`, attrs);
    shape = { kind: 'map', c: s.c, h: Math.floor((s.h + t + bo - n.kh) / n.stride[0]) + 1, w: Math.floor((s.w + l + r - n.kw) / n.stride[1]) + 1 };
  }
  const a = n.kind === 'avgpool' ? b.activation(y, out, n.qmin, n.qmax, base) : y;
  return { name: b.quantize(a, out, base), q: out, shape };
};
onnxExporters.register('maxpool', exportPool);
onnxExporters.register('avgpool', exportPool);

// ------------------------------------------------------------------ GlobalAvgPool ↔ GlobalAveragePool, ReduceMean (int8: gap)

/** [n, c] as a 'pooled' map, or [n, 1, 1, c] in a Graph (a 1×1 conv may read it: squeeze-excite). */
function globalPool(c: ImportContext, ch: number, y: string): Converted {
  if (c.graphMode) return { modules: [new GlobalAvgPool(c.E, true)], out: { name: y, kind: 'map', c: ch, h: 1, w: 1, pooled: false } };
  return { modules: [new GlobalAvgPool(c.E)], out: { name: y, kind: 'map', c: ch, h: 1, w: 1, pooled: true } };
}

onnxImporters.register('GlobalAveragePool', (c, n, x) => {
  const s = mapOf(c, n, x, 'GlobalAveragePool');
  onlyAttrs(n, []);
  return globalPool(c, s.c, n.outputs[0]);
});

onnxImporters.register('ReduceMean', (c, n, x) => {
  const s = mapOf(c, n, x, 'ReduceMean');
  onlyAttrs(n, ['axes', 'keepdims']);
  const axes = (attrInts(n, 'axes') ?? (n.inputs[1] ? intsOf(c.konst(n, 1, 'axes')) : [])).map((a) => (a < 0 ? a + 4 : a)).sort();
  if (axes.length !== 2 || axes[0] !== 2 || axes[1] !== 3) fail(n, `only the mean over H and W (axes [2, 3]) is supported, got axes [${axes}]`);
  if (attrInt(n, 'keepdims', 1) !== 1) return { modules: [new GlobalAvgPool(c.E)], out: { name: n.outputs[0], kind: 'flat', k: s.c, perm: null } };
  return globalPool(c, s.c, n.outputs[0]);
});

onnxExporters.register('gap', (c, node, cur, out, base) => {
  const n = node as Extract<GraphNode, { kind: 'gap' }>;
  if (cur.shape.kind !== 'map') throw new QwasmError(`gap '${base}' needs a feature map input, got [batch, ${cur.shape.k}]`);
  const y = c.b.node('GlobalAveragePool', [c.b.dequantize(cur.name, cur.q, base)], `${base}.gap`);
  return quantized(c, y, out, n.qmin, n.qmax, base, { kind: 'flat', k: cur.shape.c, perm: null, pooled4d: true });
});

// ------------------------------------------------------------------ Flatten ↔ Flatten, Reshape (to [batch, features])

/** [batch, features] from a map (NHWC order: records the permutation) or a flat value (no-op). */
function flatten(c: ImportContext, x: Val, y: string): Converted {
  if (x.kind === 'flat') return { modules: [], out: { ...x, name: y } };
  const k = x.c * x.h * x.w;
  if (x.pooled) return { modules: [], out: { name: y, kind: 'flat', k, perm: null } };
  let perm: Int32Array | null = null;
  if (x.h * x.w > 1 && x.c > 1) {
    perm = new Int32Array(k);
    for (let h = 0; h < x.h; h++) for (let w = 0; w < x.w; w++) for (let ch = 0; ch < x.c; ch++) perm[(h * x.w + w) * x.c + ch] = (ch * x.h + h) * x.w + w;
  }
  return { modules: [new Flatten(c.E)], out: { name: y, kind: 'flat', k, perm } };
}

onnxImporters.register('Flatten', (c, n, x) => {
  onlyAttrs(n, ['axis']);
  const axis = attrInt(n, 'axis', 1);
  const rank = x.kind === 'map' ? 4 : 2;
  if (axis !== 1 && axis !== 1 - rank) fail(n, `axis ${axis} is not supported (only 1: [batch, features])`);
  return flatten(c, x, n.outputs[0]);
});

onnxImporters.register('Reshape', (c, n, x) => {
  onlyAttrs(n, ['allowzero']);
  const shape = intsOf(c.konst(n, 1, 'shape'));
  const inDims = x.kind === 'map' ? [-2, x.c, x.h, x.w] : [-2, x.k]; // -2 marks the batch dim
  const allowZero = attrInt(n, 'allowzero', 0) === 1;
  const t = shape.map((d, i) => (d === 0 && !allowZero ? (i < inDims.length ? inDims[i] : fail(n, `0 at position ${i} has no input dim to copy`)) : d));
  const feats = inDims.slice(1).reduce((a, b) => a * b, 1);
  const batchOk = (d: number) => d === -2 || d === -1;
  if (t.length === 2 && batchOk(t[0]) && (t[1] === feats || (t[1] === -1 && t[0] !== -1))) return flatten(c, x, n.outputs[0]);
  if (t.length === inDims.length && t.every((d, i) => d === inDims[i] || (i === 0 && batchOk(d)))) return same(x, n, []);
  fail(n, `reshaping ${show(x)} to [${shape}] is not supported (only flattening to [batch, features] or a no-op)`);
});

onnxExporters.register('flatten', (c, _n, cur, _out, base) => {
  // the int8 flatten keeps its input's qparams; ONNX's NCHW order is fixed in the reading linear's rows
  const f = c.flat(cur, base);
  return { ...f.cur, shape: { kind: 'flat', k: f.k, perm: f.perm, pooled4d: false } };
});

// ------------------------------------------------------------------ Linear ↔ Gemm, MatMul (+ bias Add); LowRankLinear → 2 matmuls

/** MatMul + Add(constant [N]) = a linear with bias: the Add's bias and output, when the MatMul's sole consumer is one. */
function biasAddAfter(c: ImportContext, y: string): { C: OnnxTensor; out: string } | null {
  const next = c.soleConsumer(y);
  if (!next || next.opType !== 'Add' || c.isJoin(next)) return null;
  const C = c.konst(next, next.inputs.findIndex((i) => i !== y), 'bias');
  c.done.add(next);
  return { C, out: next.outputs[0] };
}

const importMatmul: OnnxOpImporter = (c, n, x) => {
  const isGemm = n.opType === 'Gemm';
  onlyAttrs(n, isGemm ? ['alpha', 'beta', 'transA', 'transB'] : []);
  if (isGemm && attrInt(n, 'transA', 0) !== 0) fail(n, 'transA = 1 is not supported');
  const f = x.kind === 'flat' ? x : x.pooled ? { name: x.name, kind: 'flat' as const, k: x.c, perm: null } : fail(n, `needs [batch, features] input, got ${show(x)} (Flatten it first)`);
  const B = c.konst(n, 1, 'B');
  if (B.dims.length !== 2) fail(n, `B must be 2-D, got dims [${B.dims}]`);
  const transB = isGemm && attrInt(n, 'transB', 0) === 1;
  const [K, N] = transB ? [B.dims[1], B.dims[0]] : B.dims;
  if (K !== f.k) fail(n, `B (dims [${B.dims}]${transB ? ', transB' : ''}) expects ${K} input features, got ${f.k}`);
  const alpha = isGemm ? attrFloat(n, 'alpha', 1) : 1, beta = isGemm ? attrFloat(n, 'beta', 1) : 1;
  const add = isGemm ? null : biasAddAfter(c, n.outputs[0]);
  const C = isGemm ? c.optConst(n, 2, 'C') : add?.C ?? null;
  let bias: Float32Array | null = null;
  if (C) {
    const cv = f32of(C);
    if (cv.length !== N && cv.length !== 1) fail(n, `bias C (dims [${C.dims}]) must hold ${N} values (or 1)`);
    bias = Float32Array.from({ length: N }, (_, j) => beta * cv[cv.length === 1 ? 0 : j]);
  }
  const lin = new Linear(c.E, K, N, c.rng, !!bias);
  const b = f32of(B), wt = new Float32Array(K * N);
  for (let i = 0; i < K; i++) {
    const src = f.perm ? f.perm[i] : i;
    for (let j = 0; j < N; j++) wt[i * N + j] = alpha * (transB ? b[j * K + src] : b[src * N + j]);
  }
  lin.weight.write(wt);
  if (bias) lin.bias!.write(bias);
  return { modules: [lin], out: { name: add?.out ?? n.outputs[0], kind: 'flat', k: N, perm: null } };
};
onnxImporters.register('Gemm', importMatmul);
onnxImporters.register('MatMul', importMatmul);

const exportMatmul: OnnxNodeExporter = (c, node, cur, out, base) => {
  const n = node as LinearNode | LowRankNode, b = c.b;
  const f = c.flat(cur, base);
  if (f.k !== n.k) throw new QwasmError(`${n.kind} '${base}' expects ${n.k} input features, the input has ${f.k}`);
  const x = b.dequantize(f.cur.name, cur.q, base);
  let y: string;
  if (n.kind === 'linear') {
    // sparse layers are written dense
    const w = b.weight(base, [n.k, n.n], permuteRows(n.w, n.k, n.n, f.perm), n.wScale, 1);
    y = b.node('Gemm', [x, w, b.bias(base, n.bias, cur.q.scale, n.wScale)], `${base}.gemm`);
  } else {
    // DQ(x)·DQ(P) → Q(mid) → DQ · DQ(Q) + DQ(bias)
    const mid = checkQ(`node '${base}'.mid`, n.mid);
    const p = b.weight(`${base}.p`, [n.k, n.r], permuteRows(n.p, n.k, n.r, f.perm), n.pScale, 1);
    const t = b.node('MatMul', [x, p], `${base}.p.matmul`);
    const tq = b.quantize(b.activation(t, mid, n.midRq.qmin, n.midRq.qmax, `${base}.mid`), mid, `${base}.mid`);
    const td = b.dequantize(tq, mid, `${base}.mid`);
    const qw = b.weight(`${base}.q`, [n.r, n.n], n.q, n.qScale, 1);
    y = b.node('Gemm', [td, qw, b.bias(`${base}.q`, n.bias, mid.scale, n.qScale)], `${base}.q.gemm`);
  }
  return quantized(c, y, out, n.rq.qmin, n.rq.qmax, base, { kind: 'flat', k: n.n, perm: null, pooled4d: false });
};
onnxExporters.register('linear', exportMatmul);
onnxExporters.register('lowrank', exportMatmul);

// ------------------------------------------------------------------ Residual ↔ Add of two computed values (int8: residual)

// import.ts builds Residual blocks (and Graph 'add' merges) from the Add joins it meets while walking the graph;
// an Add reaching the per-op table is not one of those.
onnxImporters.register('Add', (c, n) => {
  if (c.isJoin(n)) throw new NotAChain(`Add node '${n.name}' outside a residual block`);
  fail(n, 'only the Add of two computed values (a residual join) or a bias Add after MatMul is supported');
});

onnxExporters.register('residual', (c, node, cur, out, base) => {
  const n = node as Extract<GraphNode, { kind: 'residual' }>, b = c.b;
  const a = c.run(n.body, cur);
  const s = n.shortcut ? c.run(n.shortcut, cur) : cur;
  if (!sameShape(a.shape, s.shape)) throw new QwasmError(`residual '${base}': body ${showShape(a.shape)} and shortcut ${showShape(s.shape)} differ`);
  const y = b.node('Add', [b.dequantize(a.name, a.q, `${base}.body`), b.dequantize(s.name, s.q, `${base}.shortcut`)], `${base}.add`);
  return quantized(c, y, out, n.qmin, n.qmax, base, a.shape);
});

// ------------------------------------------------------------------ every pointwise kind (registry: pointwise.onnx) ↔ its op (int8: lut)

/** The generic converter of an element-wise activation registered with pointwise.onnx: no attributes, any shape. */
export const importPointwise = (c: ImportContext, n: OnnxNode, x: Val, kind: LayerKind): Converted => {
  onlyAttrs(n, []);
  return same(x, n, [buildModule(c.E, { type: kind.type }, n.name, c.rng)]);
};

onnxExporters.register('lut', (c, node, cur, out, base) => {
  // its registered ONNX op between DQ and Q (a runtime may fuse it back into a table)
  const n = node as Extract<GraphNode, { kind: 'lut' }>;
  const onnx = layerKind(n.op)?.pointwise?.onnx;
  if (!onnx) throw new QwasmError(`lut '${base}': the function '${n.op}' has no ONNX op (its layer kind registers none)`);
  c.opset = Math.max(c.opset, onnx.opset);
  const y = c.b.node(onnx.op, [c.b.dequantize(cur.name, cur.q, base)], `${base}.${onnx.op.toLowerCase()}`);
  return { name: c.b.quantize(y, out, base), q: out, shape: cur.shape };
});
