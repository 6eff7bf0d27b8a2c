// Optimisers over a model's named parameters: per-parameter state tensors in WASM memory, updates done in
// place by the optim_f32 kernels. Weight decay applies to parameters flagged `decay` (weights, not biases
// or norm parameters). Optional per-parameter u8 masks keep pruned weights at zero through fine-tuning.
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

interface Slot { name: string; info: ParamInfo; s1: Tensor | null; s2: Tensor | null; mask: number }

export class Optimizer {
  private slots: Slot[];
  steps = 0;

  constructor(readonly engine: Engine, params: [string, ParamInfo][], readonly spec: OptimizerSpec) {
    if (!['sgd', 'adam', 'adamw'].includes(spec.kind)) throw new TypeError(`optimizer must be 'sgd', 'adam' or 'adamw', got '${spec.kind}'`);
    const adam = spec.kind !== 'sgd';
    const mom = spec.momentum ?? 0;
    this.slots = params.filter(([, p]) => p.tensor.requiresGrad).map(([name, info]) => ({
      name, info,
      s1: adam || mom ? engine.persistent(info.tensor.shape) : null,
      s2: adam ? engine.persistent(info.tensor.shape) : null,
      mask: 0,
    }));
  }

  /** Keeps the masked-out (0) weights of `param` at zero: updates skip them. maskPtr: u8[size] in WASM memory, owned by the caller. */
  setMask(param: Tensor, maskPtr: number): void {
    const s = this.slots.find((x) => x.info.tensor === param);
    if (!s) throw new RangeError('setMask: tensor is not a trainable parameter of this optimizer');
    s.mask = maskPtr;
  }

  /** Clips the global gradient norm to maxNorm; returns the norm before clipping. */
  clip(maxNorm: number): number {
    const grads = this.slots.filter((s) => s.info.tensor.grad).map((s) => ({ ptr: s.info.tensor.grad!.ptr, n: s.info.tensor.size }));
    return grads.length ? clipGradNorm(this.engine.rt, grads, checkFinite('maxNorm', maxNorm)) : 0;
  }

  step(lr: number): void {
    const rt = this.engine.rt, sp = this.spec;
    this.steps++;
    for (const s of this.slots) {
      const p = s.info.tensor, g = p.grad;
      if (!g) continue;
      const wd = s.info.decay ? sp.weightDecay ?? 0 : 0;
      if (sp.kind === 'sgd') {
        sgdStep(rt, p.ptr, g.ptr, s.s1 ? s.s1.ptr : 0, s.mask, p.size,
          { lr, momentum: sp.momentum ?? 0, nesterov: sp.nesterov ?? false, weightDecay: wd }, this.steps === 1);
      } else {
        adamStep(rt, p.ptr, g.ptr, s.s1!.ptr, s.s2!.ptr, s.mask, p.size,
          { lr, beta1: sp.beta1, beta2: sp.beta2, eps: sp.eps, weightDecay: wd, decoupled: sp.kind === 'adamw' }, this.steps);
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
    }
    out.steps = { shape: [1], data: Float32Array.of(this.steps) };
    return out;
  }

  loadStateDict(st: Record<string, { shape: readonly number[]; data: Float32Array }>): void {
    for (const s of this.slots) {
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
