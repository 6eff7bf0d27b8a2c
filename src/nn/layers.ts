// Layers: thin modules over the differentiable ops, each registered (src/nn/registry.ts) right after its class. Weights: Linear [in, out]; Conv2d OHWI
// [out, kh, kw, in/groups] — the same layouts the int8 kernels pack for deployment.
import type { Engine, Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import { Module } from './module.js';
import { InitRng } from '../util/rng.js';
import { defaultBias, defaultWeight } from './init.js';
import { checkInt, checkFinite, QwasmError } from '../errors.js';
import { registerLayer, type LayerSpec } from './registry.js';

const poolOptions = (s: Record<string, unknown>): ops.PoolOptions => { const { type: _t, ...o } = s; return o as unknown as ops.PoolOptions; };

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(engine: Engine, readonly inFeatures: number, readonly outFeatures: number, rng: InitRng, bias = true) {
    super(engine);
    checkInt('inFeatures', inFeatures, 1);
    checkInt('outFeatures', outFeatures, 1);
    this.weight = this.param('weight', [inFeatures, outFeatures], defaultWeight(rng, inFeatures * outFeatures, inFeatures), true);
    this.bias = bias ? this.param('bias', [outFeatures], defaultBias(rng, outFeatures, inFeatures), false) : null;
  }
  forward(x: Tensor): Tensor { return ops.linear(x.shape.length === 2 ? x : ops.flatten(x), this.weight, this.bias); }
  config() { return { type: 'Linear', in: this.inFeatures, out: this.outFeatures, bias: !!this.bias }; }
}
registerLayer({ type: 'Linear', cls: Linear, build: (s, c) => new Linear(c.engine, c.num(s, 'in'), c.num(s, 'out'), c.rng, s.bias !== false) });

export interface Conv2dSpec extends ops.ConvOptions {
  inChannels: number; outChannels: number; kernel: number | [number, number]; bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kh: number; readonly kw: number;
  constructor(engine: Engine, readonly spec: Conv2dSpec, rng: InitRng) {
    super(engine);
    const groups = checkInt('groups', spec.groups ?? 1, 1);
    checkInt('inChannels', spec.inChannels, 1);
    checkInt('outChannels', spec.outChannels, 1);
    if (spec.inChannels % groups || spec.outChannels % groups) throw new RangeError(`groups (${groups}) must divide inChannels (${spec.inChannels}) and outChannels (${spec.outChannels})`);
    [this.kh, this.kw] = typeof spec.kernel === 'number' ? [spec.kernel, spec.kernel] : spec.kernel;
    const cg = spec.inChannels / groups, fanIn = cg * this.kh * this.kw;
    this.weight = this.param('weight', [spec.outChannels, this.kh, this.kw, cg], defaultWeight(rng, spec.outChannels * fanIn, fanIn), true);
    this.bias = spec.bias === false ? null : this.param('bias', [spec.outChannels], defaultBias(rng, spec.outChannels, fanIn), false);
  }
  forward(x: Tensor): Tensor {
    const s = this.spec;
    return ops.conv2d(x, this.weight, this.bias, { stride: s.stride, padding: s.padding, dilation: s.dilation, groups: s.groups });
  }
  config() { return { type: 'Conv2d', ...this.spec, bias: !!this.bias }; }
}
registerLayer({
  type: 'Conv2d', cls: Conv2d,
  build: (s, c) => { const { type: _t, ...rest } = s; return new Conv2d(c.engine, rest as unknown as Conv2dSpec, c.rng); },
});

export class BatchNorm2d extends Module {
  readonly gamma: Tensor; readonly beta: Tensor; readonly runMean: Tensor; readonly runVar: Tensor;
  /** Frozen BN (QAT's BN freezing, transfer learning): always uses running statistics. */
  frozen = false;
  constructor(engine: Engine, readonly channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    super(engine);
    checkInt('channels', channels, 1);
    checkFinite('momentum', momentum);
    this.gamma = this.param('gamma', [channels], new Float32Array(channels).fill(1), false);
    this.beta = this.param('beta', [channels], new Float32Array(channels), false);
    this.runMean = this.buffer('running_mean', [channels]);
    this.runVar = this.buffer('running_var', [channels], new Float32Array(channels).fill(1));
  }
  forward(x: Tensor): Tensor {
    return ops.batchNorm(x, this.gamma, this.beta, { runMean: this.runMean, runVar: this.runVar, momentum: this.momentum, eps: this.eps }, this.training && !this.frozen);
  }
  config() { return { type: 'BatchNorm2d', channels: this.channels, momentum: this.momentum, eps: this.eps }; }
}
registerLayer({
  type: 'BatchNorm2d', cls: BatchNorm2d,
  build: (s, c) => new BatchNorm2d(c.engine, c.num(s, 'channels'), c.num(s, 'momentum'), c.num(s, 'eps')),
  copyExtra: (src, dst) => { dst.frozen = src.frozen; },
});

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return ops.relu(x); }
  config() { return { type: 'ReLU' }; }
}

export class ReLU6 extends Module {
  forward(x: Tensor): Tensor { return ops.relu6(x); }
  config() { return { type: 'ReLU6' }; }
}

export class MaxPool2d extends Module {
  constructor(engine: Engine, readonly opts: ops.PoolOptions) { super(engine); }
  forward(x: Tensor): Tensor { return ops.maxPool2d(x, this.opts); }
  config() { return { type: 'MaxPool2d', ...this.opts }; }
}
registerLayer({ type: 'MaxPool2d', cls: MaxPool2d, build: (s, c) => new MaxPool2d(c.engine, poolOptions(s)) });

export class AvgPool2d extends Module {
  constructor(engine: Engine, readonly opts: ops.PoolOptions) { super(engine); }
  forward(x: Tensor): Tensor { return ops.avgPool2d(x, this.opts); }
  config() { return { type: 'AvgPool2d', ...this.opts }; }
}
registerLayer({ type: 'AvgPool2d', cls: AvgPool2d, build: (s, c) => new AvgPool2d(c.engine, poolOptions(s)) });

export class GlobalAvgPool extends Module {
  /** keepDims: [n, 1, 1, c] (a map a 1×1 conv can read: squeeze-excite) instead of [n, c]. */
  constructor(engine: Engine, readonly keepDims = false) { super(engine); }
  forward(x: Tensor): Tensor {
    const y = ops.globalAvgPool(x);
    return this.keepDims ? y.reshape([x.shape[0], 1, 1, x.shape[3]]) : y;
  }
  config() { return this.keepDims ? { type: 'GlobalAvgPool', keepDims: true } : { type: 'GlobalAvgPool' }; }
}

registerLayer({ type: 'GlobalAvgPool', cls: GlobalAvgPool, build: (s, c) => new GlobalAvgPool(c.engine, s.keepDims === true) });


export class Flatten extends Module {
  forward(x: Tensor): Tensor { return ops.flatten(x); }
  config() { return { type: 'Flatten' }; }
}

// the parameter-free kinds above: built from their type alone
for (const [type, cls] of [['ReLU', ReLU], ['ReLU6', ReLU6], ['Flatten', Flatten]] as const) {
  registerLayer<Module>({ type, cls, build: (_s, c) => new cls(c.engine) });
}

export class Dropout extends Module {
  /** Training-mode forward calls so far (the mask's seed); fit({ startStep }) restores it on resume. */
  calls = 0;
  constructor(engine: Engine, readonly p: number, public seed = 1) {
    super(engine);
    checkFinite('p', p);
    if (p < 0 || p >= 1) throw new RangeError(`dropout p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    // a different mask every call, reproducible from the seed
    return ops.dropout(x, this.p, (this.seed * 2654435761 + ++this.calls * 40503) >>> 0);
  }
  config() { return { type: 'Dropout', p: this.p }; }
}
registerLayer({
  type: 'Dropout', cls: Dropout,
  build: (s, c) => new Dropout(c.engine, c.num(s, 'p')),
  // the mask seed is not part of the description (checkpoints record p only); a clone keeps it
  copyExtra: (src, dst) => { dst.seed = src.seed; },
});

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(engine: Engine, layers: (Module | [string, Module])[]) {
    super(engine);
    this.layers = layers.map((l, i) => {
      const [name, m] = Array.isArray(l) ? l : [String(i), l];
      return this.child(name, m);
    });
  }
  forward(x: Tensor): Tensor {
    for (const l of this.layers) x = l.forward(x);
    return x;
  }
  /** forward(), also returning the outputs of the named sub-modules (names as in modules(): '3', '4.body.1'). */
  forwardWithTaps(x: Tensor, names: readonly string[]): { output: Tensor; taps: Map<string, Tensor> } {
    const t = tapModules(this, names);
    try { return { output: this.forward(x), taps: new Map(t.outputs) }; } finally { t.remove(); }
  }
  config() { return { type: 'Sequential', layers: this.layers.map((l) => l.config()) }; }
}
registerLayer({
  type: 'Sequential', cls: Sequential,
  describe: (m, c) => ({ type: 'Sequential', layers: m.children().map(([name, k]) => ({ name, module: c.describe(k) })) }),
  build: (s, c) => {
    if (!Array.isArray(s.layers)) throw new QwasmError(`${c.where}.layers must be an array`);
    return new Sequential(c.engine, s.layers.map((l: unknown, i: number) => {
      const e = l as { name?: unknown; module?: unknown };
      if (!e || typeof e.name !== 'string') throw new QwasmError(`${c.where}.layers[${i}] must be { name, module }`);
      return [e.name, c.build(e.module, `${c.where}.${e.name}`)] as [string, Module];
    }));
  },
});

/** y = relu?(body(x) + shortcut(x)): a residual block's join. */
export class Residual extends Module {
  constructor(engine: Engine, readonly body: Module, readonly shortcut: Module | null, readonly post: Module | null) {
    super(engine);
    this.child('body', body);
    if (shortcut) this.child('shortcut', shortcut);
    if (post) this.child('post', post);
  }
  forward(x: Tensor): Tensor {
    const y = ops.add(this.body.forward(x), this.shortcut ? this.shortcut.forward(x) : x);
    return this.post ? this.post.forward(y) : y;
  }
  config() { return { type: 'Residual', body: this.body.config(), shortcut: this.shortcut?.config() ?? null, post: this.post?.config() ?? null }; }
}
registerLayer({
  type: 'Residual', cls: Residual,
  describe: (m, c): LayerSpec => ({ type: 'Residual', body: c.describe(m.body), shortcut: m.shortcut ? c.describe(m.shortcut) : null, post: m.post ? c.describe(m.post) : null }),
  build: (s, c) => new Residual(c.engine, c.build(s.body, `${c.where}.body`), s.shortcut ? c.build(s.shortcut, `${c.where}.shortcut`) : null,
    s.post ? c.build(s.post, `${c.where}.post`) : null),
});

/** Forward taps installed on sub-modules: `outputs` holds each one's latest output (a step temporary). */
export interface ModuleTaps { readonly outputs: Map<string, Tensor>; remove(): void }

/**
 * Records the output of the named sub-modules of `root` (dotted names as in root.modules(); a leading
 * 'layers.' is accepted for a Sequential's direct children) every time they run, until remove().
 */
export function tapModules(root: Module, names: readonly string[]): ModuleTaps {
  const all = new Map(root.modules());
  const outputs = new Map<string, Tensor>();
  const undo: (() => void)[] = [];
  const remove = () => { while (undo.length) undo.pop()!(); };
  try {
    for (const name of names) {
      const key = typeof name === 'string' && !all.has(name) && name.startsWith('layers.') ? name.slice(7) : name;
      const m = typeof key === 'string' && key !== '' ? all.get(key) : undefined;
      if (!m) {
        const known = [...all.keys()].filter((k) => k !== '');
        throw new RangeError(`no sub-module named '${String(name)}' to tap (names: ${known.slice(0, 24).join(', ')}${known.length > 24 ? ', …' : ''})`);
      }
      const own = Object.getOwnPropertyDescriptor(m, 'forward');
      const inner = m.forward;
      m.forward = (x: Tensor): Tensor => { const y = inner.call(m, x); outputs.set(name, y); return y; };
      undo.push(() => { if (own) Object.defineProperty(m, 'forward', own); else delete (m as { forward?: unknown }).forward; });
    }
  } catch (err) { remove(); throw err; }
  return { outputs, remove };
}
