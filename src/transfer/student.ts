// A student that keeps pretrained weights (transfer-assisted compression): the teacher's first layers (a
// truncated network, e.g. MobileNetV2 up to block_10_expand_relu), then narrowed — in every layer whose output
// channels can go (a block's expansion conv with its BN and depthwise conv, the stem…), the channels of lowest
// filter L1 norm removed for real (src/compress/prune.ts: Pruner 'channel' + removePrunedChannels) — then
// GlobalAvgPool + a new Linear head. Kept channels keep the teacher's weights exactly; only the head is new.
// Residual blocks may be dropped too (depth pruning): a block whose output is x + f(x) is left out as the
// identity, so the layers after it read the same shape; what f(x) contributed is learned back in distillation.
import { Module } from '../nn/module.js';
import type { Tensor } from '../autograd/tensor.js';
import { BatchNorm2d, GlobalAvgPool, Linear, Residual, Sequential } from '../nn/layers.js';
import { InitRng } from '../util/rng.js';
import { copyModel } from '../nn/copy.js';
import { Pruner, removePrunedChannels } from '../compress/prune.js';
import { datasetBatches } from '../train/eval-loop.js';
import type { Dataset } from '../data/dataset.js';
import { checkInt, checkFinite, describe, QwasmError } from '../errors.js';

/**
 * Sets the running-statistics momentum of every BatchNorm2d. Keras' MobileNetV2 BN momentum 0.999 imports as
 * qwasm's 0.001 (the weight of the new batch): right for a network that keeps ImageNet statistics, far too slow
 * for one whose activations change — a narrowed student (fewer channels summed into each projection) or random
 * weights — where a few hundred steps would leave the running statistics at their old values.
 */
export function setBatchNormMomentum(model: Module, momentum: number): void {
  if (!(checkFinite('momentum', momentum) > 0 && momentum <= 1)) throw new RangeError(`momentum must be in (0, 1], got ${momentum}`);
  for (const [, m] of model.modules()) if (m instanceof BatchNorm2d) (m as { momentum: number }).momentum = momentum;
}

/** A trainable student: every BN back on batch statistics (the teacher's prefix may have been frozen) at `momentum`. */
function trainableBatchNorm(model: Module, momentum: number): void {
  setBatchNormMomentum(model, momentum);
  for (const [, m] of model.modules()) if (m instanceof BatchNorm2d) m.frozen = false;
}

export interface StudentOptions {
  /** Keep the teacher's top-level layers [0, upTo). */
  upTo: number;
  classes: number;
  /** Fraction of the output channels kept in each narrowable layer (1 = truncation only). */
  keep?: number;
  /** Sample input [h, w, c], to find the width of the truncated output. */
  input: [number, number, number];
  seed?: number;
  /** Residual blocks left out (top-level names in the teacher, e.g. '16'; each must be a Residual below `upTo`). */
  drop?: string[];
  /** Layers not to narrow (names in the truncated model, e.g. '0' the stem). */
  exclude?: string[];
  /** Kept channels per layer rounded to a multiple of this (default 1; 16: the int8 kernels' SIMD width). */
  channelMultiple?: number;
  /** BatchNorm momentum of the student (default 0.1: see setBatchNormMomentum). */
  bnMomentum?: number;
}

export interface Student {
  model: Sequential;
  /** Kept output channels of each narrowed layer (name in `model` before narrowing → indices in the teacher). */
  kept: Record<string, number[]>;
  /** Output channels of the truncated trunk (the head's inputs). */
  features: number;
}

/** Output channels of layers [0, upTo) on a zero input of shape `input` (one sample, eval mode, no graph). */
function trunkChannels(layers: readonly Module[], input: [number, number, number]): number {
  const E = layers[0].engine;
  const modes = layers.map((l) => l.training);
  let c = 0;
  try {
    E.noGrad(() => {
      let x = E.empty([1, ...input], false);
      x.write(new Float32Array(x.size));
      for (const l of layers) { l.eval(); x = l.forward(x); }
      c = x.shape[x.shape.length - 1];
    });
  } finally { E.endStep(); layers.forEach((l, i) => l.train(modes[i])); }
  return c;
}

/** Builds the student (see the file header); the teacher is not modified. */
export function buildStudent(teacher: Sequential, o: StudentOptions): Student {
  if (!(teacher instanceof Sequential)) throw new TypeError(`teacher must be a Sequential, got ${describe(teacher)}`);
  checkInt('upTo', o.upTo, 1, teacher.layers.length);
  checkInt('classes', o.classes, 1);
  const keep = checkFinite('keep', o.keep ?? 1);
  if (!(keep > 0 && keep <= 1)) throw new RangeError(`keep must be in (0, 1], got ${keep}`);
  const E = teacher.engine;
  const drop = new Set(o.drop ?? []);
  for (const name of drop) {
    const at = teacher.children().findIndex(([n]) => n === name);
    if (at < 0 || at >= o.upTo) throw new QwasmError(`buildStudent: cannot drop '${name}': no such layer below the cut (upTo ${o.upTo})`);
    const m = teacher.children()[at][1];
    if (!(m instanceof Residual) || m.shortcut || m.post) throw new QwasmError(`buildStudent: cannot drop '${name}': only identity residual blocks (x + f(x)) can be left out, it is ${m instanceof Residual ? 'a residual block with a shortcut or post layer' : `a ${m.constructor.name}`}`);
  }
  const trunkLayers = (teacher.children().slice(0, o.upTo) as [string, Module][]).filter(([n]) => !drop.has(n));
  const features = trunkChannels(trunkLayers.map(([, m]) => m), o.input);
  // a view over the teacher's modules, deep-copied (never disposed itself: it shares the teacher's tensors)
  const view = new Sequential(E, trunkLayers);
  const trunk = copyModel(view);
  const head = new Linear(E, features, o.classes, new InitRng(o.seed ?? 1));
  const truncated = new Sequential(E, [...(trunk.children() as [string, Module][]), ['pool', new GlobalAvgPool(E)], ['head', head]]);
  truncated.train(teacher.training);
  if (keep === 1) { trainableBatchNorm(truncated, o.bnMomentum ?? 0.1); return { model: truncated, kept: {}, features }; }
  let pruner: Pruner | null = null;
  try {
    pruner = new Pruner(truncated, { mode: 'channel', scope: 'layer', sparsity: 1 - keep, channelScore: 'l1', channelMultiple: o.channelMultiple ?? 1, exclude: ['head', ...(o.exclude ?? [])] });
    const kept: Record<string, number[]> = {};
    for (const [n] of truncated.modules()) { const k = pruner.keptChannels(n); if (k) kept[n] = k; }
    if (!Object.keys(kept).length) throw new QwasmError('buildStudent: no layer of the truncated network can be narrowed');
    const narrow = removePrunedChannels(truncated, pruner).model;
    trainableBatchNorm(narrow, o.bnMomentum ?? 0.1);
    return { model: narrow, kept, features };
  } finally {
    pruner?.dispose();
    truncated.dispose();
  }
}

/**
 * Re-estimates every BatchNorm2d's running statistics on `ds` (forward passes in training mode, no graph, no
 * weight change): after narrowing, the sums feeding each BN change and the teacher's statistics no longer fit.
 * `passes` over the images at the BN's momentum (0.1: 4 passes of ≥ 8 batches bring them within a few % of the
 * data's). Frozen BNs are left as they are.
 */
export function recalibrateBatchNorm(model: Module, ds: Dataset, o: { indices?: ArrayLike<number>; batchSize?: number; passes?: number } = {}): void {
  const E = model.engine, rt = E.rt;
  const passes = checkInt('passes', o.passes ?? 4, 1, 1000);
  const was = model.training;
  model.train(true);
  try {
    E.noGrad(() => {
      for (let p = 0; p < passes; p++) {
        datasetBatches(ds, { batchSize: o.batchSize ?? 16, indices: o.indices, shuffle: true, seed: p + 1, dropLast: true }, (xs, _ys, nb, it) => {
          const x = E.empty([nb, it.outHeight, it.outWidth, it.channels], false);
          rt.f32(x.ptr, xs.length).set(xs);
          model.forward(x);
          E.endStep();
        });
      }
    });
  } finally { E.endStep(); model.train(was); }
}

/**
 * A teacher that reads a student's lower-resolution input: the batch is resized bilinearly (align-corners off,
 * as tf.image.resize and sharp do) to `size` × `size`, then run through `model`. For distilling a student that
 * takes smaller images from a teacher trained at its own size (the Distiller feeds the teacher the student's
 * batch). Forward only, no graph: the teacher is frozen.
 */
export class ResizedInput extends Module {
  constructor(readonly model: Module, readonly size: number) {
    super(model.engine);
    checkInt('size', size, 1, 1 << 14);
    this.child('model', model);
  }
  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4) throw new QwasmError(`ResizedInput expects an NHWC batch, got shape [${x.shape}]`);
    const [B, h, w, c] = x.shape, S = this.size;
    if (h === S && w === S) return this.model.forward(x);
    const src = x.toArray(), out = new Float32Array(B * S * S * c);
    const axis = (o: number, n: number) => { const f = Math.max(0, (o + 0.5) * n / S - 0.5), i0 = Math.min(n - 1, Math.floor(f)); return [i0, Math.min(n - 1, i0 + 1), f - i0]; };
    for (let y = 0; y < S; y++) {
      const [y0, y1, wy] = axis(y, h);
      for (let xo = 0; xo < S; xo++) {
        const [x0, x1, wx] = axis(xo, w);
        for (let n = 0; n < B; n++) for (let k = 0; k < c; k++) {
          const at = (yy: number, xx: number) => src[((n * h + yy) * w + xx) * c + k];
          out[((n * S + y) * S + xo) * c + k] = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        }
      }
    }
    const y = this.engine.empty([B, S, S, c], false);
    y.write(out);
    return this.model.forward(y);
  }
  config() { return { type: 'ResizedInput', size: this.size, model: this.model.config() }; }
}
