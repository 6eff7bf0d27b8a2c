// Quantisation-aware training (PyTorch vocabulary: prepareQAT, observers, fake quant, freezing) for the
// built-in layer set, TFLite int8 scheme. prepareQAT(model) compiles the module tree into a plan of
// quantisable units and returns a QATModel (a Module, so fit / evaluate / optimisers work on it unchanged):
//   - Conv2d [+ BatchNorm2d] [+ ReLU | ReLU6] → one unit: per-output-channel fake-quantised weights (BN folded
//     into them with the running σ: w·γ/σ, the conv output divided back by γ/σ before BN, as in Krishnamoorthi
//     2018 / PyTorch's ConvBn2d), then the activation, then a per-tensor fake quant of the output (ReLU fused
//     like TFLite: the output observer sees the post-ReLU tensor).
//   - Linear [+ ReLU | ReLU6] → the same without BN; a low-rank pair (LowRankLinear: P then Q, nothing
//     between) quantises the intermediate too.
//   - the model input, pooled averages, standalone activations and residual joins (after the post-ReLU) are
//     fake-quantised per tensor; max pool, flatten and dropout keep the quantisation of their input.
// Once BN is frozen (running statistics) the forward pass is exactly conv(x, Q(w·γ/σ)) + β − γμ/σ: the
// function convertToInt8 deploys on the int8 kernels.
import type { Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import * as el from '../kernels/eltwise_f32.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d, Conv2d, Sequential } from '../nn/layers.js';
import '../nn/lowrank-linear.js';
import { kindOf, type PointwiseInfo } from '../nn/registry.js';
import { childUnits, qatCompilers, type FusedActivation, type QatCompileContext, type Unit } from './qat-units.js';
import { concat } from '../autograd/ops-graph.js';
import { activationOf } from './qat-kinds.js';
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';
import {
  MinMaxObserver, PerChannelMinMaxObserver, fakeQuant, fakeQuantChannel, weightLayout, expScale, type ObserverMode, type QParams,
  type ChannelLayout, ACT_QMIN, ACT_QMAX, W_QMIN, W_QMAX,
} from './fakequant.js';
import { record } from '../autograd/record.js';

export interface QATOptions {
  /** Fake-quantise activations (default true; false = weight-only quantisation). */
  activations?: boolean;
  /** Fake-quantise weights (default true). */
  weights?: boolean;
  /** Quantise the model input (default true). */
  quantizeInput?: boolean;
  /** Activation observer: 'ema' (default), 'minmax' or 'percentile'. */
  observer?: ObserverMode;
  /** EMA constant of the activation observers (default 0.01). */
  averagingConstant?: number;
  /** Percentile observer: kept fraction in percent (default 99.99). */
  percentile?: number;
  /**
   * LSQ learned step sizes (initialised from the observers on the first training forward), trained as ln s
   * (TQT's log-domain parametrisation: with Adam a step moves s by a fraction, never through 0).
   */
  lsq?: boolean | { weights?: boolean; activations?: boolean };
}

export type { FusedActivation, Unit } from './qat-units.js';
export type { ConvUnit, LinearUnit, LowRankUnit, PoolUnit, GapUnit, ActUnit, PointwiseUnit, PassUnit, ResidualUnit } from './qat-units.js';

// ---------------------------------------------------------------------------------------------------------
// Channel ops with constant per-channel factors (BN folding inside the QAT graph).

/** y = x · v[c] over `layout` (v constant). */
function mulChannel(x: Tensor, v: Float32Array, l: ChannelLayout): Tensor {
  const e = x.engine, rt = e.rt;
  const vt = e.empty([l.c], false); vt.write(v);
  const y = e.empty(x.shape, false);
  el.mulBcast(rt, x.ptr, vt.ptr, y.ptr, l.outer, l.c, l.inner);
  return record(y, 'mul_channel', [x], () => {
    const t = e.empty(x.shape, false);
    el.mulBcast(rt, y.grad!.ptr, vt.ptr, t.ptr, l.outer, l.c, l.inner);
    el.axpy(rt, 1, t.ptr, x.ensureGrad().ptr, x.size);
  });
}

/** y = x · a[c] + b[c] over the last dim (a constant, b an optional tensor). */
function channelAffine(x: Tensor, a: Float32Array, b: Tensor | null): Tensor {
  const e = x.engine, rt = e.rt, c = a.length, outer = x.size / c;
  const y = mulChannel(x, a, { outer, c, inner: 1 });
  if (!b) return y;
  const z = e.empty(x.shape, false);
  el.addBcast(rt, y.ptr, b.ptr, z.ptr, outer, c, 1);
  return record(z, 'add_channel', [y, b], () => {
    if (y.requiresGrad) el.axpy(rt, 1, z.grad!.ptr, y.ensureGrad().ptr, y.size);
    if (b.requiresGrad) el.sumBcast(rt, z.grad!.ptr, b.ensureGrad().ptr, outer, c, 1, true);
  });
}

/** γ/√(running var + ε) per channel (never exactly 0). */
export function bnFactor(bn: BatchNorm2d): Float32Array {
  const g = bn.gamma.toArray(), v = bn.runVar.toArray(), out = new Float32Array(bn.channels);
  for (let j = 0; j < out.length; j++) {
    let f = g[j] / Math.sqrt(v[j] + bn.eps);
    if (Math.abs(f) < 1e-12) f = f < 0 ? -1e-12 : 1e-12;
    out[j] = f;
  }
  return out;
}

/**
 * Folds an eval-mode BatchNorm2d into the preceding conv: w' = w·γ/σ, b' = β + γ/σ·(b − μ) with σ = √(var + ε).
 * Returns new arrays (OHWI weights, bias[oc]); the modules are unchanged.
 */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): { weight: Float32Array; bias: Float32Array } {
  if (!(conv instanceof Conv2d)) throw new TypeError(`conv must be a Conv2d, got ${describe(conv)}`);
  if (!(bn instanceof BatchNorm2d)) throw new TypeError(`bn must be a BatchNorm2d, got ${describe(bn)}`);
  const oc = conv.spec.outChannels;
  if (bn.channels !== oc) throw new RangeError(`bn has ${bn.channels} channels, the conv has ${oc} outputs`);
  const f = bnFactor(bn), w = conv.weight.toArray(), per = w.length / oc;
  const mu = bn.runMean.toArray(), beta = bn.beta.toArray(), b0 = conv.bias ? conv.bias.toArray() : new Float32Array(oc);
  for (let o = 0; o < oc; o++) for (let i = 0; i < per; i++) w[o * per + i] *= f[o];
  const bias = new Float32Array(oc);
  for (let o = 0; o < oc; o++) bias[o] = beta[o] + f[o] * (b0[o] - mu[o]);
  return { weight: w, bias };
}

// ---------------------------------------------------------------------------------------------------------
// Quantisers.

/** Per-tensor activation fake quant with its observer (and optional LSQ step size). */
export class ActQuant {
  readonly observer: MinMaxObserver;
  /** LSQ step size ([1] trainable tensor) or null. */
  readonly lsq: Tensor | null;
  private lsqZp = 0;
  private lsqReady = false;
  constructor(readonly name: string, readonly enabled: boolean, opts: QATOptions, lsq: Tensor | null) {
    this.observer = new MinMaxObserver({ mode: opts.observer ?? 'ema', averagingConstant: opts.averagingConstant, percentile: opts.percentile });
    this.lsq = lsq;
  }

  get ready(): boolean { return this.observer.count > 0 || this.lsqReady; }

  qparams(): QParams {
    if (this.lsq && this.lsqReady) return { scale: expScale(this.lsq.data()[0]), zeroPoint: this.lsqZp };
    if (this.observer.count === 0) throw new QwasmError(`activation quantiser '${this.name}' has no statistics yet: run the QAT model in training mode or calibrate it first`);
    return this.observer.qparams();
  }

  apply(x: Tensor, update: boolean): Tensor {
    if (!this.enabled) return x;
    if (update && !(this.lsq && this.lsqReady)) this.observer.observe(x);
    if (this.lsq && !this.lsqReady && this.observer.count > 0 && update) {
      const qp = this.observer.qparams();
      this.lsq.data()[0] = Math.log(qp.scale); this.lsqZp = qp.zeroPoint; this.lsqReady = true;
    }
    const qp = this.qparams();
    return fakeQuant(x, qp, ACT_QMIN, ACT_QMAX, this.lsq && this.lsqReady ? this.lsq : null, true);
  }

  /** Takes over another quantiser's grid (observer statistics, LSQ step size and zero point). */
  copyFrom(src: ActQuant): void {
    if (src.enabled !== this.enabled || !!src.lsq !== !!this.lsq) throw new QwasmError(`activation quantiser '${this.name}': cannot copy '${src.name}' (enabled / LSQ differ)`);
    this.observer.copyFrom(src.observer);
    if (this.lsq && src.lsq) this.lsq.write(src.lsq.toArray());
    this.lsqZp = src.lsqZp;
    this.lsqReady = src.lsqReady;
  }
}

/** Per-output-channel symmetric weight fake quant (and optional LSQ step sizes). */
export class WeightQuant {
  readonly observer: PerChannelMinMaxObserver;
  readonly lsq: Tensor | null;
  private lsqReady = false;
  constructor(readonly name: string, readonly channels: number, readonly enabled: boolean, lsq: Tensor | null) {
    this.observer = new PerChannelMinMaxObserver(channels);
    this.lsq = lsq;
  }

  get ready(): boolean { return this.observer.count > 0 || this.lsqReady; }

  scales(): Float32Array {
    if (this.lsq && this.lsqReady) return Float32Array.from(this.lsq.toArray(), expScale);
    return this.observer.scales();
  }

  apply(w: Tensor, update: boolean): Tensor {
    if (!this.enabled) return w;
    const l = weightLayout(w);
    if ((update || this.observer.count === 0) && !(this.lsq && this.lsqReady)) this.observer.observe(w, l);
    if (this.lsq && !this.lsqReady && update) { this.lsq.write(Float32Array.from(this.observer.scales(), Math.log)); this.lsqReady = true; }
    return this.lsq && this.lsqReady ? fakeQuantChannel(w, null, l, W_QMIN, W_QMAX, this.lsq, true) : fakeQuantChannel(w, this.observer.scales(), l);
  }

  /**
   * Takes over another quantiser's per-channel grid (observer min / max, LSQ step sizes); `keep` lists the
   * source channels this one holds, in order (a layer whose pruned output channels were removed).
   */
  copyFrom(src: WeightQuant, keep?: readonly number[]): void {
    const idx = keep ?? Array.from({ length: src.channels }, (_, j) => j);
    if (idx.length !== this.channels || idx.some((j) => !Number.isInteger(j) || j < 0 || j >= src.channels)) {
      throw new QwasmError(`weight quantiser '${this.name}' (${this.channels} channels): cannot take ${idx.length} of the ${src.channels} channels of '${src.name}'`);
    }
    if (src.enabled !== this.enabled || !!src.lsq !== !!this.lsq) throw new QwasmError(`weight quantiser '${this.name}': cannot copy '${src.name}' (enabled / LSQ differ)`);
    const o = src.observer;
    this.observer.min = Float32Array.from(idx, (j) => o.min[j]);
    this.observer.max = Float32Array.from(idx, (j) => o.max[j]);
    this.observer.count = o.count;
    if (this.lsq && src.lsq) { const v = src.lsq.toArray(); this.lsq.write(Float32Array.from(idx, (j) => v[j])); }
    this.lsqReady = src.lsqReady;
  }
}

/** Per-unit quantisation parameters: what a conversion (or an export) needs besides the float weights. */
export interface QuantState {
  version: 1;
  input: QParams | null;
  /** Input [height, width, channels] seen by the model (for latency measurements). */
  inputShape: [number, number, number] | null;
  units: Record<string, { weightScales?: number[]; weightScales2?: number[]; out?: QParams; mid?: QParams }>;
}

function applyAct(x: Tensor, a: FusedActivation): Tensor {
  return a === 'relu' ? ops.relu(x) : a === 'relu6' ? ops.relu6(x) : x;
}

/** The unit of an element-wise activation registered with `pointwise`: its own forward, a quantised output. */
const pointwiseUnit = (type: string, fn: PointwiseInfo) => (c: QatCompileContext): Unit =>
  ({ kind: 'pointwise', name: c.name, type, module: c.module, fn, out: c.actQuant(c.name) });

/** The model being quantised: a Module whose forward runs the compiled plan with fake quantisation. */
export class QATModel extends Module {
  readonly model: Module;
  readonly units: Unit[];
  readonly input: ActQuant;
  readonly options: QATOptions;
  observersFrozen = false;
  /** Observers also update outside training mode (static PTQ calibration). */
  calibrating = false;
  /** Called with every fake-quantised activation (name, value, qparams): per-layer comparisons. */
  trace: ((name: string, y: Tensor, qp: QParams) => void) | null = null;
  inputShape: [number, number, number] | null = null;
  private readonly actQuants: ActQuant[] = [];
  private readonly weightQuants: WeightQuant[] = [];
  private readonly lsqA: boolean;
  private readonly lsqW: boolean;

  constructor(model: Module, opts: QATOptions = {}) {
    super(model.engine);
    if (!(model instanceof Module)) throw new TypeError(`model must be a Module, got ${describe(model)}`);
    if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
    for (const k of ['activations', 'weights', 'quantizeInput'] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new TypeError(`opts.${k} must be a boolean, got ${describe(opts[k])}`);
    }
    if (opts.averagingConstant !== undefined) checkFinite('opts.averagingConstant', opts.averagingConstant);
    this.options = { ...opts };
    this.lsqA = opts.lsq === true || (typeof opts.lsq === 'object' && !!opts.lsq.activations);
    this.lsqW = opts.lsq === true || (typeof opts.lsq === 'object' && !!opts.lsq.weights);
    this.model = this.child('model', model);
    this.input = this.actQuant('input', (opts.quantizeInput ?? true) && (opts.activations ?? true));
    this.units = this.compile(model, '');
    // probe the options of the observers once (errors name the option)
    new MinMaxObserver({ mode: opts.observer ?? 'ema', averagingConstant: opts.averagingConstant, percentile: opts.percentile });
  }

  private actQuant(name: string, enabled = this.options.activations ?? true): ActQuant {
    const lsq = this.lsqA && enabled ? this.param(`quant.${name}.log_scale`, [1], new Float32Array([0]), false) : null;
    const a = new ActQuant(name, enabled, this.options, lsq);
    this.actQuants.push(a);
    return a;
  }

  private weightQuant(name: string, c: number): WeightQuant {
    const enabled = this.options.weights ?? true;
    const lsq = this.lsqW && enabled ? this.param(`quant.${name}.log_scales`, [c], new Float32Array(c), false) : null;
    const w = new WeightQuant(name, c, enabled, lsq);
    this.weightQuants.push(w);
    return w;
  }

  private compile(m: Module, name: string): Unit[] {
    if (m instanceof Sequential) return this.compileList(m.children().map(([n, k]) => [name ? `${name}.${n}` : n, k]));
    return this.compileList([[name || 'layer', m]]);
  }

  private compileList(list: [string, Module][]): Unit[] {
    const out: Unit[] = [];
    for (let i = 0; i < list.length; i++) {
      const [name, m] = list[i];
      const kind = kindOf(m);
      const compiler = kind && (qatCompilers.get(kind.type) ?? (kind.pointwise ? pointwiseUnit(kind.type, kind.pointwise) : undefined));
      if (!compiler) {
        const what = m instanceof BatchNorm2d ? 'a BatchNorm2d that does not follow a Conv2d' : `module type '${String(m.config().type)}'`;
        throw new QwasmError(`prepareQAT: cannot quantise '${name}': ${what} is not supported`);
      }
      const ctx: QatCompileContext = {
        name, module: m,
        next: () => list[i + 1]?.[1],
        take: () => { i++; },
        fuseActivation: () => { const a = activationOf(list[i + 1]?.[1]); if (a) i++; return a ?? 'none'; },
        actQuant: (n) => this.actQuant(n),
        weightQuant: (n, c) => this.weightQuant(n, c),
        compile: (k, n) => this.compile(k, n),
      };
      const u = compiler(ctx);
      if (Array.isArray(u)) out.push(...u); else out.push(u);
    }
    return out;
  }

  /** Observers update in training mode (or while calibrating) until frozen. */
  get updating(): boolean { return (this.training || this.calibrating) && !this.observersFrozen; }

  forward(x: Tensor): Tensor {
    if (x.shape.length === 4) this.inputShape = [x.shape[1], x.shape[2], x.shape[3]];
    const upd = this.updating;
    return this.run(this.units, this.q(this.input, x, upd), upd);
  }

  private q(a: ActQuant, y: Tensor, upd: boolean): Tensor {
    const out = a.apply(y, upd);
    if (this.trace && a.enabled) this.trace(a.name, out, a.qparams());
    return out;
  }

  private run(units: Unit[], x: Tensor, upd: boolean): Tensor {
    for (const u of units) x = this.exec(u, x, upd);
    return x;
  }

  private exec(u: Unit, x: Tensor, upd: boolean): Tensor {
    switch (u.kind) {
      case 'conv': {
        const { conv, bn } = u, s = conv.spec;
        const o = { stride: s.stride, padding: s.padding, dilation: s.dilation, groups: s.groups };
        let y: Tensor;
        if (bn) {
          const f = bnFactor(bn);
          const wq = u.wq.apply(mulChannel(conv.weight, f, weightLayout(conv.weight)), upd);
          y = ops.conv2d(x, wq, null, o);
          y = bn.forward(channelAffine(y, Float32Array.from(f, (v) => 1 / v), conv.bias));
        } else {
          y = ops.conv2d(x, u.wq.apply(conv.weight, upd), conv.bias, o);
        }
        return this.q(u.out, applyAct(y, u.act), upd);
      }
      case 'linear': {
        const xi = x.shape.length === 2 ? x : ops.flatten(x);
        return this.q(u.out, applyAct(ops.linear(xi, u.wq.apply(u.linear.weight, upd), u.linear.bias), u.act), upd);
      }
      case 'lowrank': {
        const xi = x.shape.length === 2 ? x : ops.flatten(x);
        const t = this.q(u.mid, ops.linear(xi, u.wqP.apply(u.p, upd), null), upd);
        return this.q(u.out, applyAct(ops.linear(t, u.wqQ.apply(u.q, upd), u.bias), u.act), upd);
      }
      case 'maxpool': return u.module.forward(x);
      case 'avgpool': return this.q(u.out!, u.module.forward(x), upd);
      case 'gap': return this.q(u.out, ops.globalAvgPool(x), upd);
      case 'act': return this.q(u.out, applyAct(x, u.act), upd);
      case 'pointwise': return this.q(u.out, u.module.forward(x), upd);
      case 'flatten': return ops.flatten(x);
      case 'dropout': return u.module.forward(x);
      case 'residual': {
        const a = this.run(u.body, x, upd);
        const b = u.shortcut ? this.run(u.shortcut, x, upd) : x;
        return this.q(u.out, applyAct(ops.add(a, b), u.act), upd);
      }
      case 'graph': {
        const vals: Tensor[] = [], at = (j: number) => (j < 0 ? x : vals[j]);
        for (const st of u.steps) {
          if (st.units) { vals.push(this.run(st.units, at(st.inputs[0]), upd)); continue; }
          const ins = st.inputs.map(at);
          vals.push(this.q(st.out!, st.merge === 'add' ? ops.add(ins[0], ins[1]) : concat(ins), upd));
        }
        return vals[vals.length - 1];
      }
    }
  }

  /** Every unit, depth first (residual bodies and shortcuts included). */
  allUnits(): Unit[] {
    const out: Unit[] = [];
    const walk = (us: Unit[]) => { for (const u of us) { out.push(u); for (const l of childUnits(u)) walk(l); } };
    walk(this.units);
    return out;
  }

  batchNorms(): BatchNorm2d[] {
    return this.allUnits().flatMap((u) => (u.kind === 'conv' && u.bn ? [u.bn] : []));
  }

  /**
   * Takes over the quantisation grid of `src`, a QATModel of the same plan (unit names and kinds) — e.g. of the
   * model before its pruned channels were removed: every observer's statistics and LSQ step size, the frozen
   * flag and the input shape. `keep(unitName)` lists, for a conv / linear whose output channels were removed,
   * the source channels it kept (undefined: all of them).
   */
  copyQuantizersFrom(src: QATModel, keep: (unitName: string) => readonly number[] | undefined = () => undefined): this {
    if (!(src instanceof QATModel)) throw new TypeError(`src must be a QATModel, got ${describe(src)}`);
    const a = this.allUnits(), b = src.allUnits();
    const plan = (us: Unit[]) => us.map((u) => `${u.kind}:${u.name}`).join(',');
    if (plan(a) !== plan(b)) throw new QwasmError(`copyQuantizersFrom: the models' plans differ (${plan(b)} → ${plan(a)})`);
    this.input.copyFrom(src.input);
    a.forEach((u, i) => {
      const s = b[i];
      if ((u.kind === 'conv' || u.kind === 'linear') && (s.kind === 'conv' || s.kind === 'linear')) u.wq.copyFrom(s.wq, keep(u.name));
      if (u.kind === 'lowrank' && s.kind === 'lowrank') { u.wqP.copyFrom(s.wqP); u.wqQ.copyFrom(s.wqQ); u.mid.copyFrom(s.mid); }
      const out = (x: Unit): ActQuant | null => ('out' in x && x.out ? x.out : null);
      const ua = out(u), sa = out(s);
      if (ua && sa) ua.copyFrom(sa);
      if (u.kind === 'graph' && s.kind === 'graph') u.steps.forEach((st, k) => { if (st.out && s.steps[k]?.out) st.out.copyFrom(s.steps[k].out!); });
    });
    this.observersFrozen = src.observersFrozen;
    this.inputShape = src.inputShape ? [...src.inputShape] : null;
    return this;
  }

  /** Stops observer updates (the quantisation grid is fixed from now on). */
  freezeObservers(frozen = true): this { this.observersFrozen = frozen; return this; }
  /** BN uses its running statistics from now on (and stops updating them). */
  freezeBatchNorm(frozen = true): this { for (const b of this.batchNorms()) b.frozen = frozen; return this; }

  /** The quantisation parameters of every unit (JSON-serialisable). */
  quantState(): QuantState {
    const units: QuantState['units'] = {};
    const qp = (a: ActQuant | null) => (a && a.enabled && a.ready ? a.qparams() : undefined);
    const ws = (w: WeightQuant) => (w.enabled && w.ready ? Array.from(w.scales()) : undefined);
    for (const u of this.allUnits()) {
      switch (u.kind) {
        case 'conv': case 'linear': units[u.name] = { weightScales: ws(u.wq), out: qp(u.out) }; break;
        case 'lowrank': units[u.name] = { weightScales: ws(u.wqP), weightScales2: ws(u.wqQ), mid: qp(u.mid), out: qp(u.out) }; break;
        case 'avgpool': case 'gap': case 'act': case 'pointwise': case 'residual': units[u.name] = { out: qp(u.out) }; break;
        case 'graph': for (const st of u.steps) if (st.out) units[st.name] = { out: qp(st.out) }; break;
        default: break;
      }
    }
    return { version: 1, input: qp(this.input) ?? null, inputShape: this.inputShape, units };
  }

  /**
   * Mean squared quantisation error of the (BN-folded) weights, mean over all weights of (W − Q(W))², as a
   * differentiable scalar (Q(W) treated as a constant): use in fit's extraLoss.
   */
  quantizationPenalty(): Tensor {
    const e = this.engine, rt = e.rt;
    const terms: { w: Tensor; f: Float32Array | null; diff: Tensor; l: ChannelLayout }[] = [];
    let total = 0, count = 0;
    for (const u of this.allUnits()) {
      const items: [Tensor, WeightQuant, Float32Array | null][] =
        u.kind === 'conv' ? [[u.conv.weight, u.wq, u.bn ? bnFactor(u.bn) : null]]
          : u.kind === 'linear' ? [[u.linear.weight, u.wq, null]]
          : u.kind === 'lowrank' ? [[u.p, u.wqP, null], [u.q, u.wqQ, null]] : [];
      for (const [w, wq, f] of items) {
        const l = weightLayout(w);
        const wf = e.empty(w.shape, false);
        if (f) { const ft = e.empty([l.c], false); ft.write(f); el.mulBcast(rt, w.ptr, ft.ptr, wf.ptr, l.outer, l.c, l.inner); }
        else el.copy(rt, w.ptr, wf.ptr, w.size);
        if (wq.observer.count === 0 && !wq.lsq) wq.observer.observe(wf, l);
        const st = e.empty([l.c], false); st.write(wq.scales());
        const fq = e.empty(w.shape, false);
        el.fakeQuantChannel(rt, wf.ptr, fq.ptr, l.outer, l.c, l.inner, st.ptr, W_QMIN, W_QMAX);
        el.sub(rt, wf.ptr, fq.ptr, wf.ptr, w.size);
        total += el.sumSquares(rt, wf.ptr, w.size);
        count += w.size;
        terms.push({ w, f, diff: wf, l });
      }
    }
    if (count === 0) throw new QwasmError('quantizationPenalty: the model has no quantised weights');
    const y = e.empty([1], false);
    y.data()[0] = total / count;
    return record(y, 'quant_penalty', terms.map((t) => t.w), () => {
      const g = 2 * y.grad!.data()[0] / count;
      for (const { w, f, diff, l } of terms) {
        if (!w.requiresGrad) continue;
        if (f) { const ft = e.empty([l.c], false); ft.write(f); el.mulBcast(rt, diff.ptr, ft.ptr, diff.ptr, l.outer, l.c, l.inner); }
        el.axpy(rt, g, diff.ptr, w.ensureGrad().ptr, w.size);
      }
    });
  }

  config() { return { type: 'QAT', model: this.model.config(), options: { ...this.options } }; }
}

/** Wraps a float model for quantisation-aware training (see the file header). The model's modules are shared. */
export function prepareQAT(model: Module, opts: QATOptions = {}): QATModel {
  return new QATModel(model, opts);
}

export interface QATScheduleOptions {
  /** Freeze the observers from this step on (default never). */
  freezeObserversAt?: number;
  /** Freeze BatchNorm (running statistics) from this step on (default never). */
  freezeBnAt?: number;
}

/** Step-driven freezing, e.g. fit(qat, train, { beforeStep: new QATSchedule(qat, {...}).beforeStep }). */
export class QATSchedule {
  readonly freezeObserversAt: number;
  readonly freezeBnAt: number;
  constructor(readonly qat: QATModel, opts: QATScheduleOptions = {}) {
    if (!(qat instanceof QATModel)) throw new TypeError(`qat must be a QATModel (from prepareQAT), got ${describe(qat)}`);
    this.freezeObserversAt = opts.freezeObserversAt === undefined ? Infinity : checkInt('freezeObserversAt', opts.freezeObserversAt, 0);
    this.freezeBnAt = opts.freezeBnAt === undefined ? Infinity : checkInt('freezeBnAt', opts.freezeBnAt, 0);
  }
  readonly beforeStep = (step: number): void => {
    if (step >= this.freezeObserversAt && !this.qat.observersFrozen) this.qat.freezeObservers();
    if (step >= this.freezeBnAt) this.qat.freezeBatchNorm();
  };
}
