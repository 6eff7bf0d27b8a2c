// Optimisers over a model's named parameters: per-parameter state tensors in WASM memory, updates done in
// place by the optim_f32 kernels. Weight decay applies to parameters flagged `decay` (weights, not biases
// or norm parameters). Optional per-parameter u8 masks keep pruned weights at zero through fine-tuning.
// Parameter groups carry an lrScale (discriminative learning rates: each group trains at lr × lrScale).
// A parameter that is frozen (requiresGrad false) gets no update; its state is created lazily the first time
// it is trainable and has a gradient (gradual unfreezing), and its step count (Adam bias correction, SGD
// momentum start) counts from then.
import type { Engine, Tensor } from '../autograd/tensor.js';
import type { ParamInfo } from '../nn/module.js';
import { adamStep, sgdStep, clipGradNorm } from '../kernels/optim_f32.js';
import { checkFinite } from '../errors.js';
import { scale } from '../kernels/eltwise_f32.js';

export interface OptimizerSpec {
  kind: 'sgd' | 'adam' | 'adamw';
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Parameters that train at lr × lrScale (default 1). */
export interface ParamGroup { params: [string, ParamInfo][]; lrScale?: number; name?: string }

interface Slot { name: string; info: ParamInfo; s1: Tensor | null; s2: Tensor | null; mask: number; lrScale: number; start: number; ready: boolean }

const isGroup = (x: unknown): x is ParamGroup => !Array.isArray(x) && typeof x === 'object' && x !== null && Array.isArray((x as ParamGroup).params);

export class Optimizer {
  private slots: Slot[] = [];
  steps = 0;

  /** params: named parameters (all at lrScale 1) or parameter groups ({ params, lrScale }). */
  constructor(readonly engine: Engine, params: [string, ParamInfo][] | ParamGroup[], readonly spec: OptimizerSpec) {
    if (!['sgd', 'adam', 'adamw'].includes(spec.kind)) throw new TypeError(`optimizer must be 'sgd', 'adam' or 'adamw', got '${spec.kind}'`);
    this.addParams(params);
  }

  /**
   * Adds parameters (or groups) not already optimised. Trainable ones get their state now; frozen ones
   * (requiresGrad false) get it when first trained (so a model's frozen layers can be unfrozen later).
   */
  addParams(params: [string, ParamInfo][] | ParamGroup[], lrScale = 1): void {
    const groups: ParamGroup[] = params.length && isGroup(params[0]) ? params as ParamGroup[] : [{ params: params as [string, ParamInfo][], lrScale }];
    const known = new Set(this.slots.map((s) => s.info.tensor));
    for (const g of groups) {
      if (!isGroup(g)) throw new TypeError('parameter groups must all be { params, lrScale } objects');
      const scale = checkFinite('lrScale', g.lrScale ?? lrScale);
      if (scale < 0) throw new RangeError(`lrScale must be ≥ 0, got ${scale}`);
      for (const [name, info] of g.params) {
        if (known.has(info.tensor)) continue;
        known.add(info.tensor);
        const s: Slot = { name, info, s1: null, s2: null, mask: 0, lrScale: scale, start: this.steps, ready: false };
        if (info.tensor.requiresGrad) this.materialise(s, this.steps);
        this.slots.push(s);
      }
    }
  }

  private materialise(s: Slot, start: number): void {
    const adam = this.spec.kind !== 'sgd', mom = this.spec.momentum ?? 0, shape = s.info.tensor.shape;
    s.s1 = adam || mom ? this.engine.persistent(shape) : null;
    s.s2 = adam ? this.engine.persistent(shape) : null;
    s.start = start;
    s.ready = true;
  }

  /** Sets the learning-rate multiplier of the given parameters (by tensor or name). */
  setLrScale(params: readonly (Tensor | string)[], lrScale: number): void {
    checkFinite('lrScale', lrScale);
    for (const p of params) {
      const s = this.slots.find((x) => (typeof p === 'string' ? x.name === p : x.info.tensor === p));
      if (!s) throw new RangeError(`setLrScale: ${typeof p === 'string' ? `'${p}'` : 'tensor'} is not a parameter of this optimizer`);
      s.lrScale = lrScale;
    }
  }

  /** Every parameter: name, lr multiplier, whether it trains now, whether its state exists yet. */
  paramState(): { name: string; lrScale: number; trainable: boolean; hasState: boolean }[] {
    return this.slots.map((s) => ({ name: s.name, lrScale: s.lrScale, trainable: s.info.tensor.requiresGrad, hasState: s.ready }));
  }

  /** Keeps the masked-out (0) weights of `param` at zero: updates skip them. maskPtr: u8[size] in WASM memory, owned by the caller. */
  setMask(param: Tensor, maskPtr: number): void {
    const s = this.slots.find((x) => x.info.tensor === param);
    if (!s) throw new RangeError('setMask: tensor is not a trainable parameter of this optimizer');
    s.mask = maskPtr;
  }

  /** Clips the global gradient norm to maxNorm; returns the norm before clipping. */
  clip(maxNorm: number): number {
    const grads = this.slots.filter((s) => s.info.tensor.grad && s.info.tensor.requiresGrad).map((s) => ({ ptr: s.info.tensor.grad!.ptr, n: s.info.tensor.size }));
    return grads.length ? clipGradNorm(this.engine.rt, grads, checkFinite('maxNorm', maxNorm)) : 0;
  }

  step(lr: number): void {
    const rt = this.engine.rt, sp = this.spec;
    this.steps++;
    for (const s of this.slots) {
      const p = s.info.tensor, g = p.grad;
      if (!g || !p.requiresGrad) continue; // frozen: no update (not even weight decay or momentum)
      if (!s.ready) this.materialise(s, this.steps - 1);
      const wd = s.info.decay ? sp.weightDecay ?? 0 : 0;
      const t = this.steps - s.start, plr = lr * s.lrScale;
      if (sp.kind === 'sgd') {
        sgdStep(rt, p.ptr, g.ptr, s.s1 ? s.s1.ptr : 0, s.mask, p.size,
          { lr: plr, momentum: sp.momentum ?? 0, nesterov: sp.nesterov ?? false, weightDecay: wd }, t === 1);
      } else {
        adamStep(rt, p.ptr, g.ptr, s.s1!.ptr, s.s2!.ptr, s.mask, p.size,
          { lr: plr, beta1: sp.beta1, beta2: sp.beta2, eps: sp.eps, weightDecay: wd, decoupled: sp.kind === 'adamw' }, t);
      }
    }
  }

  /** Multiplies every gradient by f (averaging accumulated micro-batch gradients). */
  scaleGrads(f: number): void {
    if (f === 1) return;
    for (const s of this.slots) { const g = s.info.tensor.grad; if (g) scale(this.engine.rt, f, g.ptr, g.ptr, g.size); }
  }

  zeroGrad(): void { for (const s of this.slots) s.info.tensor.grad?.zero(); }

  /** Optimiser state as named arrays (for checkpoints). */
  stateDict(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const s of this.slots) {
      if (s.s1) out[`${s.name}.s1`] = { shape: [...s.s1.shape], data: s.s1.toArray() };
      if (s.s2) out[`${s.name}.s2`] = { shape: [...s.s2.shape], data: s.s2.toArray() };
      if (s.ready && s.start !== 0) out[`${s.name}.start`] = { shape: [1], data: Float32Array.of(s.start) };
    }
    out.steps = { shape: [1], data: Float32Array.of(this.steps) };
    return out;
  }

  loadStateDict(st: Record<string, { shape: readonly number[]; data: Float32Array }>): void {
    for (const s of this.slots) {
      if (!s.ready) {
        // a parameter frozen here: restore its state only if the saved optimiser had trained it
        if (!['s1', 's2', 'start'].some((k) => st[`${s.name}.${k}`])) continue;
        this.materialise(s, 0);
      }
      s.start = st[`${s.name}.start`] ? st[`${s.name}.start`].data[0] : 0;
      for (const [key, t] of [['s1', s.s1], ['s2', s.s2]] as const) {
        if (!t) continue;
        const e = st[`${s.name}.${key}`];
        if (!e) throw new RangeError(`optimizer state has no entry '${s.name}.${key}'`);
        if (e.data.length !== t.size) throw new RangeError(`optimizer state '${s.name}.${key}' has ${e.data.length} values, expected ${t.size}`);
        t.write(e.data);
      }
    }
    this.steps = st.steps ? st.steps.data[0] : 0;
  }

  dispose(): void { for (const s of this.slots) { s.s1?.dispose(); s.s2?.dispose(); } }
}
