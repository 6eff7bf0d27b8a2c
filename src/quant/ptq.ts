// Post-training quantisation baselines (what QAT has to beat):
//   - static: the QAT wrapper's observers are calibrated over N batches in eval mode (BN on running stats),
//     with 'minmax' or 'percentile' (histogram, e.g. 99.99 %) ranges, then frozen. The result is a fake-quant
//     model (evaluate it like any Module) that convertToInt8 turns into an all-int8 model.
//   - dynamic / weight-only: weights int8 per channel, activations and compute f32 (dequantised weights).
import type { Module } from '../nn/module.js';
import type { Dataset } from '../data/dataset.js';
import { evalForward } from '../train/eval-loop.js';
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';
import { QATModel, type QATOptions } from './qat.js';

export interface CalibrationOptions {
  /** 'minmax' (default) or 'percentile'. */
  method?: 'minmax' | 'percentile';
  /** Percentile method: kept fraction in percent (default 99.99). */
  percentile?: number;
  /** Number of calibration batches (default 8). */
  batches?: number;
  /** Batch size (default 64). */
  batchSize?: number;
  /** Calibrate on these training-set indices only. */
  indices?: ArrayLike<number>;
  /** Shuffle seed (default 1). */
  seed?: number;
}

/** Static PTQ: calibrates activation ranges over `batches` batches of `data`; returns the frozen fake-quant model. */
export function quantizeStatic(model: Module, data: Dataset, opts: CalibrationOptions = {}): QATModel {
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const method = opts.method ?? 'minmax';
  if (method !== 'minmax' && method !== 'percentile') throw new TypeError(`method must be 'minmax' or 'percentile', got ${describe(method)}`);
  if (opts.percentile !== undefined) checkFinite('percentile', opts.percentile);
  const batches = checkInt('batches', opts.batches ?? 8, 1);
  const bs = checkInt('batchSize', opts.batchSize ?? 64, 1, 65536);
  if (!data || typeof data !== 'object' || !(data.images instanceof Uint8Array)) throw new TypeError(`data must be a Dataset, got ${describe(data)}`);
  const qopts: QATOptions = { observer: method, percentile: opts.percentile };
  const qat = model instanceof QATModel ? model : new QATModel(model, qopts);
  calibrate(qat, data, { batches, batchSize: bs, indices: opts.indices, seed: opts.seed });
  return qat.freezeObservers();
}

/** Runs `batches` batches through a QAT model in eval mode with its observers updating (no graph). */
export function calibrate(qat: QATModel, data: Dataset, opts: { batches?: number; batchSize?: number; indices?: ArrayLike<number>; seed?: number } = {}): void {
  if (!(qat instanceof QATModel)) throw new TypeError(`qat must be a QATModel, got ${describe(qat)}`);
  const batches = checkInt('batches', opts.batches ?? 8, 1);
  const bs = checkInt('batchSize', opts.batchSize ?? 64, 1, 65536);
  const e = qat.engine;
  qat.calibrating = true;
  const frozen = qat.observersFrozen;
  qat.observersFrozen = false;
  let done = 0;
  try {
    evalForward(e, [qat], data, { batchSize: bs, shuffle: true, seed: opts.seed ?? 1, indices: opts.indices }, (x) => {
      qat.forward(x);
      return ++done < batches;
    });
  } finally {
    qat.calibrating = false;
    qat.observersFrozen = frozen;
  }
  if (done === 0) throw new QwasmError('calibration saw no data (empty dataset or indices)');
}

/**
 * Dynamic (weight-only) int8: weights quantised per output channel and dequantised, activations and
 * arithmetic f32. Returns the fake-quant model (observers frozen on the current weights).
 */
export function quantizeDynamic(model: Module): QATModel {
  // the weight quantisers observe the (BN-folded) weights on first use; frozen observers keep those scales
  return new QATModel(model, { activations: false }).freezeObservers();
}

/** int8 bytes a weight-only model would hold: int8 weights + f32 per-channel scales + f32 biases. */
export function weightOnlyBytes(qat: QATModel): number {
  let b = 0;
  for (const u of qat.allUnits()) {
    if (u.kind === 'conv') b += u.conv.weight.size + 8 * u.conv.spec.outChannels;
    else if (u.kind === 'linear') b += u.linear.weight.size + 8 * u.linear.outFeatures;
    else if (u.kind === 'lowrank') b += u.p.size + u.q.size + 4 * (u.p.shape[1] + 2 * u.q.shape[1]);
  }
  return b;
}
