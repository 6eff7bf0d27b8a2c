// Magnitude pruning of Linear / Conv2d weights, held through fine-tuning.
//
// Modes (every weight is seen as a K×N matrix: K = fan-in (Linear: in; Conv2d OHWI: kh·kw·cin), N = output
// channels; Linear [in, out] *is* that matrix row-major, a conv's OHWI storage is its transpose):
//   'unstructured' — the smallest |w| (exactly round(s·size) weights per layer, or across layers for 'global').
//   'nm'           — N:M ("keep:group", default 2:4): in every `group` consecutive k of each output channel keep
//                    the `keep` largest |w|. Sparsity is fixed at 1 − keep/group.
//   'block'        — aligned bk×bn blocks of the K×N matrix (default 1×8, the layouts the sparse kernels take),
//                    scored by mean |w|.
//   'channel'      — whole output channels (scored by RMS of the channel's weights). The channel's bias, the
//                    BatchNorm2d right after it (γ, β) and a depthwise conv (+ its BN) in between are masked too, so
//                    the channel's output is exactly 0 and removePrunedChannels() can delete it (a smaller model).
// scope 'layer' (default) gives every layer the target sparsity; 'global' ranks all layers' units together.
//
// Schedules: one-shot (sparsity given, no schedule: pruned in the constructor), or gradual with TF-MOT's
// PolynomialDecay / ConstantSparsity (same formulas, same "prune at beginStep + i·frequency within
// [beginStep, endStep]" rule; the Pruner also updates at endStep so finalSparsity is always reached).
//
// The Pruner owns u8 masks in WASM memory (1 = kept, one byte per element of the masked tensor, in that
// tensor's layout). It registers them with an Optimizer (opt.setMask: the update kernels keep masked weights at
// 0) and applies them (eltwise mulMask) from fit's beforeStep (schedule updates) / afterStep hooks.
//
// For the int8 converter: prunedWeights(model) → Map<Tensor, PrunedWeight> gives, per pruned weight, the mask
// in the tensor's layout and as the K×N matrix the sparse kernels take (SparseMatrixS8 {mask, format, nm,
// block}); weights never seen by a Pruner (a reloaded checkpoint) are inferred from their exact zeros.
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import {
  AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU, ReLU6, Residual, Sequential,
} from '../nn/layers.js';
import { InitRng } from '../util/rng.js';
import { Optimizer } from '../optim/optimizer.js';
import type { FitOptions } from '../train/trainer.js';
import { mulMask } from '../kernels/eltwise_f32.js';
import { nmMask } from '../kernels/sparse.js';
import { checkFinite, checkInt, describe, QwasmError } from '../errors.js';
import { rebuild } from '../nn/copy.js';

export type PruneMode = 'unstructured' | 'nm' | 'block' | 'channel';
export type PruneScope = 'layer' | 'global';

// ------------------------------------------------------------------ schedules (TF-MOT)

export interface PolynomialDecaySpec {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  /** Prune every `frequency` steps (default 100). */
  frequency?: number;
  /** Default 3. */
  power?: number;
}

export interface PruningSchedule {
  /** Target sparsity at `step`. */
  sparsity(step: number): number;
  /** Whether masks are recomputed at `step` (TF-MOT's _should_prune_in_step). */
  shouldPrune(step: number): boolean;
  readonly beginStep: number;
  /** -1: no end. */
  readonly endStep: number;
}

function checkSparsity(name: string, v: unknown, allowOne = false): number {
  checkFinite(name, v);
  const x = v as number;
  if (x < 0 || (allowOne ? x > 1 : x >= 1)) throw new RangeError(`${name} must be in [0, 1${allowOne ? ']' : ')'}, got ${x}`);
  return x;
}

function inRange(step: number, begin: number, end: number, freq: number): boolean {
  return step >= begin && (end === -1 || step <= end) && (step - begin) % freq === 0;
}

/** s(step) = final + (initial − final)·(1 − p)^power, p = clamp((step − begin) / (end − begin), 0, 1). */
export class PolynomialDecay implements PruningSchedule {
  readonly initialSparsity: number; readonly finalSparsity: number;
  readonly beginStep: number; readonly endStep: number; readonly frequency: number; readonly power: number;
  constructor(spec: PolynomialDecaySpec) {
    if (spec === null || typeof spec !== 'object') throw new TypeError(`schedule must be an object, got ${describe(spec)}`);
    this.initialSparsity = checkSparsity('initialSparsity', spec.initialSparsity);
    this.finalSparsity = checkSparsity('finalSparsity', spec.finalSparsity);
    this.beginStep = checkInt('beginStep', spec.beginStep ?? 0, 0);
    this.endStep = checkInt('endStep', spec.endStep, 0);
    if (this.endStep <= this.beginStep) throw new RangeError(`endStep (${this.endStep}) must be greater than beginStep (${this.beginStep})`);
    this.frequency = checkInt('frequency', spec.frequency ?? 100, 1);
    this.power = checkFinite('power', spec.power ?? 3);
  }
  sparsity(step: number): number {
    const p = Math.min(1, Math.max(0, (step - this.beginStep) / (this.endStep - this.beginStep)));
    return this.finalSparsity + (this.initialSparsity - this.finalSparsity) * Math.pow(1 - p, this.power);
  }
  shouldPrune(step: number): boolean { return inRange(step, this.beginStep, this.endStep, this.frequency); }
}

/** Constant target sparsity from beginStep (TF-MOT ConstantSparsity). */
export class ConstantSparsity implements PruningSchedule {
  readonly targetSparsity: number; readonly beginStep: number; readonly endStep: number; readonly frequency: number;
  constructor(spec: { targetSparsity: number; beginStep?: number; endStep?: number; frequency?: number }) {
    if (spec === null || typeof spec !== 'object') throw new TypeError(`schedule must be an object, got ${describe(spec)}`);
    this.targetSparsity = checkSparsity('targetSparsity', spec.targetSparsity);
    this.beginStep = checkInt('beginStep', spec.beginStep ?? 0, 0);
    this.endStep = checkInt('endStep', spec.endStep ?? -1, -1);
    if (this.endStep !== -1 && this.endStep < this.beginStep) throw new RangeError(`endStep (${this.endStep}) must be -1 or ≥ beginStep (${this.beginStep})`);
    this.frequency = checkInt('frequency', spec.frequency ?? 100, 1);
  }
  sparsity(): number { return this.targetSparsity; }
  shouldPrune(step: number): boolean { return inRange(step, this.beginStep, this.endStep, this.frequency); }
}

// ------------------------------------------------------------------ options and reports

export interface PruneOptions {
  /** Default 'unstructured'. */
  mode?: PruneMode;
  /** Default 'layer'. */
  scope?: PruneScope;
  /** One-shot target sparsity (pruned in the constructor). Not for 'nm' (fixed by nm). */
  sparsity?: number;
  /** Gradual pruning: a PolynomialDecaySpec, or a schedule object (PolynomialDecay, ConstantSparsity). */
  schedule?: PolynomialDecaySpec | PruningSchedule;
  /** [keep, group] for 'nm'; default [2, 4]. */
  nm?: [number, number];
  /** [bk, bn] blocks of the K×N matrix for 'block'; default [1, 8]. */
  block?: [number, number];
  /** Layers to prune (names as in model.modules()). Default: every Linear and Conv2d ('channel': every one whose
   *  outputs feed another conv / linear in the same Sequential chain). */
  layers?: string[];
  /** Layers to leave dense. */
  exclude?: string[];
  /** 'channel' mode: how a channel is scored, RMS of its weights (default) or their L1 norm (filter pruning,
   *  Li et al. 2017: what selects the kept channels of a narrowed pretrained student). */
  channelScore?: 'rms' | 'l1';
  /** 'channel' mode, scope 'layer': each layer keeps a multiple of this many channels (the nearest to the target,
   *  at least one multiple, at most all), e.g. 16 = the int8 kernels' SIMD width, whose channel tails run a
   *  slower path (a 29-channel int8 depthwise conv costs ~2.5× a 32-channel one per MAC). Default 1. */
  channelMultiple?: number;
}

export interface LayerSparsity {
  /** module name */
  name: string;
  /** parameter name (`${name}.weight`) */
  param: string;
  size: number;
  /** masked-out weights */
  pruned: number;
  sparsity: number;
}

export interface SparsityReport { global: number; size: number; pruned: number; layers: LayerSparsity[] }

export type PrunedFormat = 'csr' | 'nm' | 'block' | 'channel';

export interface PrunedWeight {
  /** parameter name */
  name: string;
  /** u8 per element in the tensor's own layout (Linear [in, out], Conv2d OHWI), 1 = kept */
  mask: Uint8Array;
  /** the mask as the K×N row-major matrix the sparse kernels take (K = fan-in, N = output channels) */
  kn: Uint8Array;
  k: number;
  n: number;
  layout: 'linear' | 'ohwi';
  /** sparse kernel format (SparseMatrixS8 opts.format); 'channel' = whole output channels (use removePrunedChannels) */
  format: PrunedFormat;
  nm?: [number, number];
  block?: [number, number];
  sparsity: number;
  source: 'pruner' | 'zeros';
}

// ------------------------------------------------------------------ layer views

interface Masked { tensor: Tensor; ptr: number }

interface Target {
  name: string;
  module: Linear | Conv2d;
  weight: Tensor;
  k: number; n: number;
  layout: 'linear' | 'ohwi';
  maskPtr: number;
  /** channel mode: (tensor, per-channel element stride info) also masked with the channel */
  extra: { tensor: Tensor; ptr: number; per: number }[];
}

const knIndex = (t: { k: number; n: number; layout: 'linear' | 'ohwi' }, kk: number, j: number) => (t.layout === 'linear' ? kk * t.n + j : j * t.k + kk);

function kn(module: Linear | Conv2d): { k: number; n: number; layout: 'linear' | 'ohwi' } {
  if (module instanceof Linear) return { k: module.inFeatures, n: module.outFeatures, layout: 'linear' };
  const [oc] = module.weight.shape;
  return { k: module.weight.size / oc, n: oc, layout: 'ohwi' };
}

const isDepthwise = (m: Module): m is Conv2d => m instanceof Conv2d && (m.spec.groups ?? 1) > 1 && m.spec.groups === m.spec.inChannels && m.spec.inChannels === m.spec.outChannels;
const passThrough = (m: Module) => m instanceof ReLU || m instanceof ReLU6 || m instanceof MaxPool2d || m instanceof AvgPool2d
  || m instanceof Dropout || m instanceof Flatten || m instanceof GlobalAvgPool;

interface Chain {
  producer: Linear | Conv2d; name: string;
  /** modules whose channel j goes with the producer's (BN, depthwise conv) */
  followers: Module[];
  consumer: Linear | Conv2d; consumerName: string;
}

/** Channel chains: producer → (pass-through | BN | depthwise)* → consumer, inside one Sequential (nested ones too). */
function channelChains(model: Module): { chains: Map<Module, Chain>; why: Map<Module, string> } {
  const chains = new Map<Module, Chain>(), why = new Map<Module, string>();
  const visit = (m: Module, name: string) => {
    const join = (n: string) => (name ? `${name}.${n}` : n);
    if (m instanceof Sequential) {
      const kids = m.children();
      kids.forEach(([n, k], i) => {
        if ((k instanceof Linear || (k instanceof Conv2d && (k.spec.groups ?? 1) === 1))) {
          const followers: Module[] = [];
          let j = i + 1;
          for (; j < kids.length; j++) {
            const f = kids[j][1];
            if (f instanceof BatchNorm2d || isDepthwise(f)) followers.push(f);
            else if (passThrough(f)) continue;
            else break;
          }
          const next = j < kids.length ? kids[j][1] : null;
          if (next && (next instanceof Linear || (next instanceof Conv2d && (next.spec.groups ?? 1) === 1))) {
            chains.set(k, { producer: k, name: join(n), followers, consumer: next, consumerName: join(kids[j][0]) });
          } else {
            why.set(k, next ? `its output feeds a ${String(next.config().type)} (only Linear / groups-1 Conv2d consumers, through activations, pools, BatchNorm2d, depthwise convs, flatten)`
              : `its output leaves its Sequential (the model output, or a residual join)`);
          }
        }
        visit(k, join(n));
      });
    } else if (m instanceof Residual) {
      visit(m.body, join('body'));
      if (m.shortcut) visit(m.shortcut, join('shortcut'));
    } else {
      for (const [n, k] of m.children()) visit(k, join(n));
    }
  };
  visit(model, '');
  return { chains, why };
}

// ------------------------------------------------------------------ the pruner

const registry = new WeakMap<Tensor, () => PrunedWeight>();

export class Pruner {
  readonly mode: PruneMode;
  readonly scope: PruneScope;
  readonly schedule: PruningSchedule | null;
  readonly nm: [number, number];
  readonly block: [number, number];
  readonly channelScore: 'rms' | 'l1';
  readonly channelMultiple: number;
  /** Training steps seen through the hooks (the schedule's step; continues across fit calls). */
  step = 0;
  /** Sparsity of the last mask update. */
  current = 0;
  private readonly targets: Target[] = [];
  private readonly optimizers = new Set<Optimizer>();
  private disposed = false;

  constructor(readonly model: Module, opts: PruneOptions = {}) {
    if (!model || typeof (model as Module).modules !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
    const mode = opts.mode ?? 'unstructured';
    if (!['unstructured', 'nm', 'block', 'channel'].includes(mode)) throw new TypeError(`mode must be 'unstructured', 'nm', 'block' or 'channel', got ${describe(mode)}`);
    const scope = opts.scope ?? 'layer';
    if (scope !== 'layer' && scope !== 'global') throw new TypeError(`scope must be 'layer' or 'global', got ${describe(scope)}`);
    this.mode = mode; this.scope = scope;
    const cs = opts.channelScore ?? 'rms';
    if (cs !== 'rms' && cs !== 'l1') throw new TypeError(`channelScore must be 'rms' or 'l1', got ${describe(cs)}`);
    this.channelScore = cs;
    this.channelMultiple = checkInt('channelMultiple', opts.channelMultiple ?? 1, 1, 1 << 16);
    if (this.channelMultiple > 1 && (mode !== 'channel' || scope !== 'layer')) throw new QwasmError(`channelMultiple needs mode 'channel' and scope 'layer', got '${mode}' / '${scope}'`);
    const nm = opts.nm ?? [2, 4];
    if (!Array.isArray(nm) || nm.length !== 2) throw new TypeError(`nm must be [keep, group], got ${describe(nm)}`);
    checkInt('nm[1] (group)', nm[1], 2, 16);
    checkInt('nm[0] (keep)', nm[0], 1, nm[1] - 1);
    this.nm = [nm[0], nm[1]];
    const block = opts.block ?? [1, 8];
    if (!Array.isArray(block) || block.length !== 2) throw new TypeError(`block must be [bk, bn], got ${describe(block)}`);
    this.block = [checkInt('block[0] (bk)', block[0], 1, 1 << 16), checkInt('block[1] (bn)', block[1], 1, 1 << 16)];
    if (mode === 'nm' && opts.sparsity !== undefined) throw new QwasmError(`sparsity cannot be set in 'nm' mode: it is 1 − keep/group = ${1 - nm[0] / nm[1]} (set nm instead)`);
    if (opts.sparsity !== undefined) checkSparsity('sparsity', opts.sparsity);
    if (opts.schedule !== undefined && opts.sparsity !== undefined) throw new QwasmError('give either sparsity (one-shot) or schedule (gradual), not both');
    if (opts.schedule === undefined && opts.sparsity === undefined && mode !== 'nm') throw new QwasmError('give sparsity (one-shot) or schedule (gradual pruning)');
    const sch = opts.schedule;
    this.schedule = sch === undefined ? null
      : typeof (sch as PruningSchedule).sparsity === 'function' ? sch as PruningSchedule : new PolynomialDecay(sch as PolynomialDecaySpec);

    // layers
    const all = new Map(model.modules());
    const { chains, why } = mode === 'channel' ? channelChains(model) : { chains: new Map<Module, Chain>(), why: new Map<Module, string>() };
    const names: string[] = [];
    const exclude = new Set(opts.exclude ?? []);
    if (opts.exclude !== undefined && !Array.isArray(opts.exclude)) throw new TypeError(`exclude must be an array of layer names, got ${describe(opts.exclude)}`);
    for (const n of exclude) if (!all.has(n)) throw new RangeError(`exclude: no layer named '${n}'`);
    if (opts.layers !== undefined) {
      if (!Array.isArray(opts.layers)) throw new TypeError(`layers must be an array of layer names, got ${describe(opts.layers)}`);
      for (const n of opts.layers) {
        const m = all.get(n);
        if (!m || n === '') throw new RangeError(`layers: no layer named '${n}' (names: ${[...all.keys()].filter((k) => k).slice(0, 24).join(', ')})`);
        if (!(m instanceof Linear) && !(m instanceof Conv2d)) throw new TypeError(`layers: '${n}' is a ${String(m.config().type)}, not a Linear or Conv2d`);
        if (mode === 'channel' && !chains.has(m)) throw new QwasmError(`layers: cannot channel-prune '${n}': ${why.get(m) ?? 'grouped convs are not supported'}`);
        if (!exclude.has(n)) names.push(n);
      }
    } else {
      for (const [n, m] of all) {
        if (exclude.has(n)) continue;
        if (mode === 'channel' ? chains.has(m) : m instanceof Linear || m instanceof Conv2d) names.push(n);
      }
    }
    if (names.length === 0) throw new QwasmError(`no layer to prune (mode '${mode}')`);
    try {
      for (const name of names) {
        const module = all.get(name) as Linear | Conv2d;
        const w = module.weight;
        const g = kn(module);
        const t: Target = { name, module, weight: w, ...g, maskPtr: this.allocOnes(w.size), extra: [] };
        this.targets.push(t);
        if (mode === 'channel') {
          const c = chains.get(module)!;
          const add = (tensor: Tensor | null, per: number) => { if (tensor) t.extra.push({ tensor, ptr: this.allocOnes(tensor.size), per }); };
          add(module.bias, 1);
          for (const f of c.followers) {
            if (f instanceof BatchNorm2d) { add(f.gamma, 1); add(f.beta, 1); } else if (f instanceof Conv2d) { add(f.weight, f.weight.size / f.weight.shape[0]); add(f.bias, 1); }
          }
        }
        registry.set(w, () => this.describe(t));
      }
    } catch (e) { this.dispose(); throw e; }
    if (!this.schedule) this.prune(mode === 'nm' ? 1 - this.nm[0] / this.nm[1] : opts.sparsity!);
  }

  private allocOnes(n: number): number {
    const rt = this.model.engine.rt;
    const p = rt.alloc(n);
    rt.u8(p, n).fill(1);
    return p;
  }

  private live(): void { if (this.disposed) throw new QwasmError('Pruner used after dispose()'); }

  /** Every masked tensor (weights, and in 'channel' mode biases / BN parameters) with its mask pointer. */
  masked(): Masked[] {
    const out: Masked[] = [];
    for (const t of this.targets) { out.push({ tensor: t.weight, ptr: t.maskPtr }); for (const e of t.extra) out.push({ tensor: e.tensor, ptr: e.ptr }); }
    return out;
  }

  /** Registers every mask with the optimizer (its updates keep masked parameters at 0). */
  attach(opt: Optimizer): void {
    this.live();
    if (!(opt instanceof Optimizer)) throw new TypeError(`opt must be an Optimizer, got ${describe(opt)}`);
    for (const m of this.masked()) {
      // frozen parameters may be absent from the optimizer (they are masked by apply() all the same)
      try { opt.setMask(m.tensor, m.ptr); } catch (e) { if (m.tensor.requiresGrad) throw e; }
    }
    this.optimizers.add(opt);
  }

  /** fit hooks: beforeStep runs the schedule (mask updates), afterStep re-applies the masks and counts steps. */
  hooks(): { beforeStep: (step: number) => void; afterStep: (step: number) => void } {
    return {
      beforeStep: () => { this.update(this.step); },
      afterStep: () => { this.apply(); this.step++; },
    };
  }

  /**
   * FitOptions for fine-tuning under the masks: an Optimizer (o.optimizerInstance, or a new one from o.optimizer
   * over the model's parameters) with the masks attached, and the hooks chained before o's own.
   */
  fitOptions(o: FitOptions): FitOptions {
    this.live();
    if (o === null || typeof o !== 'object') throw new TypeError(`fit options must be an object, got ${describe(o)}`);
    const opt = o.optimizerInstance ?? new Optimizer(this.model.engine, [...this.model.namedParameters(), ...(o.extraParameters ?? [])], o.optimizer ?? { kind: 'adam' });
    this.attach(opt);
    const h = this.hooks();
    return {
      ...o,
      optimizerInstance: opt,
      beforeStep: (s) => { h.beforeStep(s); o.beforeStep?.(s); },
      afterStep: (s) => { h.afterStep(s); o.afterStep?.(s); },
    };
  }

  /** Runs the schedule at `step` (default this.step): recomputes and applies the masks when it is a pruning step. */
  update(step = this.step): boolean {
    this.live();
    const s = this.schedule;
    if (!s) return false;
    if (!(s.shouldPrune(step) || step === s.endStep)) return false;
    if (this.mode === 'nm') this.prune(1 - this.nm[0] / this.nm[1]);
    else this.prune(s.sparsity(step));
    return true;
  }

  /** Recomputes the masks for `sparsity` from the current weights and zeroes the pruned ones. */
  prune(sparsity: number): void {
    this.live();
    checkSparsity('sparsity', sparsity, this.mode === 'nm');
    this.current = sparsity;
    if (this.mode === 'nm') this.maskNM();
    else this.maskByScore(sparsity);
    this.apply();
  }

  /** Zeroes every masked-out parameter (mulMask kernel, in place). */
  apply(): void {
    this.live();
    const rt = this.model.engine.rt;
    for (const m of this.masked()) mulMask(rt, m.tensor.ptr, m.ptr, m.tensor.ptr, m.tensor.size, 1);
  }

  /** A copy of the mask of `weight` (tensor layout), or null when it is not pruned by this Pruner. */
  mask(weight: Tensor): Uint8Array | null {
    this.live();
    for (const m of this.masked()) if (m.tensor === weight) return this.model.engine.rt.u8(m.ptr, m.tensor.size).slice();
    return null;
  }

  /** Masked-out fraction per pruned layer and over all of them. */
  sparsity(): SparsityReport {
    this.live();
    const rt = this.model.engine.rt;
    const layers: LayerSparsity[] = this.targets.map((t) => {
      const m = rt.u8(t.maskPtr, t.weight.size);
      let z = 0;
      for (let i = 0; i < m.length; i++) if (!m[i]) z++;
      return { name: t.name, param: `${t.name}.weight`, size: t.weight.size, pruned: z, sparsity: z / t.weight.size };
    });
    const size = layers.reduce((a, l) => a + l.size, 0), pruned = layers.reduce((a, l) => a + l.pruned, 0);
    return { global: pruned / size, size, pruned, layers };
  }

  /** The pruned weights with their masks and kernel formats (see prunedWeights). */
  prunedWeights(): Map<Tensor, PrunedWeight> {
    this.live();
    return new Map(this.targets.map((t) => [t.weight, this.describe(t)]));
  }

  /** The kept output channels of a channel-pruned layer (module name), or null. */
  keptChannels(name: string): number[] | null {
    const t = this.targets.find((x) => x.name === name);
    if (!t || this.mode !== 'channel' || this.disposed) return null;
    const m = this.model.engine.rt.u8(t.maskPtr, t.weight.size), out: number[] = [];
    for (let j = 0; j < t.n; j++) if (m[knIndex(t, 0, j)]) out.push(j);
    return out;
  }

  /** Frees the masks (unregistering them from attached optimizers); prunedWeights(model) keeps a JS copy. */
  dispose(): void {
    if (this.disposed) return;
    const snaps = this.targets.map((t) => [t.weight, this.describe(t)] as const);
    for (const opt of this.optimizers) for (const m of this.masked()) { try { opt.setMask(m.tensor, 0); } catch { /* not in this optimizer */ } }
    for (const [w, d] of snaps) registry.set(w, () => d);
    const rt = this.model.engine.rt;
    for (const m of this.masked()) rt.free(m.ptr);
    this.disposed = true;
  }

  private describe(t: Target): PrunedWeight {
    const mask = this.model.engine.rt.u8(t.maskPtr, t.weight.size).slice();
    let z = 0;
    for (let i = 0; i < mask.length; i++) if (!mask[i]) z++;
    const format: PrunedFormat = this.mode === 'unstructured' ? 'csr' : this.mode;
    return {
      name: `${t.name}.weight`, mask, kn: toKN(mask, t), k: t.k, n: t.n, layout: t.layout, format,
      ...(format === 'nm' ? { nm: [...this.nm] as [number, number] } : {}),
      ...(format === 'block' ? { block: [...this.block] as [number, number] } : {}),
      sparsity: z / mask.length, source: 'pruner',
    };
  }

  // ---------------------------------------------------------------- mask computation

  private maskNM(): void {
    const rt = this.model.engine.rt;
    for (const t of this.targets) {
      const w = t.weight.data();
      const wkn = t.layout === 'linear' ? w.slice() : transposeToKN(w, t);
      const m = nmMask(wkn, t.k, t.n, this.nm[0], this.nm[1]);
      rt.u8(t.maskPtr, t.weight.size).set(t.layout === 'linear' ? m : fromKN(m, t));
    }
  }

  /** Units (single weights, blocks or channels) scored; the lowest-scored are pruned to reach `sparsity`. */
  // Long (~105 lines) on purpose: one ranking pass shared by the three unit shapes and both scopes; split up, the
  // per-layer caps and the global ranking would have to pass half a dozen arrays between the pieces.
  private maskByScore(sparsity: number): void {
    const rt = this.model.engine.rt;
    const [bk, bn] = this.block;
    // per target: unit scores, unit sizes, and a function writing a unit's mask
    const layers = this.targets.map((t) => {
      const w = t.weight.data();
      if (this.mode === 'unstructured') {
        const s = new Float32Array(w.length);
        for (let i = 0; i < w.length; i++) s[i] = Math.abs(w[i]);
        return { t, scores: s, sizes: null as Uint32Array | null };
      }
      if (this.mode === 'block') {
        const kb = Math.ceil(t.k / bk), nb = Math.ceil(t.n / bn);
        const s = new Float32Array(kb * nb), sz = new Uint32Array(kb * nb);
        for (let a = 0; a < kb; a++) for (let c = 0; c < nb; c++) {
          let sum = 0, cnt = 0;
          for (let kk = a * bk; kk < Math.min(t.k, a * bk + bk); kk++) for (let j = c * bn; j < Math.min(t.n, c * bn + bn); j++) { sum += Math.abs(w[knIndex(t, kk, j)]); cnt++; }
          s[a * nb + c] = sum / cnt; sz[a * nb + c] = cnt;
        }
        return { t, scores: s, sizes: sz };
      }
      // channel: RMS (or L1 norm) of the output channel's weights
      const s = new Float32Array(t.n), sz = new Uint32Array(t.n).fill(t.k), l1 = this.channelScore === 'l1';
      for (let j = 0; j < t.n; j++) {
        let sum = 0;
        for (let kk = 0; kk < t.k; kk++) { const v = w[knIndex(t, kk, j)]; sum += l1 ? Math.abs(v) : v * v; }
        s[j] = l1 ? sum : Math.sqrt(sum / t.k);
      }
      return { t, scores: s, sizes: sz };
    });
    const prunedUnits: Uint8Array[] = layers.map((l) => new Uint8Array(l.scores.length));
    const choose = (scores: Float32Array, sizes: Uint32Array | null, target: number, maxUnits: number): Uint8Array => {
      const out = new Uint8Array(scores.length);
      if (!sizes) {
        // exactly `target` of the smallest scores (ties in index order)
        const kp = Math.min(target, scores.length);
        if (kp <= 0) return out;
        const sorted = scores.slice().sort();
        const thr = sorted[kp - 1];
        let left = kp;
        for (let i = 0; i < scores.length; i++) if (scores[i] < thr) { out[i] = 1; left--; }
        for (let i = 0; i < scores.length && left > 0; i++) if (scores[i] === thr) { out[i] = 1; left--; }
        return out;
      }
      const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
      let done = 0, units = 0;
      for (const i of order) {
        if (units >= maxUnits) break;
        if (done + sizes[i] > target + sizes[i] / 2) break;
        out[i] = 1; done += sizes[i]; units++;
      }
      return out;
    };
    if (this.scope === 'layer') {
      layers.forEach((l, li) => {
        if (l.sizes) {
          // whole units: round(s·units) of them (channel: keep at least one)
          const n = l.scores.length, m = this.channelMultiple;
          let units = Math.round(sparsity * n);
          if (m > 1) units = n - Math.min(n, Math.max(m, Math.round((n - units) / m) * m));
          const cap = this.mode === 'channel' ? n - 1 : n;
          const ones = new Uint32Array(n).fill(1);
          prunedUnits[li] = choose(l.scores, ones, Math.min(units, cap), cap);
        } else prunedUnits[li] = choose(l.scores, null, Math.round(sparsity * l.scores.length), Infinity);
      });
    } else {
      const total = layers.reduce((a, l) => a + l.t.weight.size, 0);
      const nUnits = layers.reduce((a, l) => a + l.scores.length, 0);
      const scores = new Float32Array(nUnits), sizes = layers[0].sizes ? new Uint32Array(nUnits) : null;
      let o = 0;
      for (const l of layers) { scores.set(l.scores, o); if (sizes) sizes.set(l.sizes!, o); o += l.scores.length; }
      const sel = choose(scores, sizes, Math.round(sparsity * total), Infinity);
      o = 0;
      layers.forEach((l, li) => {
        prunedUnits[li] = sel.subarray(o, o + l.scores.length).slice();
        o += l.scores.length;
        if (this.mode === 'channel') {
          // never a whole layer: keep its best channel
          const pu = prunedUnits[li];
          if (pu.every((x) => x === 1)) { let best = 0; for (let j = 1; j < pu.length; j++) if (l.scores[j] > l.scores[best]) best = j; pu[best] = 0; }
        }
      });
    }
    // write the masks
    layers.forEach((l, li) => {
      const t = l.t, pu = prunedUnits[li];
      const m = rt.u8(t.maskPtr, t.weight.size);
      if (this.mode === 'unstructured') { for (let i = 0; i < m.length; i++) m[i] = pu[i] ? 0 : 1; return; }
      m.fill(1);
      if (this.mode === 'block') {
        const nb = Math.ceil(t.n / bn);
        for (let u = 0; u < pu.length; u++) {
          if (!pu[u]) continue;
          const a = Math.floor(u / nb), c = u % nb;
          for (let kk = a * bk; kk < Math.min(t.k, a * bk + bk); kk++) for (let j = c * bn; j < Math.min(t.n, c * bn + bn); j++) m[knIndex(t, kk, j)] = 0;
        }
        return;
      }
      for (let j = 0; j < t.n; j++) {
        if (!pu[j]) continue;
        for (let kk = 0; kk < t.k; kk++) m[knIndex(t, kk, j)] = 0;
      }
      for (const e of t.extra) {
        const em = rt.u8(e.ptr, e.tensor.size);
        em.fill(1);
        for (let j = 0; j < t.n; j++) if (pu[j]) em.fill(0, j * e.per, (j + 1) * e.per);
      }
    });
  }
}

function transposeToKN(w: Float32Array, t: { k: number; n: number }): Float32Array {
  const out = new Float32Array(t.k * t.n);
  for (let j = 0; j < t.n; j++) for (let kk = 0; kk < t.k; kk++) out[kk * t.n + j] = w[j * t.k + kk];
  return out;
}

function fromKN(m: Uint8Array, t: { k: number; n: number }): Uint8Array {
  const out = new Uint8Array(t.k * t.n);
  for (let j = 0; j < t.n; j++) for (let kk = 0; kk < t.k; kk++) out[j * t.k + kk] = m[kk * t.n + j];
  return out;
}

function toKN(mask: Uint8Array, t: { k: number; n: number; layout: 'linear' | 'ohwi' }): Uint8Array {
  if (t.layout === 'linear') return mask.slice();
  const out = new Uint8Array(t.k * t.n);
  for (let j = 0; j < t.n; j++) for (let kk = 0; kk < t.k; kk++) out[kk * t.n + j] = mask[j * t.k + kk];
  return out;
}

// ------------------------------------------------------------------ model-level helpers

/**
 * Pruned weights of `model`: per weight tensor, its mask (tensor layout and K×N) and the sparse kernel format.
 * Weights pruned by a Pruner (live or disposed) report its masks and format; other Linear / Conv2d weights whose
 * exact-zero fraction is ≥ minSparsity (default 0.5) are reported with mask = (w ≠ 0), format 'nm' when every
 * 4 consecutive k of each output channel hold ≤ 2 nonzeros, else 'csr'.
 */
export function prunedWeights(model: Module, opts: { minSparsity?: number } = {}): Map<Tensor, PrunedWeight> {
  if (!model || typeof (model as Module).modules !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
  const minS = checkSparsity('minSparsity', opts.minSparsity ?? 0.5, true);
  const out = new Map<Tensor, PrunedWeight>();
  for (const [name, m] of model.modules()) {
    if (!(m instanceof Linear) && !(m instanceof Conv2d)) continue;
    const w = m.weight;
    const reg = registry.get(w);
    if (reg) { out.set(w, reg()); continue; }
    const g = kn(m);
    const d = w.data();
    const mask = new Uint8Array(d.length);
    let z = 0;
    for (let i = 0; i < d.length; i++) { mask[i] = d[i] !== 0 ? 1 : 0; z += 1 - mask[i]; }
    const sp = z / d.length;
    if (sp < minS || z === 0) continue;
    const knm = toKN(mask, g);
    let is24 = true;
    for (let j = 0; j < g.n && is24; j++) for (let k0 = 0; k0 < g.k && is24; k0 += 4) {
      let c = 0;
      for (let kk = k0; kk < Math.min(g.k, k0 + 4); kk++) c += knm[kk * g.n + j];
      if (c > 2) is24 = false;
    }
    out.set(w, { name: `${name ? `${name}.` : ''}weight`, mask, kn: knm, ...g, format: is24 ? 'nm' : 'csr', ...(is24 ? { nm: [2, 4] as [number, number] } : {}), sparsity: sp, source: 'zeros' });
  }
  return out;
}

/** Exact-zero fraction of every Linear / Conv2d weight of a model, and over all of them. */
export function weightSparsity(model: Module): SparsityReport {
  if (!model || typeof (model as Module).modules !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
  const layers: LayerSparsity[] = [];
  for (const [name, m] of model.modules()) {
    if (!(m instanceof Linear) && !(m instanceof Conv2d)) continue;
    const d = m.weight.data();
    let z = 0;
    for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
    layers.push({ name, param: `${name ? `${name}.` : ''}weight`, size: d.length, pruned: z, sparsity: z / d.length });
  }
  const size = layers.reduce((a, l) => a + l.size, 0), pruned = layers.reduce((a, l) => a + l.pruned, 0);
  return { global: size ? pruned / size : 0, size, pruned, layers };
}

/**
 * Channel pruning made real: a new, smaller model without the pruned output channels. A conv / linear's removed
 * output channels go, with the matching entries of the BatchNorm2d / depthwise conv (+ BN) that follow it and the
 * matching input channels of the next conv / linear (after Flatten: every spatial position's slice). Works on
 * Sequential chains (nested too, inside residual bodies); a channel that reaches a residual join or the model
 * output cannot be removed (such layers are never channel-pruned). With a channel-mode `pruner` its masks say
 * which channels go; without one, a channel goes when its weights, bias and following BN / depthwise parameters
 * are all exactly 0. The original model is left untouched.
 */
// Long (~90 lines): one walk over the Sequential that carries the kept-channel list from a layer to its consumers
// (BN, depthwise conv, next conv / linear); the state passed between steps is what keeps it in one function.
export function removePrunedChannels(model: Module, pruner?: Pruner): { model: Sequential; removed: Record<string, number[]> } {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential, got ${describe(model)}`);
  if (pruner !== undefined && !(pruner instanceof Pruner)) throw new TypeError(`pruner must be a Pruner, got ${describe(pruner)}`);
  if (pruner && pruner.model !== model) throw new QwasmError('pruner was made for another model');
  if (pruner && pruner.mode !== 'channel') throw new QwasmError(`pruner is in '${pruner.mode}' mode; removePrunedChannels needs a 'channel' pruner (or none: zero channels are detected)`);
  const { chains } = channelChains(model);
  const outKeep = new Map<Module, number[]>();
  const inKeep = new Map<Module, { keep: number[]; channels: number }>();
  const removed: Record<string, number[]> = {};
  for (const [prod, c] of chains) {
    const g = kn(c.producer);
    let keep: number[] | null = pruner ? pruner.keptChannels(c.name) : null;
    if (!pruner) {
      const w = c.producer.weight.data();
      keep = [];
      for (let j = 0; j < g.n; j++) {
        let zero = true;
        for (let kk = 0; kk < g.k && zero; kk++) if (w[knIndex(g, kk, j)] !== 0) zero = false;
        if (zero && c.producer.bias && c.producer.bias.data()[j] !== 0) zero = false;
        for (const f of c.followers) {
          if (!zero) break;
          const ts = f instanceof BatchNorm2d ? [f.gamma, f.beta] : [(f as Conv2d).weight, (f as Conv2d).bias];
          for (const t of ts) {
            if (!t) continue;
            const per = t.size / g.n, d = t.data();
            for (let i = j * per; i < (j + 1) * per; i++) if (d[i] !== 0) { zero = false; break; }
          }
        }
        if (!zero) keep.push(j);
      }
      if (keep.length === 0) keep.push(0);
    }
    if (!keep || keep.length === g.n) continue;
    const kset = new Set(keep);
    removed[c.name] = Array.from({ length: g.n }, (_, j) => j).filter((j) => !kset.has(j));
    outKeep.set(prod, keep);
    for (const f of c.followers) outKeep.set(f, keep);
    if (c.consumer instanceof Linear && c.consumer.inFeatures % g.n !== 0) {
      throw new QwasmError(`cannot remove channels of '${c.name}': the next linear '${c.consumerName}' has ${c.consumer.inFeatures} inputs, not a multiple of ${g.n} channels`);
    }
    inKeep.set(c.consumer, { keep, channels: g.n });
  }
  const replace = (m: Module): Module | null => {
    const ok = outKeep.get(m), ik = inKeep.get(m);
    if (!ok && !ik) return null;
    const E = m.engine, rng = new InitRng(1);
    if (m instanceof BatchNorm2d) {
      const c = new BatchNorm2d(E, ok!.length, m.momentum, m.eps);
      c.frozen = m.frozen;
      for (const [dst, src] of [[c.gamma, m.gamma], [c.beta, m.beta], [c.runMean, m.runMean], [c.runVar, m.runVar]] as const) {
        const s = src.data();
        dst.write(Float32Array.from(ok!, (j) => s[j]));
      }
      return c;
    }
    if (m instanceof Linear) {
      const outs = ok ?? Array.from({ length: m.outFeatures }, (_, j) => j);
      let rows = Array.from({ length: m.inFeatures }, (_, i) => i);
      if (ik) {
        const S = m.inFeatures / ik.channels;
        rows = [];
        for (let s = 0; s < S; s++) for (const c of ik.keep) rows.push(s * ik.channels + c);
      }
      const c = new Linear(E, rows.length, outs.length, rng, !!m.bias);
      const w = m.weight.data(), nw = new Float32Array(rows.length * outs.length);
      rows.forEach((r, i) => outs.forEach((o, j) => { nw[i * outs.length + j] = w[r * m.outFeatures + o]; }));
      c.weight.write(nw);
      if (m.bias) { const b = m.bias.data(); c.bias!.write(Float32Array.from(outs, (j) => b[j])); }
      return c;
    }
    if (m instanceof Conv2d) {
      const [oc, kh, kw, cg] = m.weight.shape;
      const dw = isDepthwise(m);
      const outs = ok ?? Array.from({ length: oc }, (_, j) => j);
      const ins = dw ? [0] : ik ? ik.keep : Array.from({ length: cg }, (_, j) => j);
      const spec = { ...m.spec, inChannels: dw ? outs.length : ins.length, outChannels: outs.length, ...(dw ? { groups: outs.length } : {}) };
      const c = new Conv2d(E, spec, rng);
      const w = m.weight.data(), nw = new Float32Array(outs.length * kh * kw * ins.length);
      outs.forEach((o, oi) => {
        for (let y = 0; y < kh * kw; y++) ins.forEach((ci, ii) => { nw[(oi * kh * kw + y) * ins.length + ii] = w[(o * kh * kw + y) * cg + ci]; });
      });
      c.weight.write(nw);
      if (m.bias) { const b = m.bias.data(); c.bias!.write(Float32Array.from(outs, (j) => b[j])); }
      return c;
    }
    return null;
  };
  const out = rebuild(model, '', (m) => replace(m)) as Sequential;
  out.train(model.training);
  return { model: out, removed };
}
