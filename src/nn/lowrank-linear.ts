// LowRankLinear: y = (x·P)·Q + bias, a linear layer of rank ≤ r (what factorize() in src/compress/lowrank.ts
// turns a Linear into). It lives in nn, not compress, because checkpoints of factorised models rebuild it
// (src/nn/layer-spec.ts) and loading a checkpoint must not pull in compression and the SVD.
import type { Engine, Tensor } from '../autograd/tensor.js';
import { Module } from './module.js';
import { Linear } from './layers.js';
import { InitRng } from '../util/rng.js';
import { checkInt } from '../errors.js';
import { registerLayer } from './registry.js';

/** y = (x·P)·Q + bias: a linear layer of rank ≤ r. Children P = Linear(in, r, no bias), Q = Linear(r, out). */
export class LowRankLinear extends Module {
  readonly P: Linear;
  readonly Q: Linear;
  constructor(engine: Engine, readonly inFeatures: number, readonly outFeatures: number, readonly rank: number, rng: InitRng = new InitRng(1), bias = true) {
    super(engine);
    checkInt('inFeatures', inFeatures, 1);
    checkInt('outFeatures', outFeatures, 1);
    checkInt('rank', rank, 1, Math.min(inFeatures, outFeatures));
    this.P = this.child('P', new Linear(engine, inFeatures, rank, rng, false));
    this.Q = this.child('Q', new Linear(engine, rank, outFeatures, rng, bias));
  }
  /** [in, r] factor. */
  get p(): Tensor { return this.P.weight; }
  /** [r, out] factor. */
  get q(): Tensor { return this.Q.weight; }
  get bias(): Tensor | null { return this.Q.bias; }
  forward(x: Tensor): Tensor { return this.Q.forward(this.P.forward(x)); }
  config() { return { type: 'LowRankLinear', in: this.inFeatures, out: this.outFeatures, rank: this.rank, bias: !!this.Q.bias }; }
}

registerLayer({
  type: 'LowRankLinear', cls: LowRankLinear,
  build: (s, c) => new LowRankLinear(c.engine, c.num(s, 'in'), c.num(s, 'out'), c.num(s, 'rank'), c.rng, s.bias !== false),
});
