// The TF.js (Keras) aspect of the layer registry (src/nn/registry.ts): per Keras layer class, the qwasm layers it
// becomes. import.ts walks the Keras graph and looks the classes up here; Keras activation names come from the
// registry itself (ReLU / ReLU6, and each pointwise kind's `pointwise.keras` names).
// Keras is NHWC like qwasm, so maps need no permutation; kernels are converted: Conv2D [kh, kw, cin, cout] →
// OHWI [cout, kh, kw, cin]; DepthwiseConv2D [kh, kw, c, mult] → a grouped conv (groups = c) with output channel
// c·mult + m, OHWI [c·mult, kh, kw, 1]; Dense [in, out] as is. ZeroPadding2D is folded into the padding of the
// conv that reads it, and 'same' padding is TF's (the odd pixel goes at the bottom / right).
import type { Module } from '../nn/module.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool2d } from '../nn/layers.js';
import { LayerAspect, buildModule, layerKind, layerTypes } from '../nn/registry.js';
import '../nn/layer-spec.js';
import { describe } from '../errors.js';
import { fail, pair, show, type Converted, type KLayer, type KerasContext, type Val } from './keras-util.js';

/** Converts one single-input Keras layer reading `x`. */
export type KerasLayerImporter = (c: KerasContext, l: KLayer, x: Val) => Converted;

/** Keras layer class → converter (InputLayer and the merges Add / Concatenate are import.ts's own). */
export const kerasImporters = new LayerAspect<KerasLayerImporter>('Keras importer');

/** The layer kind computing a Keras activation name: relu / relu6, else the registered pointwise kind naming it. */
export function kerasActivationType(name: string): string | undefined {
  if (name === 'relu') return 'ReLU';
  if (name === 'relu6') return 'ReLU6';
  return layerTypes().find((t) => layerKind(t)?.pointwise?.keras?.includes(name));
}

/** Every Keras activation name this build maps (for error messages). */
export const kerasActivationNames = (): string[] => ['relu', 'relu6', ...layerTypes().flatMap((t) => layerKind(t)?.pointwise?.keras ?? [])];

/** The registry's module for a Keras activation name; null for a name qwasm does not map. */
function activationModule(c: KerasContext, l: KLayer, name: string): Module | null {
  const type = kerasActivationType(name);
  return type ? buildModule(c.E, { type }, l.name) : null;
}

/** The module of a ReLU / Activation layer, or null (not one qwasm computes). */
export function kerasActivationOf(c: KerasContext, l: KLayer): Module | null {
  if (l.cls === 'ReLU') {
    const mx = l.config.max_value, slope = l.config.negative_slope ?? 0, thr = l.config.threshold ?? 0;
    if (slope !== 0 || thr !== 0) return null;
    if (mx === null || mx === undefined) return activationModule(c, l, 'relu');
    return mx === 6 ? activationModule(c, l, 'relu6') : null;
  }
  if (l.cls === 'Activation') return activationModule(c, l, String(l.config.activation));
  return null;
}

/** Modules for a fused `activation` config field (Conv2D, Dense); 'softmax' only at the output. */
function fusedActivation(c: KerasContext, l: KLayer): Module[] {
  const a = String(l.config.activation ?? 'linear');
  if (a === 'linear') return [];
  if (a === 'softmax' && l.name === c.output && !c.cut) { c.droppedActivation = 'softmax'; return []; }
  const m = activationModule(c, l, a);
  if (!m) fail(l, `activation '${a}' is not supported (linear, ${kerasActivationNames().join(', ')}; softmax at the output)`);
  return [m];
}

const same = (x: Val, l: KLayer, modules: Module[]): Converted => ({ modules, out: { ...x, name: l.name } });
const mapOf = (l: KLayer, x: Val) => (x.kind === 'map' ? x : fail(l, `needs a feature map, got ${show(x)}`));

/** TF 'same' / 'valid' padding as [top, left, bottom, right] (the odd pixel at the bottom / right). */
function samePads(l: KLayer, mode: string, h: number, w: number, ekh: number, ekw: number, sh: number, sw: number): [number, number, number, number] {
  if (mode === 'valid') return [0, 0, 0, 0];
  if (mode !== 'same') fail(l, `padding '${mode}' is not supported (valid, same)`);
  const th = Math.max((Math.ceil(h / sh) - 1) * sh + ekh - h, 0), tw = Math.max((Math.ceil(w / sw) - 1) * sw + ekw - w, 0);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

// ------------------------------------------------------------------ Dropout

kerasImporters.register('Dropout', (c, l, x) => {
  const rate = Number(l.config.rate ?? 0);
  if (l.config.noise_shape) fail(l, 'noise_shape is not supported');
  return same(x, l, rate > 0 ? [new Dropout(c.E, rate, c.rng.u32())] : []);
});

// ------------------------------------------------------------------ activations: ReLU, Activation

const importActivation: KerasLayerImporter = (c, l, x) => {
  const cf = l.config;
  if (l.cls === 'Activation' && cf.activation === 'linear') return same(x, l, []);
  if (l.cls === 'Activation' && cf.activation === 'softmax' && l.name === c.output && !c.cut) { c.droppedActivation = 'softmax'; return same(x, l, []); }
  const act = kerasActivationOf(c, l);
  if (!act) fail(l, `only ReLU (max_value none or 6, no slope or threshold) and Activation ${kerasActivationNames().join(' / ')} / linear are supported (config ${JSON.stringify({ activation: cf.activation, max_value: cf.max_value, negative_slope: cf.negative_slope, threshold: cf.threshold })})`);
  return same(x, l, [act]);
};
kerasImporters.register('ReLU', importActivation);
kerasImporters.register('Activation', importActivation);

// ------------------------------------------------------------------ ZeroPadding2D (folded into the next conv)

kerasImporters.register('ZeroPadding2D', (_c, l, x) => {
  const s = mapOf(l, x);
  const p = l.config.padding;
  let t: number, b: number, le: number, r: number;
  if (typeof p === 'number') t = b = le = r = p;
  else if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number') { [t, le] = pair(p, l, 'padding'); b = t; r = le; } else if (Array.isArray(p) && p.length === 2) {
    [t, b] = pair(p[0], l, 'padding[0]'); [le, r] = pair(p[1], l, 'padding[1]');
  } else fail(l, `padding ${describe(p)} is not supported`);
  const prev = s.pad ?? [0, 0, 0, 0];
  return { modules: [], out: { name: l.name, kind: 'map', h: s.h + t! + b!, w: s.w + le! + r!, c: s.c, pad: [prev[0] + t!, prev[1] + le!, prev[2] + b!, prev[3] + r!] } };
});

// ------------------------------------------------------------------ Conv2d ← Conv2D, DepthwiseConv2D

/** Keras kernel → OHWI: [kh, kw, c, mult] → [c·mult + m, kh, kw, 1] (depthwise) or [kh, kw, cin, cout] → [cout, kh, kw, cin]. */
function ohwi(k: Float32Array, depth: boolean, kh: number, kw: number, cin: number, oc: number): Float32Array {
  const wt = new Float32Array(k.length);
  if (depth) {
    const mult = oc / cin;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ch = 0; ch < cin; ch++) for (let m = 0; m < mult; m++) {
      wt[((ch * mult + m) * kh + i) * kw + j] = k[((i * kw + j) * cin + ch) * mult + m];
    }
  } else {
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < cin; ci++) for (let o = 0; o < oc; o++) {
      wt[((o * kh + i) * kw + j) * cin + ci] = k[((i * kw + j) * cin + ci) * oc + o];
    }
  }
  return wt;
}

const importConv: KerasLayerImporter = (c, l, x) => {
  const s = mapOf(l, x), cf = l.config;
  const depth = l.cls === 'DepthwiseConv2D';
  const [kh, kw] = pair(cf.kernel_size, l, 'kernel_size'), [sh, sw] = pair(cf.strides ?? 1, l, 'strides'), [dh, dw] = pair(cf.dilation_rate ?? 1, l, 'dilation_rate');
  if ((cf.groups ?? 1) !== 1) fail(l, 'grouped Conv2D (groups > 1) is not supported');
  const ekh = dh * (kh - 1) + 1, ekw = dw * (kw - 1) + 1;
  const pads = samePads(l, String(cf.padding ?? 'valid'), s.h, s.w, ekh, ekw, sh, sw);
  if (s.pad) for (let i = 0; i < 4; i++) pads[i] += s.pad[i];
  const inH = s.h - (s.pad ? s.pad[0] + s.pad[2] : 0), inW = s.w - (s.pad ? s.pad[1] + s.pad[3] : 0);
  const mult = depth ? Number(cf.depth_multiplier ?? 1) : 0;
  const oc = depth ? s.c * mult : Number(cf.filters);
  if (!Number.isInteger(oc) || oc < 1) fail(l, `output channels ${oc} are not a positive integer`);
  const bias = cf.use_bias !== false;
  const conv = new Conv2d(c.E, { inChannels: s.c, outChannels: oc, kernel: [kh, kw], stride: [sh, sw], padding: pads, dilation: [dh, dw], groups: depth ? s.c : 1, bias }, c.rng);
  const k = c.weight(l, depth ? 'depthwise_kernel' : 'kernel', depth ? [kh, kw, s.c, mult] : [kh, kw, s.c, oc]);
  conv.weight.write(ohwi(k, depth, kh, kw, s.c, oc));
  if (bias) conv.bias!.write(c.weight(l, 'bias', [oc]));
  const oh = Math.floor((inH + pads[0] + pads[2] - ekh) / sh) + 1, ow = Math.floor((inW + pads[1] + pads[3] - ekw) / sw) + 1;
  if (oh < 1 || ow < 1) fail(l, `output would be ${oh}×${ow} (input ${inH}×${inW}): the input is too small`);
  return { modules: [conv, ...fusedActivation(c, l)], out: { name: l.name, kind: 'map', h: oh, w: ow, c: oc, pad: null } };
};
kerasImporters.register('Conv2D', importConv);
kerasImporters.register('DepthwiseConv2D', importConv);

// ------------------------------------------------------------------ BatchNorm2d ← BatchNormalization

kerasImporters.register('BatchNormalization', (c, l, x) => {
  const cf = l.config;
  const s = x.kind === 'map' ? x.c : x.k;
  const axis = cf.axis;
  if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)) || (x.kind === 'flat' && (axis === 1 || (Array.isArray(axis) && axis[0] === 1))))) fail(l, `axis ${JSON.stringify(axis)} is not supported (channels: -1)`);
  if (x.kind === 'flat') fail(l, 'BatchNormalization of flat features is not supported');
  const bn = new BatchNorm2d(c.E, s, Math.round((1 - Number(cf.momentum ?? 0.99)) * 1e6) / 1e6, Number(cf.epsilon ?? 1e-3));
  bn.gamma.write(cf.scale === false ? new Float32Array(s).fill(1) : c.weight(l, 'gamma', [s]));
  bn.beta.write(cf.center === false ? new Float32Array(s) : c.weight(l, 'beta', [s]));
  bn.runMean.write(c.weight(l, 'moving_mean', [s]));
  bn.runVar.write(c.weight(l, 'moving_variance', [s]));
  return same(x, l, [bn]);
});

// ------------------------------------------------------------------ MaxPool2d / AvgPool2d / GlobalAvgPool ← pooling layers

const importPool: KerasLayerImporter = (c, l, x) => {
  const s = mapOf(l, x), cf = l.config;
  const [kh, kw] = pair(cf.pool_size ?? 2, l, 'pool_size'), [sh, sw] = pair(cf.strides ?? cf.pool_size ?? 2, l, 'strides');
  // Keras MobileNetV2 heads (nsfwjs) pool 7×7 over the whole 7×7 map of a 224-px input: a global average
  // pool. A 'valid' average pool at least as large as its input map is imported as one, which is exact at
  // the model's own input size and keeps it running at smaller inputs (--input-size 96: a 3×3 map)
  if (l.cls === 'AveragePooling2D' && cf.padding !== 'same' && kh >= s.h && kw >= s.w) {
    return { modules: [new GlobalAvgPool(c.E)], out: { name: l.name, kind: 'map', h: 1, w: 1, c: s.c, pad: null } };
  }
  const pads = samePads(l, String(cf.padding ?? 'valid'), s.h, s.w, kh, kw, sh, sw);
  if (pads[0] !== pads[2] || pads[1] !== pads[3]) fail(l, `'same' padding here is asymmetric [${pads}], which qwasm pools do not support`);
  const opts = { kernel: [kh, kw] as [number, number], stride: [sh, sw] as [number, number], padding: [pads[0], pads[1]] as [number, number] };
  const oh = Math.floor((s.h + 2 * pads[0] - kh) / sh) + 1, ow = Math.floor((s.w + 2 * pads[1] - kw) / sw) + 1;
  if (oh < 1 || ow < 1) fail(l, `output would be ${oh}×${ow} (input ${s.h}×${s.w})`);
  return { modules: [l.cls === 'MaxPooling2D' ? new MaxPool2d(c.E, opts) : new AvgPool2d(c.E, opts)], out: { name: l.name, kind: 'map', h: oh, w: ow, c: s.c, pad: null } };
};
kerasImporters.register('MaxPooling2D', importPool);
kerasImporters.register('AveragePooling2D', importPool);

kerasImporters.register('GlobalAveragePooling2D', (c, l, x) => {
  const s = mapOf(l, x);
  if (l.config.keepdims) fail(l, 'keepdims = true is not supported');
  return { modules: [new GlobalAvgPool(c.E)], out: { name: l.name, kind: 'flat', k: s.c } };
});

// ------------------------------------------------------------------ Flatten ← Flatten, Reshape (to [features])

kerasImporters.register('Flatten', (c, l, x) => {
  if (x.kind === 'flat') return same(x, l, []);
  // NHWC flatten: the same order in Keras and qwasm; a 1×1 map is already [n, c] after GlobalAvgPool
  const k = x.h * x.w * x.c;
  return { modules: x.h * x.w === 1 ? [] : [new Flatten(c.E)], out: { name: l.name, kind: 'flat', k } };
});

kerasImporters.register('Reshape', (c, l, x) => {
  const t = l.config.target_shape;
  const k = x.kind === 'flat' ? x.k : x.h * x.w * x.c;
  if (Array.isArray(t) && t.length === 1 && (t[0] === k || t[0] === -1)) return { modules: x.kind === 'map' && x.h * x.w > 1 ? [new Flatten(c.E)] : [], out: { name: l.name, kind: 'flat', k } };
  if (Array.isArray(t) && t.length === 3 && x.kind === 'map' && t[0] === x.h && t[1] === x.w && t[2] === x.c) return same(x, l, []);
  fail(l, `reshaping ${show(x)} to [${String(t)}] is not supported (only to [features] or a no-op)`);
});

// ------------------------------------------------------------------ Linear ← Dense

kerasImporters.register('Dense', (c, l, x) => {
  const k = x.kind === 'flat' ? x.k : x.h * x.w === 1 ? x.c : fail(l, `needs [batch, features] input, got ${show(x)} (Flatten it first)`);
  const units = Number(l.config.units);
  const bias = l.config.use_bias !== false;
  const lin = new Linear(c.E, k, units, c.rng, bias);
  lin.weight.write(c.weight(l, 'kernel', [k, units]));
  if (bias) lin.bias!.write(c.weight(l, 'bias', [units]));
  return { modules: [lin, ...fusedActivation(c, l)], out: { name: l.name, kind: 'flat', k: units } };
});

// ------------------------------------------------------------------ merges (Graph nodes: import.ts)

const importMerge: KerasLayerImporter = (_c, l) => fail(l, `merges ${l.inputs.length} input(s); it needs two or more`);
kerasImporters.register('Add', importMerge);
kerasImporters.register('Concatenate', importMerge);
