// The training loop: batches are written straight into WASM memory, forward / backward / optimiser step
// run on the kernels, and every temporary of a step is freed at its end (memory stays flat). The loop is ONE
// generator (fitRounds) that yields its rounds with the thread pool (src/threads/exchange.ts): fit drives it
// blocking, fitAsync awaiting (a browser main thread's Web Workers run the steps while the page stays responsive).
import type { Engine, Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import type { Module, ParamInfo } from '../nn/module.js';
import { Optimizer, type OptimizerSpec } from '../optim/optimizer.js';
import { makeSchedule, type Schedule } from '../optim/schedule.js';
import { BatchIterator } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';
import { argmaxRows } from '../kernels/eltwise_f32.js';
import { checkInt, QwasmError } from '../errors.js';
import { Dropout } from '../nn/layers.js';
import { DataParallel } from './data-parallel.js';
import { drive, driveAsync, type Rounds } from '../threads/exchange.js';
import { backgroundPool } from '../threads/transport-browser.js';
import type { ThreadPool } from '../threads/pool.js';
import { evalForward } from './eval-loop.js';

export interface StepInfo {
  epoch: number; step: number; stepsPerEpoch: number; totalSteps: number;
  loss: number; accuracy: number; lr: number; imagesPerSecond: number; seconds: number;
}

export interface EpochInfo { epoch: number; /** optimiser steps done at the end of this epoch */ step: number; trainLoss: number; trainAccuracy: number; testAccuracy?: number; testLoss?: number; seconds: number; evalSeconds?: number }

/** Extra terms of the objective (distillation, hint losses, QAT penalties…): return weighted scalar tensors. */
export type LossHook = (ctx: { x: Tensor; logits: Tensor; labelsPtr: number; step: number; taskLoss: Tensor }) => [Tensor, number][];

export interface FitOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer?: OptimizerSpec;
  schedule?: 'constant' | 'step' | 'cosine';
  warmupSteps?: number;
  /** step schedule: decay by gamma every stepEpochs epochs */
  stepEpochs?: number;
  gamma?: number;
  /** clip the global gradient norm */
  clipNorm?: number;
  /** gradient accumulation: sum the gradients of this many batches per optimiser step (default 1) */
  accumulateSteps?: number;
  seed?: number;
  /** random shifts of ±shift pixels (augmentation) */
  shift?: number;
  flip?: boolean;
  labelSmoothing?: number;
  /** weight of the task (hard-label) loss; default 1 */
  taskWeight?: number;
  extraLoss?: LossHook;
  /** called before every optimiser step (e.g. pruning masks, QAT schedules) */
  beforeStep?: (step: number) => void;
  afterStep?: (step: number) => void;
  /** stop after this many steps (budgets) */
  maxSteps?: number;
  /** evaluate on this set after each epoch */
  test?: Dataset;
  onStep?: (s: StepInfo) => void;
  onEpoch?: (e: EpochInfo) => void;
  /** examples only from these indices of the training set */
  indices?: ArrayLike<number>;
  optimizerInstance?: Optimizer;
  /**
   * Resume at this optimiser step (of the same run: same options and seed), with the model and
   * optimizerInstance restored from its checkpoint: batches, augmentation, dropout masks and the learning-rate
   * schedule continue exactly where the run stopped, so the result equals the uninterrupted run's.
   */
  startStep?: number;
  /** more trainable parameters optimised with the model's (e.g. distillation hint adapters) */
  extraParameters?: [string, ParamInfo][];
}

export interface FitResult {
  epochs: EpochInfo[];
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  finalTrainLoss: number;
  optimizer: Optimizer;
  /** Threads the steps ran on (1: the calling thread alone; why: the runtime's threadsReason, or the model / batch). */
  threads: number;
}

/**
 * One training step's forward, loss (task + o.extraLoss terms) and backward on this thread (no replicas): the loss
 * value (a non-finite one throws lossError before the backward) and how many of the batch's predictions were right.
 */
function localStep(model: Module, x: Tensor, ys: Int32Array, labelsPtr: number, predPtr: number, o: FitOptions, step: number,
                   lossError: (lv: number) => Error): { loss: number; correct: number } {
  const rt = model.engine.rt, B = ys.length;
  const logits = model.forward(x);
  const task = ops.crossEntropy(logits, labelsPtr, o.labelSmoothing ?? 0);
  const extra = o.extraLoss ? o.extraLoss({ x, logits, labelsPtr, step, taskLoss: task }) : [];
  const lossT = extra.length ? ops.weightedSum([[task, o.taskWeight ?? 1], ...extra]) : task;
  const lv = lossT.item();
  if (!Number.isFinite(lv)) throw lossError(lv);
  lossT.backward();
  argmaxRows(rt, logits.ptr, B, logits.shape[1], predPtr);
  const pred = rt.i32(predPtr, B);
  let correct = 0;
  for (let i = 0; i < B; i++) if (pred[i] === ys[i]) correct++;
  return { loss: lv, correct };
}

/**
 * Trains `model` on `train` (blocking). With init({ threads }) each step's batch is split over the threads
 * (src/train/data-parallel.ts); deterministic for a given thread count.
 */
export function fit(model: Module, train: Dataset, o: FitOptions): FitResult {
  return drive(fitRounds(model, train, o, null));
}

/**
 * fit() without blocking the calling thread: the same loop, options and results. On a browser main thread of a
 * cross-origin-isolated page, the runtime's Web Workers (as predictAsync's) run every step's chunks while this
 * thread awaits them (Atomics.waitAsync) and only sums gradients and steps the optimiser; the event loop runs
 * between steps (onStep / onEpoch can update a page). The result equals a blocking fit's on as many threads, bit
 * for bit. Elsewhere (Node, a Worker, one thread) it is fit() letting the event loop run between steps.
 */
export async function fitAsync(model: Module, train: Dataset, o: FitOptions): Promise<FitResult> {
  const background = o.extraLoss ? null : await backgroundPool(model.engine.rt);
  return driveAsync(fitRounds(model, train, o, background));
}

/**
 * The training loop, yielding its rounds with the pool (a `background` pool: the caller may not block on it and
 * runs no chunk; exported for tests, which drive it with a Node pool as a browser main thread's).
 */
export function* fitRounds(model: Module, train: Dataset, o: FitOptions, background: ThreadPool | null): Rounds<FitResult> {
  const engine = model.engine, rt = engine.rt;
  checkInt('epochs', o.epochs, 1, 100000);
  const B = checkInt('batchSize', o.batchSize, 2, 65536);
  const it = new BatchIterator(train, { batchSize: B, seed: o.seed ?? 1, shuffle: true, dropLast: true, shift: o.shift ?? 0, flip: o.flip ?? false, indices: o.indices });
  const spe = it.batchesPerEpoch;
  if (spe < 1) throw new QwasmError(`the training set (${it.size} examples) is smaller than one batch of ${B}`);
  const total = Math.min(o.epochs * spe, o.maxSteps ?? Infinity);
  const start = checkInt('startStep', o.startStep ?? 0, 0, total);
  if (start) for (const [, m] of model.modules()) if (m instanceof Dropout) m.calls = start;
  const schedule: Schedule = makeSchedule({
    kind: o.schedule ?? 'constant', lr: o.lr, warmupSteps: o.warmupSteps ?? 0,
    stepSize: (o.stepEpochs ?? 1) * spe, gamma: o.gamma ?? 0.1, totalSteps: total,
  });
  const opt = o.optimizerInstance ?? new Optimizer(engine, [...model.namedParameters(), ...(o.extraParameters ?? [])], o.optimizer ?? { kind: 'adam' });
  const per = it.sampleSize;
  const acc = checkInt('accumulateSteps', o.accumulateSteps ?? 1, 1, 4096);
  const labelsPtr = rt.alloc(B * 4), predPtr = rt.alloc(B * 4);
  const ys = new Int32Array(B);
  const epochs: EpochInfo[] = [];
  const t0 = performance.now();
  let step = start, lastLoss = NaN;
  model.train();
  // threads (init({ threads })): each step's batch split over replicas (src/train/data-parallel.ts); null when
  // the runtime has one thread, extra loss terms need the whole batch, or the model cannot be replicated
  let dp: DataParallel | null = null;
  try {
    dp = o.extraLoss ? null : DataParallel.create(model, B, [it.outHeight, it.outWidth, it.channels], o.labelSmoothing ?? 0, background);
    if (dp) yield* dp.load();
    for (let ep = Math.floor(start / spe); ep < o.epochs && step < total; ep++) {
      it.seek(ep, (step - ep * spe) * B); // position in examples
      const te = performance.now();
      let lossSum = 0, correct = 0, seen = 0;
      while (step < total) {
        const x = engine.empty([B, it.outHeight, it.outWidth, it.channels], false);
        // the iterator writes the batch straight into WASM memory (no kernel runs in between)
        const nb = it.next(rt.f32(x.ptr, B * per), ys);
        if (nb === 0) break;
        rt.i32(labelsPtr, B).set(ys);
        o.beforeStep?.(step);
        const lossError = (lv: number) => new QwasmError(`training stopped: the loss became ${lv} at step ${step} (epoch ${ep + 1}); lower the learning rate or clip gradients`);
        let lv: number;
        if (dp) {
          const r = yield* dp.step(x, ys, labelsPtr);
          lv = r.loss;
          if (!Number.isFinite(lv)) throw lossError(lv);
          correct += r.correct;
        } else {
          const r = localStep(model, x, ys, labelsPtr, predPtr, o, step, lossError);
          lv = r.loss;
          correct += r.correct;
        }
        const lr = schedule(Math.floor(step / acc));
        if ((step + 1) % acc === 0 || step + 1 === total) {
          if (acc > 1) opt.scaleGrads(1 / (((step % acc) + 1)));
          if (o.clipNorm) opt.clip(o.clipNorm);
          opt.step(lr);
          opt.zeroGrad();
        }
        engine.endStep();
        o.afterStep?.(step);
        lossSum += lv * B; seen += B; step++; lastLoss = lv;
        if (o.onStep) {
          const secs = (performance.now() - t0) / 1000;
          o.onStep({ epoch: ep, step, stepsPerEpoch: spe, totalSteps: total, loss: lv, accuracy: correct / seen, lr, imagesPerSecond: (step - start) * B / secs, seconds: secs });
        }
        yield null;   // fitAsync: the event loop runs between steps
      }
      const info: EpochInfo = { epoch: ep + 1, step, trainLoss: lossSum / Math.max(1, seen), trainAccuracy: correct / Math.max(1, seen), seconds: (performance.now() - te) / 1000 };
      if (o.test) { const r = evaluate(model, o.test); info.testAccuracy = r.accuracy; info.testLoss = r.loss; info.evalSeconds = r.seconds; }
      epochs.push(info);
      o.onEpoch?.(info);
    }
  } finally {
    engine.endStep();
    rt.free(labelsPtr); rt.free(predPtr);
    if (dp) yield* dp.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const evalSecs = epochs.reduce((a, e) => a + (e.evalSeconds ?? 0), 0);
  return { epochs, steps: step, seconds, imagesPerSecond: (step - start) * B / Math.max(1e-9, seconds - evalSecs), finalTrainLoss: lastLoss, optimizer: opt, threads: dp?.threads ?? 1 };
}

export interface EvalResult {
  accuracy: number; loss: number; count: number; seconds: number;
  /** Counts [true class × predicted class], row-major over the model's output classes (src/train/confusion.ts reads it). */
  confusion: Int32Array;
}

/** Accuracy and mean loss on a dataset (eval mode, no graph). */
export function evaluate(model: Module, ds: Dataset, batchSize = 250, indices?: ArrayLike<number>): EvalResult {
  const engine: Engine = model.engine, rt = engine.rt;
  const labelsPtr = rt.alloc(batchSize * 4), predPtr = rt.alloc(batchSize * 4);
  const t0 = performance.now();
  let correct = 0, count = 0, lossSum = 0;
  let confusion = new Int32Array(0), classes = 0;
  try {
    evalForward(engine, [model], ds, { batchSize, indices }, (x, ys, nb) => {
      rt.i32(labelsPtr, nb).set(ys);
      const logits = model.forward(x);
      lossSum += ops.crossEntropy(logits, labelsPtr).item() * nb;
      if (!classes) { classes = logits.shape[1]; confusion = new Int32Array(classes * classes); }
      argmaxRows(rt, logits.ptr, nb, classes, predPtr);
      const pred = rt.i32(predPtr, nb);
      for (let i = 0; i < nb; i++) {
        if (pred[i] === ys[i]) correct++;
        confusion[ys[i] * classes + pred[i]]++;
      }
      count += nb;
    });
  } finally {
    rt.free(labelsPtr); rt.free(predPtr);
  }
  return { accuracy: correct / Math.max(1, count), loss: lossSum / Math.max(1, count), count, seconds: (performance.now() - t0) / 1000, confusion };
}
