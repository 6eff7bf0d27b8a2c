// Transfer learning by feature extraction: the pretrained network minus its head is a frozen backbone; its
// features of the train and test sets are computed once (eval mode, no graph) and cached as Float32Arrays;
// then either a linear head is trained on the cached features with the training engine (a Linear on [B, D]
// feature tensors, the same Optimizer and loss kernels), or a nearest-class-mean classifier (cosine
// similarity to the class means of L2-normalised features) needs no training at all.
import { Tensor, type Engine } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import { Linear, type Sequential } from '../nn/layers.js';
import { InitRng } from '../util/rng.js';
import { Optimizer, type OptimizerSpec } from '../optim/optimizer.js';
import { makeSchedule } from '../optim/schedule.js';
import { evalForward } from '../train/eval-loop.js';
import type { Dataset } from '../data/dataset.js';
import { Rng as DataRng, hash32 } from '../util/rng.js';
import { argmaxRows } from '../kernels/eltwise_f32.js';
import { headIndex } from './finetune.js';
import { saveCheckpoint, loadCheckpoint, type CheckpointMeta } from '../checkpoint/index.js';
import { checkInt, checkFinite, describe, QwasmError } from '../errors.js';

/** Features of a set: count × dim floats (row-major) and the labels. */
export interface Features {
  data: Float32Array;
  labels: Int32Array;
  count: number;
  dim: number;
  classes: number;
}

export interface ExtractOptions {
  /** Layers [0, upTo) of the Sequential form the backbone (default: everything before the head). */
  upTo?: number;
  batchSize?: number;
  indices?: ArrayLike<number>;
}

/**
 * Runs the backbone (layers before the head) over a dataset in eval mode without a graph and returns the
 * features (flattened per example) — computed once, then reusable by any number of heads.
 */
export function extractFeatures(model: Sequential, ds: Dataset, o: ExtractOptions = {}): Features {
  const upTo = o.upTo ?? headIndex(model);
  checkInt('upTo', upTo, 1, model.layers.length);
  const B = checkInt('batchSize', o.batchSize ?? 200, 1, 65536);
  let data: Float32Array | null = null, labels = new Int32Array(0), dim = 0, count = 0;
  evalForward(model.engine, [model], ds, { batchSize: B, indices: o.indices }, (x, ys, nb, it) => {
    for (let i = 0; i < upTo; i++) x = model.layers[i].forward(x);
    if (!data) { dim = x.size / nb; data = new Float32Array(it.size * dim); labels = new Int32Array(it.size); }
    data.set(x.data(), count * dim);
    labels.set(ys, count);
    count += nb;
  });
  return { data: data ?? new Float32Array(0), labels, count, dim, classes: ds.classes.length };
}

/** Features of the train and test sets, computed once. */
export interface FeatureCache { train: Features; test: Features; seconds: number }

export function cacheFeatures(model: Sequential, sets: { train: Dataset; test: Dataset }, o: Omit<ExtractOptions, 'indices'> & { trainIndices?: ArrayLike<number> } = {}): FeatureCache {
  const t0 = performance.now();
  const train = extractFeatures(model, sets.train, { ...o, indices: o.trainIndices });
  const test = extractFeatures(model, sets.test, o);
  return { train, test, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Writes cached features to a checkpoint file (atomic): tensors '<split>.features' [count, dim] f32 and
 * '<split>.labels' i32, meta.features = { classes }, plus `meta` (e.g. which model and data made them).
 */
export function saveFeatures(file: string, sets: Record<string, Features>, meta: CheckpointMeta = {}): number {
  const tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
  const classes: Record<string, number> = {};
  for (const [name, f] of Object.entries(sets)) {
    if (name === 'seconds') continue; // a FeatureCache's timing
    checkFeatures(name, f);
    tensors[`${name}.features`] = { shape: [f.count, f.dim], data: f.data };
    tensors[`${name}.labels`] = { shape: [f.count], data: f.labels };
    classes[name] = f.classes;
  }
  return saveCheckpoint(file, { meta: { ...meta, features: { classes } }, tensors });
}

/** Reads features written by saveFeatures: { split: Features } and the metadata. */
export function loadFeatures(file: string): { sets: Record<string, Features>; meta: CheckpointMeta } {
  const ck = loadCheckpoint(file);
  const classes = ((ck.meta as { features?: { classes?: Record<string, number> } }).features?.classes) ?? {};
  const sets: Record<string, Features> = {};
  for (const [name, n] of Object.entries(classes)) {
    const x = ck.tensors[`${name}.features`], y = ck.tensors[`${name}.labels`];
    if (!x || !y || !(x.data instanceof Float32Array) || !(y.data instanceof Int32Array) || x.shape.length !== 2) {
      throw new QwasmError(`${file}: no f32 '${name}.features' [count, dim] and i32 '${name}.labels'`);
    }
    sets[name] = checkFeatures(name, { data: x.data, labels: y.data, count: x.shape[0], dim: x.shape[1], classes: n });
  }
  return { sets, meta: ck.meta };
}

function checkFeatures(name: string, f: Features): Features {
  if (!f || !(f.data instanceof Float32Array) || !(f.labels instanceof Int32Array)) throw new TypeError(`${name} must be Features ({ data, labels, count, dim }), got ${describe(f)}`);
  if (f.data.length !== f.count * f.dim || f.labels.length !== f.count) throw new RangeError(`${name}: data has ${f.data.length} floats, labels ${f.labels.length}, for ${f.count} × ${f.dim}`);
  return f;
}

export interface LinearHeadOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: OptimizerSpec;
  schedule?: 'constant' | 'cosine';
  seed?: number;
  labelSmoothing?: number;
  /** Score the test features after each epoch. */
  test?: Features;
  onEpoch?: (e: { epoch: number; loss: number; trainAccuracy: number; testAccuracy?: number }) => void;
}

export interface LinearHeadResult {
  head: Linear;
  steps: number;
  finalLoss: number;
  epochs: { epoch: number; loss: number; trainAccuracy: number; testAccuracy?: number }[];
  seconds: number;
}

/**
 * Trains a Linear(dim → classes) head on cached features with the training engine (seeded shuffles, the
 * usual optimisers). The head can be installed on the model with replaceHead(model, classes, { head }).
 */
export function trainLinearHead(engine: Engine, feats: Features, o: LinearHeadOptions = {}): LinearHeadResult {
  const f = checkFeatures('features', feats);
  const epochs = checkInt('epochs', o.epochs ?? 30, 1, 100000);
  const B = Math.min(checkInt('batchSize', o.batchSize ?? 32, 1, 65536), f.count);
  if (f.count < 1) throw new QwasmError('no features to train on');
  const seed = o.seed ?? 1;
  const head = new Linear(engine, f.dim, f.classes, new InitRng(seed));
  const opt = new Optimizer(engine, head.namedParameters(), o.optimizer ?? { kind: 'adam' });
  const spe = Math.floor(f.count / B), total = epochs * spe;
  const schedule = makeSchedule({ kind: o.schedule ?? 'constant', lr: checkFinite('lr', o.lr ?? 1e-2), totalSteps: total });
  const rt = engine.rt;
  const labelsPtr = rt.alloc(B * 4), predPtr = rt.alloc(B * 4);
  const order = Int32Array.from({ length: f.count }, (_, i) => i);
  const ys = new Int32Array(B);
  const hist: LinearHeadResult['epochs'] = [];
  const t0 = performance.now();
  let step = 0, last = NaN;
  try {
    for (let ep = 0; ep < epochs; ep++) {
      new DataRng(hash32(seed, ep, 0xfea7)).shuffle(order);
      let lossSum = 0, correct = 0;
      for (let b = 0; b < spe; b++) {
        const x = engine.empty([B, f.dim], false);
        const xv = rt.f32(x.ptr, B * f.dim);
        for (let i = 0; i < B; i++) { const j = order[b * B + i]; xv.set(f.data.subarray(j * f.dim, (j + 1) * f.dim), i * f.dim); ys[i] = f.labels[j]; }
        rt.i32(labelsPtr, B).set(ys);
        const logits = head.forward(x);
        const loss = ops.crossEntropy(logits, labelsPtr, o.labelSmoothing ?? 0);
        const lv = loss.item();
        if (!Number.isFinite(lv)) throw new QwasmError(`linear head: the loss became ${lv} at step ${step}; lower the learning rate`);
        loss.backward();
        opt.step(schedule(step));
        opt.zeroGrad();
        argmaxRows(rt, logits.ptr, B, f.classes, predPtr);
        const pred = rt.i32(predPtr, B);
        for (let i = 0; i < B; i++) if (pred[i] === ys[i]) correct++;
        engine.endStep();
        lossSum += lv; last = lv; step++;
      }
      const e: LinearHeadResult['epochs'][number] = { epoch: ep + 1, loss: lossSum / spe, trainAccuracy: correct / (spe * B) };
      if (o.test) e.testAccuracy = headAccuracy(head, o.test);
      hist.push(e);
      o.onEpoch?.(e);
    }
  } catch (err) { head.dispose(); throw err; } finally {
    engine.endStep();
    rt.free(labelsPtr); rt.free(predPtr);
    opt.dispose();
  }
  return { head, steps: step, finalLoss: last, epochs: hist, seconds: (performance.now() - t0) / 1000 };
}

/** Predicted classes of a Linear head on features (no graph). */
export function headPredict(head: Linear, feats: Features, batchSize = 500): Int32Array {
  const f = checkFeatures('features', feats);
  if (f.dim !== head.inFeatures) throw new RangeError(`the head takes ${head.inFeatures} features, got ${f.dim}`);
  const engine = head.engine, rt = engine.rt;
  const out = new Int32Array(f.count);
  checkInt('batchSize', batchSize, 1, 65536);
  const predPtr = rt.alloc(batchSize * 4);
  try {
    engine.noGrad(() => {
      for (let s = 0; s < f.count; s += batchSize) {
        const nb = Math.min(batchSize, f.count - s);
        const x: Tensor = engine.empty([nb, f.dim], false);
        x.write(f.data.subarray(s * f.dim, (s + nb) * f.dim));
        const logits = head.forward(x);
        argmaxRows(rt, logits.ptr, nb, head.outFeatures, predPtr);
        out.set(rt.i32(predPtr, nb), s);
        engine.endStep();
      }
    });
  } finally { engine.endStep(); rt.free(predPtr); }
  return out;
}

const accuracyOf = (pred: Int32Array, labels: Int32Array): number => {
  let c = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) c++;
  return c / Math.max(1, pred.length);
};

/** Accuracy of a Linear head on features. */
export const headAccuracy = (head: Linear, feats: Features): number => accuracyOf(headPredict(head, feats), feats.labels);

/** Copies of the rows of `f`, each scaled to unit L2 norm (a zero row stays zero). */
export function l2Normalize(f: Features): Features {
  checkFeatures('features', f);
  const data = f.data.slice();
  for (let i = 0; i < f.count; i++) {
    const row = data.subarray(i * f.dim, (i + 1) * f.dim);
    let s = 0;
    for (let j = 0; j < f.dim; j++) s += row[j] * row[j];
    if (s > 0) { const k = 1 / Math.sqrt(s); for (let j = 0; j < f.dim; j++) row[j] *= k; }
  }
  return { ...f, data };
}

/**
 * Nearest class mean: each class's prototype is the mean of its L2-normalised features (normalised again);
 * a query goes to the prototype of highest cosine similarity. Training is one pass (no gradients).
 */
export class NearestClassMean {
  /** classes × dim, unit rows (a class without examples has a zero row and is never predicted). */
  readonly means: Float32Array;
  readonly counts: Int32Array;

  constructor(readonly dim: number, readonly classes: number) {
    checkInt('dim', dim, 1); checkInt('classes', classes, 1);
    this.means = new Float32Array(classes * dim);
    this.counts = new Int32Array(classes);
  }

  static fit(feats: Features): NearestClassMean {
    const f = checkFeatures('features', feats);
    const ncm = new NearestClassMean(f.dim, f.classes);
    const n = l2Normalize(f), d = f.dim;
    for (let i = 0; i < f.count; i++) {
      const c = f.labels[i];
      if (c < 0 || c >= f.classes) throw new RangeError(`labels[${i}] = ${c} is outside [0, ${f.classes})`);
      ncm.counts[c]++;
      const m = ncm.means.subarray(c * d, (c + 1) * d), row = n.data.subarray(i * d, (i + 1) * d);
      for (let j = 0; j < d; j++) m[j] += row[j];
    }
    for (let c = 0; c < f.classes; c++) {
      const m = ncm.means.subarray(c * d, (c + 1) * d);
      let s = 0;
      for (let j = 0; j < d; j++) s += m[j] * m[j];
      if (s > 0) { const k = 1 / Math.sqrt(s); for (let j = 0; j < d; j++) m[j] *= k; }
    }
    return ncm;
  }

  /** Cosine similarities [count × classes]. */
  scores(feats: Features): Float32Array {
    const f = checkFeatures('features', feats);
    if (f.dim !== this.dim) throw new RangeError(`features have dim ${f.dim}, the classifier ${this.dim}`);
    const n = l2Normalize(f), d = this.dim, C = this.classes;
    const out = new Float32Array(f.count * C);
    for (let i = 0; i < f.count; i++) {
      const row = n.data.subarray(i * d, (i + 1) * d);
      for (let c = 0; c < C; c++) {
        if (!this.counts[c]) { out[i * C + c] = -Infinity; continue; }
        let s = 0;
        const m = this.means.subarray(c * d, (c + 1) * d);
        for (let j = 0; j < d; j++) s += row[j] * m[j];
        out[i * C + c] = s;
      }
    }
    return out;
  }

  predict(feats: Features): Int32Array {
    const s = this.scores(feats), C = this.classes, out = new Int32Array(feats.count);
    for (let i = 0; i < feats.count; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (s[i * C + c] > s[i * C + best]) best = c;
      out[i] = best;
    }
    return out;
  }

  accuracy(feats: Features): number { return accuracyOf(this.predict(feats), feats.labels); }
}
