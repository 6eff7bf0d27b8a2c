// Unsupervised domain adaptation: a labelled source dataset, an unlabelled target dataset of the same classes
// (its labels are never read for training). Methods:
//  - 'source-only': the baseline — source cross-entropy only (same loop, same batches).
//  - 'dann' (Ganin & Lempitsky 2015): a domain classifier (small MLP) on the features of both domains behind a
//    gradient reversal layer whose λ follows λ_p = 2/(1+exp(−10p)) − 1 (p = progress in [0, 1]); optional
//    learning-rate annealing μ_p = μ0/(1+10p)^0.75.
//  - 'coral' (Sun & Saenko 2016, Deep CORAL): source CE + λ·‖C_s − C_t‖²_F/(4d²) on the features.
// The model is a Sequential split at `split`: layers [0, split) are the feature extractor, [split, end) the
// label classifier (default split: the last Linear, so refcnn's features are its 128-d ReLU output).
import type { Engine, Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import { gradReverse, coralLoss } from '../autograd/ops-extra.js';
import { Sequential, Linear, ReLU } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { InitRng } from '../util/rng.js';
import { Optimizer, type OptimizerSpec } from '../optim/optimizer.js';
import { BatchIterator } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import { evaluate, type EvalResult } from '../train/trainer.js';
import { argmaxRows } from '../kernels/eltwise_f32.js';
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';

export type AdaptMethod = 'source-only' | 'dann' | 'coral';
export const ADAPT_METHODS: readonly AdaptMethod[] = ['source-only', 'dann', 'coral'];

/** DANN's adaptation factor λ_p = 2/(1 + exp(−gamma·p)) − 1 for progress p in [0, 1] (gamma 10). */
export function dannLambda(p: number, gamma = 10): number {
  checkFinite('p', p); checkFinite('gamma', gamma);
  return 2 / (1 + Math.exp(-gamma * p)) - 1;
}

/** DANN's learning-rate annealing μ_p = μ0 / (1 + alpha·p)^beta (alpha 10, beta 0.75). */
export function dannLr(lr0: number, p: number, alpha = 10, beta = 0.75): number {
  checkFinite('lr0', lr0); checkFinite('p', p); checkFinite('alpha', alpha); checkFinite('beta', beta);
  return lr0 / Math.pow(1 + alpha * p, beta);
}

/** Layers [0, split) of a Sequential as the feature extractor, [split, end) as the label classifier. */
export interface SplitModel { features: (x: Tensor) => Tensor; classify: (f: Tensor) => Tensor; split: number; featureModules: Module[]; headModules: Module[] }

export function splitSequential(model: Sequential, split?: number): SplitModel {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential (e.g. from buildModel), got ${describe(model)}`);
  const L = model.layers;
  let s = split;
  if (s === undefined) {
    s = -1;
    for (let i = L.length - 1; i >= 0; i--) if (L[i] instanceof Linear) { s = i; break; }
    if (s < 1) throw new QwasmError('the model has no Linear head after a feature extractor: pass split (index of the first classifier layer)');
  }
  checkInt('split', s, 1, L.length - 1);
  const featureModules = L.slice(0, s), headModules = L.slice(s);
  return {
    split: s, featureModules, headModules,
    features: (x) => { for (const l of featureModules) x = l.forward(x); return x; },
    classify: (f) => { for (const l of headModules) f = l.forward(f); return f; },
  };
}

/** The domain classifier: Linear → ReLU (per hidden size) → Linear(2). Output 0 = source, 1 = target. */
export function domainClassifier(engine: Engine, inFeatures: number, hidden: readonly number[] = [100], seed = 1): Sequential {
  checkInt('inFeatures', inFeatures, 1);
  if (!Array.isArray(hidden)) throw new TypeError(`domainHidden must be an array of layer sizes, got ${describe(hidden)}`);
  hidden.forEach((h, i) => checkInt(`domainHidden[${i}]`, h, 1));
  const rng = new InitRng(seed);
  const layers: Module[] = [];
  let cin = inFeatures;
  for (const h of hidden) { layers.push(new Linear(engine, cin, h, rng), new ReLU(engine)); cin = h; }
  layers.push(new Linear(engine, cin, 2, rng));
  return new Sequential(engine, layers);
}

export interface AdaptStepInfo {
  step: number; totalSteps: number;
  /** total objective, source cross-entropy, adaptation term (DANN domain CE, or the unweighted CORAL loss) */
  loss: number; taskLoss: number; adaptLoss: number;
  /** source batch accuracy; DANN: domain classifier accuracy on both batches */
  sourceAccuracy: number; domainAccuracy?: number;
  /** GRL factor (DANN) or CORAL weight actually used this step */
  lambda: number; lr: number; seconds: number;
}

export interface AdaptOptions {
  method: AdaptMethod;
  /** Optimiser steps (each draws one source and one target batch). */
  steps: number;
  /** Per-domain batch size (default 64). */
  batchSize?: number;
  lr: number;
  /** Default { kind: 'adam' }. DANN's paper uses SGD momentum 0.9 with lrAnneal. */
  optimizer?: OptimizerSpec;
  /** DANN μ_p = lr/(1+10p)^0.75 (default false). */
  lrAnneal?: boolean;
  /** Index of the first classifier layer of the Sequential (default: its last Linear). */
  split?: number;
  /**
   * Weight of the adaptation term: CORAL λ (default 1); DANN: the GRL factor's maximum (λ = weight·λ_p,
   * default 1).
   */
  weight?: number;
  /** DANN: 'schedule' (λ_p, default) or 'constant' (λ = weight from the first step). */
  lambdaSchedule?: 'schedule' | 'constant';
  /** DANN domain classifier hidden sizes (default [100]). */
  domainHidden?: number[];
  /** DANN: the domain classifier trains at lr × domainLrScale (its own learning rate; default 1). */
  domainLrScale?: number;
  /**
   * The label classifier (layers [split, end)) trains at lr × headLrScale (default 1): a new head on pretrained
   * features learns faster than the features, as in both papers (their new layers at 10× the rate).
   */
  headLrScale?: number;
  seed?: number;
  /** Random shifts of ±shift pixels of the source (and target) batches (default 0). */
  shift?: number;
  clipNorm?: number;
  /** Evaluate on this (target test) set every evalEvery steps and at the end. */
  targetTest?: Dataset;
  evalEvery?: number;
  onStep?: (s: AdaptStepInfo) => void;
  onEval?: (e: { step: number; accuracy: number; loss: number }) => void;
}

export interface AdaptResult {
  method: AdaptMethod;
  steps: number;
  seconds: number;
  finalLoss: number;
  /** Target test accuracy at the end (when targetTest was given). */
  targetAccuracy?: number;
  evals: { step: number; accuracy: number; loss: number }[];
  optimizer: Optimizer;
  /** DANN's domain classifier (null otherwise). */
  domainHead: Sequential | null;
  /** Frees the optimiser state and the domain classifier (the model stays). */
  dispose(): void;
}

/**
 * Trains `model` on labelled `source` batches while adapting it to unlabelled `target` batches (one of each
 * per step; both iterators reshuffle at their epoch ends). Every step's temporaries are freed at its end.
 */
// Long (~140 lines): option checks, then one training loop whose step interleaves the source and target
// batches and the adaptation loss; its state (iterators, taps, optimiser) is local to the loop.
export function adapt(model: Sequential, source: Dataset, target: Dataset, o: AdaptOptions): AdaptResult {
  if (!o || typeof o !== 'object') throw new TypeError(`options must be an object, got ${describe(o)}`);
  if (!ADAPT_METHODS.includes(o.method)) throw new TypeError(`method must be one of ${ADAPT_METHODS.map((m) => `'${m}'`).join(', ')}, got ${describe(o.method)}`);
  const sp = splitSequential(model, o.split);
  const engine = model.engine, rt = engine.rt;
  const total = checkInt('steps', o.steps, 1);
  const B = checkInt('batchSize', o.batchSize ?? 64, 2, 65536);
  const lr0 = checkFinite('lr', o.lr);
  if (!(lr0 > 0)) throw new RangeError(`lr must be positive, got ${lr0}`);
  const weight = checkFinite('weight', o.weight ?? 1);
  if (weight < 0) throw new RangeError(`weight must be ≥ 0, got ${weight}`);
  const sched = o.lambdaSchedule ?? 'schedule';
  if (sched !== 'schedule' && sched !== 'constant') throw new TypeError(`lambdaSchedule must be 'schedule' or 'constant', got ${describe(sched)}`);
  const seed = checkInt('seed', o.seed ?? 1, 0, 0xfffffffe);
  const shift = checkInt('shift', o.shift ?? 0, 0, 16);
  const evalEvery = o.evalEvery === undefined ? 0 : checkInt('evalEvery', o.evalEvery, 1);
  const domainLrScale = checkFinite('domainLrScale', o.domainLrScale ?? 1);
  if (domainLrScale < 0) throw new RangeError(`domainLrScale must be ≥ 0, got ${domainLrScale}`);
  const headLrScale = checkFinite('headLrScale', o.headLrScale ?? 1);
  if (headLrScale < 0) throw new RangeError(`headLrScale must be ≥ 0, got ${headLrScale}`);
  for (const [name, ds] of [['source', source], ['target', target]] as const) {
    if (!ds || typeof ds !== 'object' || !(ds.images instanceof Uint8Array)) throw new TypeError(`${name} must be a Dataset, got ${describe(ds)}`);
    if (ds.length < B) throw new QwasmError(`the ${name} set (${ds.length} examples) is smaller than one batch of ${B}`);
  }
  if (source.height !== target.height || source.width !== target.width || source.channels !== target.channels) {
    throw new QwasmError(`source images are ${source.height}×${source.width}×${source.channels} but target images are ${target.height}×${target.width}×${target.channels}`);
  }
  if (o.targetTest && o.targetTest.classes.length !== source.classes.length) {
    throw new QwasmError(`targetTest has ${o.targetTest.classes.length} classes, source has ${source.classes.length}`);
  }
  const itS = new BatchIterator(source, { batchSize: B, seed, shuffle: true, dropLast: true, shift });
  const itT = new BatchIterator(target, { batchSize: B, seed: seed + 1, shuffle: true, dropLast: true, shift });
  const per = itS.sampleSize, shape = [B, itS.outHeight, itS.outWidth, itS.channels];

  // the domain classifier needs the feature width: one no-grad probe forward (eval mode: batch-norm running
  // statistics must not see the probe)
  let domainHead: Sequential | null = null;
  if (o.method === 'dann') {
    model.eval();
    let d = 0;
    try {
      d = engine.noGrad(() => {
        const f = sp.features(engine.empty([1, ...shape.slice(1)]));
        if (f.shape.length !== 2) throw new QwasmError(`DANN needs [n, d] features at split ${sp.split}, got shape [${f.shape}]`);
        return f.shape[1];
      });
    } finally { engine.endStep(); model.train(); }
    domainHead = domainClassifier(engine, d, o.domainHidden ?? [100], seed + 7);
  }
  const headTensors = new Set(sp.headModules.flatMap((m) => m.parameters()));
  const named = model.namedParameters();
  const groups = [{ params: named.filter(([, p]) => !headTensors.has(p.tensor)), lrScale: 1 }, { params: named.filter(([, p]) => headTensors.has(p.tensor)), lrScale: headLrScale }];
  if (domainHead) groups.push({ params: domainHead.namedParameters('domain.'), lrScale: domainLrScale });
  const opt = new Optimizer(engine, groups, o.optimizer ?? { kind: 'adam' });
  const labelsPtr = rt.alloc(B * 4), domPtr = rt.alloc(2 * B * 4), predPtr = rt.alloc(B * 4);
  const dl = rt.i32(domPtr, 2 * B); dl.fill(0, 0, B); dl.fill(1, B, 2 * B);
  const ys = new Int32Array(B), yt = new Int32Array(B);
  const evals: AdaptResult['evals'] = [];
  const t0 = performance.now();
  let lastLoss = NaN, step = 0;
  const draw = (it: BatchIterator, x: Tensor, y: Int32Array) => {
    let n = it.next(rt.f32(x.ptr, B * per), y);
    if (n === 0) { it.nextEpoch(); n = it.next(rt.f32(x.ptr, B * per), y); }
    if (n !== B) throw new QwasmError(`internal: a batch of ${n} instead of ${B}`);
  };
  const runEval = (at: number) => {
    const r: EvalResult = evaluate(model, o.targetTest!);
    const e = { step: at, accuracy: r.accuracy, loss: r.loss };
    evals.push(e);
    o.onEval?.(e);
    model.train();
  };
  model.train();
  domainHead?.train();
  try {
    for (; step < total; step++) {
      const p = total > 1 ? step / (total - 1) : 1;
      const lr = o.lrAnneal ? dannLr(lr0, p) : lr0;
      const xs = engine.empty(shape, false);
      draw(itS, xs, ys);
      rt.i32(labelsPtr, B).set(ys);
      const fs = sp.features(xs);
      const logits = sp.classify(fs);
      const task = ops.crossEntropy(logits, labelsPtr);
      let lossT = task, adaptV = 0, lambda = 0, domainAcc: number | undefined;
      if (o.method !== 'source-only') {
        const xt = engine.empty(shape, false);
        draw(itT, xt, yt); // target labels are written by the iterator but never used
        const ft = sp.features(xt);
        if (o.method === 'dann') {
          lambda = weight * (sched === 'schedule' ? dannLambda(p) : 1);
          const ds = domainHead!.forward(gradReverse(fs, lambda));
          const dt = domainHead!.forward(gradReverse(ft, lambda));
          const ls = ops.crossEntropy(ds, domPtr), lt = ops.crossEntropy(dt, domPtr + B * 4);
          const dom = ops.weightedSum([[ls, 0.5], [lt, 0.5]]);
          adaptV = dom.item();
          lossT = ops.weightedSum([[task, 1], [dom, 1]]);
          let c = 0;
          argmaxRows(rt, ds.ptr, B, 2, predPtr);
          for (const v of rt.i32(predPtr, B)) if (v === 0) c++;
          argmaxRows(rt, dt.ptr, B, 2, predPtr);
          for (const v of rt.i32(predPtr, B)) if (v === 1) c++;
          domainAcc = c / (2 * B);
        } else {
          lambda = weight;
          const lc = coralLoss(fs, ft);
          adaptV = lc.item();
          lossT = weight ? ops.weightedSum([[task, 1], [lc, weight]]) : task;
        }
      }
      const lv = lossT.item();
      if (!Number.isFinite(lv)) throw new QwasmError(`adaptation (${o.method}) stopped: the loss became ${lv} at step ${step}; lower the learning rate, the weight, or clip gradients`);
      lossT.backward();
      if (o.clipNorm) opt.clip(o.clipNorm);
      opt.step(lr);
      opt.zeroGrad();
      argmaxRows(rt, logits.ptr, B, logits.shape[1], predPtr);
      let correct = 0;
      const pred = rt.i32(predPtr, B);
      for (let i = 0; i < B; i++) if (pred[i] === ys[i]) correct++;
      const taskV = task.item();
      engine.endStep();
      lastLoss = lv;
      o.onStep?.({ step: step + 1, totalSteps: total, loss: lv, taskLoss: taskV, adaptLoss: adaptV, sourceAccuracy: correct / B,
        domainAccuracy: domainAcc, lambda, lr, seconds: (performance.now() - t0) / 1000 });
      if (o.targetTest && evalEvery && (step + 1) % evalEvery === 0 && step + 1 < total) runEval(step + 1);
    }
    if (o.targetTest) runEval(step);
  } catch (err) {
    engine.endStep();
    opt.dispose(); domainHead?.dispose();
    throw err;
  } finally {
    engine.endStep();
    rt.free(labelsPtr); rt.free(domPtr); rt.free(predPtr);
  }
  return {
    method: o.method, steps: step, seconds: (performance.now() - t0) / 1000, finalLoss: lastLoss,
    targetAccuracy: evals.length ? evals[evals.length - 1].accuracy : undefined, evals, optimizer: opt, domainHead,
    dispose() { opt.dispose(); domainHead?.dispose(); },
  };
}
