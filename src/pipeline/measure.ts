// What every pipeline variant is measured by: test accuracy (float forward, or the int8 kernels for int8
// variants), bytes on disk (a float model: its encoded weights-only checkpoint; an int8 model: its .qwm export,
// Int8Model.bytes()), and batch-1 latency per image — measured for all variants together at the end, in
// interleaved rounds (median of round medians), so a noisy machine slows every variant alike.
import type { Module } from '../nn/module.js';
import type { Dataset } from '../data/dataset.js';
import type { Int8Model } from '../deploy/int8-model.js';
import { encodeCheckpoint } from '../checkpoint/index.js';
import { checkpointOf, type ModelRecord } from '../train/model-file.js';
import { evaluate } from '../train/trainer.js';
import { floatLatencyMs } from '../deploy/report.js';
import { weightSparsity } from '../compress/prune.js';
import { QwasmError, checkInt } from '../errors.js';

/** One point of a training curve (per epoch). */
export interface CurvePoint { epoch: number; trainLoss: number; trainAccuracy?: number; testAccuracy?: number }

export interface Variant {
  /** Unique label, e.g. "student · joint (3) · int8". */
  name: string;
  /** Which network: the teacher-size or the student-size one. */
  role: 'teacher' | 'student';
  /** Architecture (resnet, mobilenet…). */
  model: string;
  method: string;
  precision: 'f32' | 'int8';
  /** Test accuracy of the deployed form (int8 kernels for int8 variants). */
  accuracy: number;
  /** Bytes on disk of the deployed form. */
  bytes: number;
  /** Median batch-1 ms per image (f32 kernels for f32 variants, int8 kernels for int8). */
  latencyMs: number;
  params: number;
  /** Exact-zero fraction of the Linear / Conv2d weights. */
  sparsity: number;
  /** Wall time of this variant's own training / conversion (s). */
  seconds: number;
  curve: CurvePoint[];
  /** Extra figures (float / fake-quant accuracy of an int8 variant, training steps…). */
  details: Record<string, unknown>;
}

/** Encoded size of a weights-only checkpoint of the model (what `qwasm pretrain` / `train --out` write). */
export function floatBytes(model: Module, rec: ModelRecord): number {
  return encodeCheckpoint(checkpointOf(model, rec, { model: { name: rec.name, config: rec.options } })).length;
}

/** A variant's latency probe: one timed batch-1 measurement (median ms of `runs` calls). */
export type LatencyProbe = (runs: number) => number;

export const floatProbe = (model: Module, input: [number, number, number]): LatencyProbe => (runs) => floatLatencyMs(model, input, runs);
export const int8Probe = (m: Int8Model): LatencyProbe => (runs) => m.latencyMs(1, runs);

/** Accuracy of a float model (eval mode, no graph). */
export const floatAccuracy = (model: Module, test: Dataset): number => evaluate(model, test).accuracy;

export const sparsityOf = (model: Module): number => weightSparsity(model).global;

/**
 * Latency of every probe, interleaved: `rounds` rounds, each timing every probe once (`runs` batch-1 calls,
 * median) in a rotated order; the result per probe is the median of its round medians.
 */
export function measureLatencies(probes: LatencyProbe[], rounds: number, runs: number, onRound?: (round: number) => void): number[] {
  checkInt('rounds', rounds, 1); checkInt('runs', runs, 1);
  const times = probes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < probes.length; j++) {
      const i = (j + r) % probes.length;
      const t = probes[i](runs);
      if (!(t > 0) || !Number.isFinite(t)) throw new QwasmError(`latency probe ${i} measured ${t} ms`);
      times[i].push(t);
    }
    onRound?.(r + 1);
  }
  return times.map((ts) => { ts.sort((a, b) => a - b); return ts[ts.length >> 1]; });
}
