// Differentiable fake quantisation on autograd tensors (TFLite int8 scheme) and the observers that choose its
// parameters:
//   - activations: per tensor, asymmetric int8 [-128, 127] with a zero point; the range always contains 0.
//   - weights: per output channel, symmetric int8 [-127, 127] (zero point 0).
// Forward and the straight-through backward run on the eltwise fakeQuant / fakeQuantChannel kernels (clipped
// STE: the gradient passes only where the rounded value lies inside the grid). With LSQ (Esser et al. 2020)
// the step size is a trainable parameter; its gradient (∂ŷ/∂s = round(x/s) − x/s inside the grid, the clamp
// bound outside, times LSQ's gradient scale 1/√(numel·qmax)) is computed here in TS over the kernel's inputs.
import type { Engine, Tensor } from '../autograd/tensor.js';
import * as el from '../kernels/eltwise_f32.js';
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';
import { record } from '../autograd/record.js';

/** Per-tensor affine quantisation parameters: real = scale · (q − zeroPoint). */
export interface QParams { scale: number; zeroPoint: number }

/** (outer, c, inner) view of a tensor for per-channel ops (see eltwise_f32). */
export interface ChannelLayout { outer: number; c: number; inner: number }

export const ACT_QMIN = -128, ACT_QMAX = 127, W_QMIN = -127, W_QMAX = 127;
const EPS_SCALE = 1e-8;

import { rne } from '../kernels/requant.js';

export { rne };

/** Asymmetric int8 parameters covering [min, max] ∪ {0} (so real 0 is exactly representable). */
export function affineQParams(min: number, max: number, qmin = ACT_QMIN, qmax = ACT_QMAX): QParams {
  checkFinite('min', min); checkFinite('max', max);
  if (min > max) throw new RangeError(`min (${min}) must not exceed max (${max})`);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  let scale = Math.fround((hi - lo) / (qmax - qmin));
  if (!(scale > EPS_SCALE)) scale = Math.fround(EPS_SCALE);
  const zp = Math.min(qmax, Math.max(qmin, qmin - rne(lo / scale)));
  return { scale, zeroPoint: zp };
}

/** Symmetric per-channel scales absmax / qmax (f32, never below 1e-8). */
export function symmetricScales(absmax: ArrayLike<number>, qmax = W_QMAX): Float32Array {
  const out = new Float32Array(absmax.length);
  for (let j = 0; j < out.length; j++) {
    const s = Math.fround(absmax[j] / qmax);
    out[j] = s > EPS_SCALE ? s : EPS_SCALE;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Autograd plumbing (same contract as src/autograd/ops.ts: backward closures accumulate into .grad).

function checkLayout(t: Tensor, l: ChannelLayout): void {
  if (!l || typeof l !== 'object') throw new TypeError(`layout must be { outer, c, inner }, got ${describe(l)}`);
  checkInt('layout.outer', l.outer, 1); checkInt('layout.c', l.c, 1); checkInt('layout.inner', l.inner, 1);
  if (l.outer * l.c * l.inner !== t.size) throw new RangeError(`layout ${l.outer}×${l.c}×${l.inner} does not match the tensor's ${t.size} elements (shape [${t.shape}])`);
}

function checkQRange(qmin: number, qmax: number): void {
  checkInt('qmin', qmin, -(1 << 24), 1 << 24); checkInt('qmax', qmax, -(1 << 24), 1 << 24);
  if (qmin >= qmax) throw new RangeError(`qmin (${qmin}) must be below qmax (${qmax})`);
}

function positiveScale(name: string, s: unknown): number {
  checkFinite(name, s);
  if (!((s as number) > 0)) throw new RangeError(`${name} must be a finite positive number, got ${s}`);
  return Math.fround(s as number);
}

/** Channel layout of a weight for per-output-channel quantisation: conv OHWI (axis 0), linear [in, out] (axis 1). */
export function weightLayout(w: Tensor): ChannelLayout {
  if (w.shape.length === 4) return { outer: 1, c: w.shape[0], inner: w.size / w.shape[0] };
  if (w.shape.length === 2) return { outer: w.shape[0], c: w.shape[1], inner: 1 };
  throw new QwasmError(`weights must be conv OHWI (rank 4) or linear [in, out] (rank 2), got shape [${w.shape}]`);
}

/**
 * Per-tensor fake quantisation y = (clamp(rne(x/s) + zp, qmin, qmax) − zp)·s with the clipped STE backward.
 * With `lsqScale` (a [1] tensor, usually a trainable parameter) the step size is read from it and receives
 * LSQ's gradient; `scale` is then ignored. `logDomain`: the tensor holds ln s (s = e^v, ∂L/∂v = s·∂L/∂s —
 * TQT's parametrisation, which keeps Adam's normalised updates relative to the step size).
 */
export function fakeQuant(x: Tensor, qp: QParams, qmin = ACT_QMIN, qmax = ACT_QMAX, lsqScale?: Tensor | null, logDomain = false): Tensor {
  checkQRange(qmin, qmax);
  if (!qp || typeof qp !== 'object') throw new TypeError(`qparams must be { scale, zeroPoint }, got ${describe(qp)}`);
  const zp = checkInt('zeroPoint', qp.zeroPoint, qmin, qmax);
  let s: number;
  if (lsqScale) {
    if (lsqScale.size !== 1) throw new RangeError(`lsqScale must have 1 element, got shape [${lsqScale.shape}]`);
    s = logDomain ? expScale(lsqScale.data()[0]) : clampScale(lsqScale, 0);
  } else s = positiveScale('scale', qp.scale);
  const e = x.engine, rt = e.rt, n = x.size;
  const y = e.empty(x.shape, false);
  el.fakeQuant(rt, x.ptr, y.ptr, n, s, zp, qmin, qmax);
  return record(y, 'fake_quant', [x, lsqScale], () => {
    const dy = y.grad!;
    if (x.requiresGrad) el.fakeQuantBackward(rt, x.ptr, dy.ptr, x.ensureGrad().ptr, n, s, zp, qmin, qmax, true);
    if (lsqScale?.requiresGrad) {
      const perSample = x.shape.length > 1 ? n / x.shape[0] : n;
      const g = lsqGrad(x.data(), dy.data(), s, qmin - zp, qmax - zp, { outer: 1, c: 1, inner: n }, lsqGradScale(perSample, qmax - zp));
      lsqScale.ensureGrad().data()[0] += logDomain ? g[0] * s : g[0];
    }
  });
}

/**
 * Per-channel symmetric fake quantisation of x over `layout` (weights: weightLayout(w)) with scales f32[c]
 * (array, or with `lsqScales` a [c] tensor whose values are used and which receives LSQ's gradient).
 */
export function fakeQuantChannel(x: Tensor, scales: Float32Array | null, layout: ChannelLayout = weightLayout(x),
                                 qmin = W_QMIN, qmax = W_QMAX, lsqScales?: Tensor | null, logDomain = false): Tensor {
  checkLayout(x, layout);
  checkQRange(qmin, qmax);
  const e = x.engine, rt = e.rt, { outer, c, inner } = layout;
  let sT: Tensor;
  if (lsqScales) {
    if (lsqScales.size !== c) throw new RangeError(`lsqScales must have ${c} elements (one per channel), got ${lsqScales.size}`);
    if (logDomain) { sT = e.empty([c], false); sT.write(Float32Array.from(lsqScales.data(), expScale)); }
    else { for (let j = 0; j < c; j++) clampScale(lsqScales, j); sT = lsqScales; }
  } else {
    if (!(scales instanceof Float32Array)) throw new TypeError(`scales must be a Float32Array, got ${describe(scales)}`);
    if (scales.length !== c) throw new RangeError(`scales must have ${c} entries (one per channel), got ${scales.length}`);
    sT = e.empty([c], false);
    sT.write(scales);
  }
  const y = e.empty(x.shape, false);
  el.fakeQuantChannel(rt, x.ptr, y.ptr, outer, c, inner, sT.ptr, qmin, qmax);
  return record(y, 'fake_quant_channel', [x, lsqScales], () => {
    const dy = y.grad!;
    if (x.requiresGrad) el.fakeQuantChannelBackward(rt, x.ptr, dy.ptr, x.ensureGrad().ptr, outer, c, inner, sT.ptr, qmin, qmax, true);
    if (lsqScales?.requiresGrad) {
      const s = sT.toArray();
      const g = lsqGrad(x.data(), dy.data(), s, qmin, qmax, layout, lsqGradScale(outer * inner, qmax));
      const gd = lsqScales.ensureGrad().data();
      for (let j = 0; j < c; j++) gd[j] += logDomain ? g[j] * s[j] : g[j];
    }
  });
}

/** e^v as an f32 step size (never below 1e-8). */
export function expScale(v: number): number {
  const s = Math.fround(Math.exp(v));
  return s > EPS_SCALE && Number.isFinite(s) ? s : Math.fround(Number.isFinite(s) ? EPS_SCALE : 3.4e38);
}

function clampScale(t: Tensor, j: number): number {
  const d = t.data();
  let s = Math.fround(d[j]);
  if (!(s > EPS_SCALE) || !Number.isFinite(s)) { s = Math.fround(EPS_SCALE); d[j] = s; }
  return s;
}

/** LSQ's gradient scale g = 1/√(numel · qmax). */
export function lsqGradScale(numel: number, qmax: number): number { return 1 / Math.sqrt(numel * Math.max(1, qmax)); }

/**
 * ∂L/∂s per channel for y = clamp(rne(x/s), lo, hi)·s: Σ dy·(rne(x/s) − x/s) inside, dy·lo / dy·hi outside,
 * times gradScale. `scale` is one number or f32[c]; lo/hi are the grid bounds relative to the zero point.
 */
export function lsqGrad(x: Float32Array, dy: Float32Array, scale: number | Float32Array, lo: number, hi: number,
                        layout: ChannelLayout, gradScale: number): Float64Array {
  const { outer, c, inner } = layout;
  const g = new Float64Array(c);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < c; j++) {
      const s = typeof scale === 'number' ? scale : scale[j];
      const base = (o * c + j) * inner;
      let acc = 0;
      for (let i = 0; i < inner; i++) {
        const v = Math.fround(x[base + i] / s);
        const t = rne(v);
        acc += dy[base + i] * (t < lo ? lo : t > hi ? hi : t - v);
      }
      g[j] += acc;
    }
  }
  for (let j = 0; j < c; j++) g[j] *= gradScale;
  return g;
}

// ---------------------------------------------------------------------------------------------------------
// Observers.

export type ObserverMode = 'ema' | 'minmax' | 'percentile';
/** The percentile observer's kept fraction (in percent) when none is given. */
export const DEFAULT_PERCENTILE = 99.99;

export interface ObserverOptions {
  /** 'ema' (moving average, QAT's default), 'minmax' (running min / max: PTQ) or 'percentile' (histogram). */
  mode?: ObserverMode;
  /** EMA constant c: min ← (1 − c)·min + c·batchMin (first batch sets it). Default 0.01. */
  averagingConstant?: number;
  /** 'percentile': the kept fraction in percent, e.g. 99.99 (clips the top and bottom (100 − p) %). */
  percentile?: number;
}

const HIST_BINS = 4096;

/** Per-tensor activation observer (asymmetric int8). Statistics come from the minmax kernel. */
export class MinMaxObserver {
  readonly mode: ObserverMode;
  readonly averagingConstant: number;
  readonly percentile: number;
  min = Infinity;
  max = -Infinity;
  count = 0;
  private hist: Float64Array | null = null;
  private range = 0;

  constructor(opts: ObserverOptions = {}) {
    if (!opts || typeof opts !== 'object') throw new TypeError(`observer options must be an object, got ${describe(opts)}`);
    const mode = opts.mode ?? 'ema';
    if (mode !== 'ema' && mode !== 'minmax' && mode !== 'percentile') throw new TypeError(`mode must be 'ema', 'minmax' or 'percentile', got ${describe(mode)}`);
    this.mode = mode;
    this.averagingConstant = checkFinite('averagingConstant', opts.averagingConstant ?? 0.01);
    if (!(this.averagingConstant > 0 && this.averagingConstant <= 1)) throw new RangeError(`averagingConstant must be in (0, 1], got ${this.averagingConstant}`);
    this.percentile = checkFinite('percentile', opts.percentile ?? DEFAULT_PERCENTILE);
    if (!(this.percentile > 50 && this.percentile <= 100)) throw new RangeError(`percentile must be in (50, 100], got ${this.percentile}`);
  }

  /** Records the statistics of a tensor (min / max on the kernel; percentile also fills a histogram). */
  observe(x: Tensor): void {
    const rt = x.rt;
    const out = rt.alloc(8);
    let lo: number, hi: number;
    try {
      el.minmax(rt, x.ptr, x.size, out, false);
      const mm = rt.f32(out, 2);
      lo = mm[0]; hi = mm[1];
    } finally { rt.free(out); }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new QwasmError(`observer saw a non-finite activation (min ${lo}, max ${hi})`);
    if (this.mode === 'ema' && this.count > 0) {
      const c = this.averagingConstant;
      this.min += c * (lo - this.min);
      this.max += c * (hi - this.max);
    } else {
      this.min = Math.min(this.min, lo);
      this.max = Math.max(this.max, hi);
    }
    if (this.mode === 'percentile') this.addHistogram(x.data(), Math.max(Math.abs(lo), Math.abs(hi)));
    this.count++;
  }

  /** Symmetric histogram over [−range, range]; the range doubles (merging bin pairs) when a value exceeds it. */
  private addHistogram(v: Float32Array, absmax: number): void {
    if (!this.hist) { this.hist = new Float64Array(HIST_BINS); this.range = absmax > 0 ? absmax : 1e-6; }
    const h = this.hist;
    while (absmax > this.range) {
      const old = h.slice();
      h.fill(0);
      for (let i = 0; i < HIST_BINS; i++) h[(HIST_BINS >> 2) + (i >> 1)] += old[i];
      this.range *= 2;
    }
    const k = HIST_BINS / (2 * this.range), half = HIST_BINS >> 1;
    for (let i = 0; i < v.length; i++) {
      let b = Math.floor(v[i] * k) + half;
      if (b >= HIST_BINS) b = HIST_BINS - 1; else if (b < 0) b = 0;
      h[b]++;
    }
  }

  /** The [min, max] range quantisation uses (percentile mode: the clipped range). */
  get bounds(): [number, number] {
    if (this.count === 0) throw new QwasmError('observer has no statistics yet: run the model in training mode or calibrate it first');
    if (this.mode !== 'percentile' || !this.hist) return [this.min, this.max];
    const h = this.hist, total = h.reduce((a, b) => a + b, 0), tail = total * (1 - this.percentile / 100);
    const width = 2 * this.range / HIST_BINS;
    let acc = 0, lo = this.min, hi = this.max;
    for (let i = 0; i < HIST_BINS; i++) { acc += h[i]; if (acc > tail) { lo = -this.range + i * width; break; } }
    acc = 0;
    for (let i = HIST_BINS - 1; i >= 0; i--) { acc += h[i]; if (acc > tail) { hi = -this.range + (i + 1) * width; break; } }
    return [Math.max(this.min, lo), Math.min(this.max, hi)];
  }

  qparams(): QParams {
    const [lo, hi] = this.bounds;
    return affineQParams(lo, Math.max(lo, hi));
  }

  reset(): void { this.min = Infinity; this.max = -Infinity; this.count = 0; this.hist = null; this.range = 0; }

  /** Takes over another observer's statistics (same mode): the same qparams() from now on. */
  copyFrom(o: MinMaxObserver): this {
    if (!(o instanceof MinMaxObserver)) throw new TypeError(`observer must be a MinMaxObserver, got ${describe(o)}`);
    if (o.mode !== this.mode || o.percentile !== this.percentile) throw new QwasmError(`cannot copy a '${o.mode}' observer (percentile ${o.percentile}) into a '${this.mode}' one (percentile ${this.percentile})`);
    this.min = o.min; this.max = o.max; this.count = o.count;
    this.hist = o.hist ? o.hist.slice() : null; this.range = o.range;
    return this;
  }
}

/** Per-channel weight observer (symmetric int8 [-127, 127]): min / max per output channel on the kernel. */
export class PerChannelMinMaxObserver {
  min: Float32Array;
  max: Float32Array;
  count = 0;
  constructor(readonly channels: number, readonly averagingConstant = 1) {
    checkInt('channels', channels, 1);
    checkFinite('averagingConstant', averagingConstant);
    if (!(averagingConstant > 0 && averagingConstant <= 1)) throw new RangeError(`averagingConstant must be in (0, 1], got ${averagingConstant}`);
    this.min = new Float32Array(channels).fill(Infinity);
    this.max = new Float32Array(channels).fill(-Infinity);
  }

  observe(w: Tensor, layout: ChannelLayout = weightLayout(w)): void {
    checkLayout(w, layout);
    if (layout.c !== this.channels) throw new RangeError(`observer has ${this.channels} channels, the layout has ${layout.c}`);
    const rt = w.rt, c = this.channels;
    const lo = rt.alloc(c * 4), hi = rt.alloc(c * 4);
    try {
      el.minmaxChannel(rt, w.ptr, layout.outer, c, layout.inner, lo, hi, false);
      this.merge(rt.f32(lo, c), rt.f32(hi, c));
    } finally { rt.free(lo); rt.free(hi); }
  }

  /** Same as observe() for a JS array (e.g. folded weights computed on the host). */
  observeArray(w: Float32Array, layout: ChannelLayout): void {
    const { outer, c, inner } = layout;
    if (c !== this.channels || outer * c * inner !== w.length) throw new RangeError(`layout ${outer}×${c}×${inner} does not match ${w.length} weights / ${this.channels} channels`);
    const lo = new Float32Array(c).fill(Infinity), hi = new Float32Array(c).fill(-Infinity);
    for (let o = 0; o < outer; o++) for (let j = 0; j < c; j++) {
      const base = (o * c + j) * inner;
      for (let i = 0; i < inner; i++) { const v = w[base + i]; if (v < lo[j]) lo[j] = v; if (v > hi[j]) hi[j] = v; }
    }
    this.merge(lo, hi);
  }

  private merge(lo: Float32Array, hi: Float32Array): void {
    const a = this.count > 0 ? this.averagingConstant : 1;
    for (let j = 0; j < this.channels; j++) {
      if (!Number.isFinite(lo[j]) || !Number.isFinite(hi[j])) throw new QwasmError(`observer saw a non-finite weight in channel ${j}`);
      this.min[j] = a === 1 ? lo[j] : this.min[j] + a * (lo[j] - this.min[j]);
      this.max[j] = a === 1 ? hi[j] : this.max[j] + a * (hi[j] - this.max[j]);
    }
    this.count++;
  }

  /** Symmetric scales max(|min|, |max|)/127 per channel. */
  scales(): Float32Array {
    if (this.count === 0) throw new QwasmError('weight observer has no statistics yet');
    const a = new Float32Array(this.channels);
    for (let j = 0; j < this.channels; j++) a[j] = Math.max(Math.abs(this.min[j]), Math.abs(this.max[j]));
    return symmetricScales(a);
  }

  reset(): void { this.min.fill(Infinity); this.max.fill(-Infinity); this.count = 0; }
}

/** Quantises f32 values to int8 codes with (scale, zeroPoint): clamp(rne(x/s) + zp) (the kernels' rule). */
export function quantizeArray(x: ArrayLike<number>, qp: QParams, out = new Int8Array(x.length), qmin = ACT_QMIN, qmax = ACT_QMAX): Int8Array {
  const s = Math.fround(qp.scale), zp = qp.zeroPoint, lo = qmin - zp, hi = qmax - zp;
  for (let i = 0; i < x.length; i++) {
    let t = rne(Math.fround(x[i] / s));
    t = t < lo ? lo : t > hi ? hi : t;
    out[i] = t + zp;
  }
  return out;
}

/** real = scale · (q − zp). */
export function dequantizeArray(q: ArrayLike<number>, qp: QParams, out = new Float32Array(q.length)): Float32Array {
  for (let i = 0; i < q.length; i++) out[i] = qp.scale * (q[i] - qp.zeroPoint);
  return out;
}

/** Per-channel symmetric int8 weights (layout as in weightLayout): clamp(rne(w/s[c]), −127, 127). */
export function quantizeChannels(w: Float32Array, scales: Float32Array, layout: ChannelLayout): Int8Array {
  const { outer, c, inner } = layout;
  if (outer * c * inner !== w.length || scales.length !== c) throw new RangeError(`layout ${outer}×${c}×${inner} / ${scales.length} scales do not match ${w.length} weights`);
  const q = new Int8Array(w.length);
  for (let o = 0; o < outer; o++) for (let j = 0; j < c; j++) {
    const s = Math.fround(scales[j]), base = (o * c + j) * inner;
    for (let i = 0; i < inner; i++) {
      const t = rne(Math.fround(w[base + i] / s));
      q[base + i] = t < W_QMIN ? W_QMIN : t > W_QMAX ? W_QMAX : t;
    }
  }
  return q;
}

/** Engine-level helper: a zeroed persistent [n] parameter initialised with `values`. */
export function scaleParam(engine: Engine, values: Float32Array): Tensor {
  const t = engine.persistent([values.length], values, true);
  t.op = 'lsq_scale';
  return t;
}
