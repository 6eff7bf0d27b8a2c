// Tensors whose f32 data live in WASM linear memory, with micrograd-style autograd: every op records its
// inputs and a backward closure; backward() walks the graph in reverse topological order. No training step
// copies tensor data through JS: ops call kernels by pointer.
//
// Memory: parameters and buffers are `persistent` and freed only by dispose(). Everything an op creates
// during a step (activations, their gradients) is registered with the engine's step arena and freed by
// engine.endStep(), so memory does not grow from step to step (TLSF reuses the same blocks).
import type { Runtime } from '../runtime.js';
import { QwasmError } from '../errors.js';

export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export class Engine {
  private arena: Tensor[] = [];
  private noGradDepth = 0;
  constructor(readonly rt: Runtime) {}

  get gradEnabled(): boolean { return this.noGradDepth === 0; }

  /** Runs fn without recording the graph (evaluation, teacher forward passes). */
  noGrad<T>(fn: () => T): T {
    this.noGradDepth++;
    try { return fn(); } finally { this.noGradDepth--; }
  }

  /** A new zero-filled temporary tensor (freed at endStep). */
  empty(shape: Shape, zero = true): Tensor {
    const t = new Tensor(this, shape, this.rt.alloc(sizeOf(shape) * 4), false);
    if (zero) t.zero();
    this.arena.push(t);
    return t;
  }

  /** A persistent tensor (parameter or buffer), optionally initialised from `data`. */
  persistent(shape: Shape, data?: Float32Array, requiresGrad = false): Tensor {
    const t = new Tensor(this, shape, this.rt.alloc(sizeOf(shape) * 4), true);
    if (data) {
      if (data.length !== t.size) throw new RangeError(`data must have length ${t.size} for shape [${shape}], got ${data.length}`);
      t.write(data);
    } else t.zero();
    t.requiresGrad = requiresGrad;
    return t;
  }

  /** Frees every temporary of this step (and the gradients of persistent tensors stay). */
  endStep(): void {
    for (const t of this.arena) t.free();
    this.arena.length = 0;
  }

  /** Number of temporaries alive (tests check it returns to 0). */
  get live(): number { return this.arena.length; }

  track(t: Tensor): Tensor { this.arena.push(t); return t; }
}

export class Tensor {
  readonly size: number;
  grad: Tensor | null = null;
  requiresGrad = false;
  parents: Tensor[] = [];
  backwardFn: (() => void) | null = null;
  op = 'leaf';
  /** Base tensor whose memory this view shares (reshape/flatten), or null. */
  base: Tensor | null = null;
  private freed = false;

  constructor(readonly engine: Engine, readonly shape: Shape, public ptr: number, readonly persistent: boolean) {
    this.size = sizeOf(shape);
  }

  get rt(): Runtime { return this.engine.rt; }

  /** A fresh view of the data (do not keep it across kernel calls). */
  data(): Float32Array { this.alive(); return this.rt.f32(this.ptr, this.size); }
  /** A copy of the data in JS. */
  toArray(): Float32Array { return this.data().slice(); }
  write(src: ArrayLike<number>): void { this.data().set(src); }
  zero(): void { this.alive(); this.rt.zero(this.ptr, this.size * 4); }
  item(): number { if (this.size !== 1) throw new QwasmError(`item() needs a 1-element tensor, shape is [${this.shape}]`); return this.data()[0]; }

  /** Gradient buffer, created zeroed on first use (temporary unless the tensor is persistent). */
  ensureGrad(): Tensor {
    if (!this.grad) {
      if (this.base) {
        // a view's gradient is a view of its base's gradient
        const g = this.base.ensureGrad();
        this.grad = new Tensor(this.engine, this.shape, g.ptr, this.persistent);
        this.grad.base = g;
        if (!this.persistent) this.engine.track(this.grad);
      } else {
        this.grad = this.persistent ? this.engine.persistent(this.shape) : this.engine.empty(this.shape);
      }
    }
    return this.grad;
  }

  /** Same data, new shape (no copy). Gradients flow to the base. */
  reshape(shape: Shape): Tensor {
    const s = [...shape];
    const neg = s.indexOf(-1);
    if (neg >= 0) s[neg] = this.size / sizeOf(s.filter((_, i) => i !== neg));
    if (sizeOf(s) !== this.size || s.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`cannot reshape [${this.shape}] (${this.size} elements) to [${shape}]`);
    }
    const v = new Tensor(this.engine, s, this.ptr, false);
    v.base = this.base ?? this;
    v.requiresGrad = this.requiresGrad;
    this.engine.track(v);
    if (this.requiresGrad && this.engine.gradEnabled) {
      v.parents = [this];
      v.op = 'reshape';
      // the view's grad aliases the base grad: nothing to propagate, but the graph must reach the base
      v.backwardFn = () => {};
      v.grad = null;
    }
    return v;
  }

  /** Reverse-mode autodiff from this scalar (or with an explicit seed gradient). */
  backward(seed?: Float32Array): void {
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    const stack: [Tensor, number][] = [[this, 0]];
    // iterative DFS (deep nets must not overflow the JS stack)
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      if (i === 0) { if (seen.has(t)) { stack.pop(); continue; } seen.add(t); }
      if (i < t.parents.length) { top[1]++; const p = t.parents[i]; if (!seen.has(p)) stack.push([p, 0]); }
      else { stack.pop(); order.push(t); }
    }
    const g = this.ensureGrad();
    if (seed) {
      if (seed.length !== this.size) throw new RangeError(`seed must have length ${this.size}, got ${seed.length}`);
      g.write(seed);
    } else {
      if (this.size !== 1) throw new QwasmError(`backward() without a seed needs a scalar, shape is [${this.shape}]`);
      g.data()[0] = 1;
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      if (t.backwardFn && t.grad) t.backwardFn();
    }
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    if (!this.base) this.rt.free(this.ptr);
    this.ptr = 0;
  }

  /** Frees a persistent tensor and its gradient. */
  dispose(): void {
    this.grad?.free();
    this.grad = null;
    this.free();
  }

  private alive(): void {
    if (this.freed) throw new QwasmError(`tensor [${this.shape}] (${this.op}) used after it was freed (temporaries live until engine.endStep())`);
  }
}
