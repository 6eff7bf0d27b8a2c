// Module tree: named parameters (trainable, persistent tensors in WASM memory), named buffers (running
// statistics), train/eval mode, and a JSON config from which the same architecture can be rebuilt
// (checkpoints store config + tensors).
import type { Engine, Tensor } from '../autograd/tensor.js';

export interface ParamInfo {
  tensor: Tensor;
  /** Weight decay applies (weights yes; biases and norm parameters no). */
  decay: boolean;
}

export abstract class Module {
  training = true;
  protected ownParams = new Map<string, ParamInfo>();
  protected ownBuffers = new Map<string, Tensor>();
  protected kids: [string, Module][] = [];

  constructor(readonly engine: Engine) {}

  abstract forward(x: Tensor): Tensor;
  /** Architecture description (type + hyper-parameters) for rebuilding from a checkpoint. */
  abstract config(): Record<string, unknown>;

  protected param(name: string, shape: number[], init: Float32Array, decay: boolean): Tensor {
    const t = this.engine.persistent(shape, init, true);
    t.op = name;
    this.ownParams.set(name, { tensor: t, decay });
    return t;
  }

  protected buffer(name: string, shape: number[], init?: Float32Array): Tensor {
    const t = this.engine.persistent(shape, init, false);
    this.ownBuffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.kids.push([name, m]);
    return m;
  }

  children(): readonly [string, Module][] { return this.kids; }

  namedParameters(prefix = ''): [string, ParamInfo][] {
    const out: [string, ParamInfo][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p]);
    for (const [n, m] of this.kids) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] { return this.namedParameters().map(([, p]) => p.tensor); }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.ownBuffers) out.push([prefix + n, b]);
    for (const [n, m] of this.kids) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** Every module in the tree, depth first, with its dotted name. */
  modules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, m] of this.kids) out.push(...m.modules(`${prefix}${n}.`));
    return out;
  }

  train(mode = true): this {
    for (const [, m] of this.modules()) m.training = mode;
    return this;
  }

  eval(): this { return this.train(false); }

  /** Parameters and buffers as named f32 arrays (copies). */
  stateDict(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [n, p] of this.namedParameters()) out[n] = { shape: [...p.tensor.shape], data: p.tensor.toArray() };
    for (const [n, b] of this.namedBuffers()) out[n] = { shape: [...b.shape], data: b.toArray() };
    return out;
  }

  /** Loads a state dict; every entry must match a parameter or buffer of the same shape (strict). */
  loadStateDict(state: Record<string, { shape: readonly number[]; data: Float32Array }>, strict = true): void {
    const targets = new Map<string, Tensor>([
      ...this.namedParameters().map(([n, p]) => [n, p.tensor] as [string, Tensor]),
      ...this.namedBuffers(),
    ]);
    for (const [n, t] of targets) {
      const s = state[n];
      if (!s) { if (strict) throw new RangeError(`state dict has no entry '${n}'`); continue; }
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
        throw new RangeError(`state dict entry '${n}' has shape [${s.shape}], the model expects [${t.shape}]`);
      }
      t.write(s.data);
    }
    if (strict) for (const n of Object.keys(state)) if (!targets.has(n)) throw new RangeError(`state dict entry '${n}' matches nothing in the model`);
  }

  zeroGrad(): void { for (const p of this.parameters()) p.grad?.zero(); }

  numParameters(): number { return this.parameters().reduce((a, p) => a + p.size, 0); }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
