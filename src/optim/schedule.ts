// Learning-rate schedules, as functions of the optimiser step (0-based). Pure JS: the rate is a scalar
// argument of the in-WASM update kernels.
import { checkFinite, checkInt } from '../errors.js';

export type Schedule = (step: number) => number;

export interface ScheduleSpec {
  kind: 'constant' | 'step' | 'cosine';
  /** Base learning rate. */
  lr: number;
  /** Linear warm-up from lr·warmupStart to lr over this many steps (default 0). */
  warmupSteps?: number;
  warmupStart?: number;
  /** step: multiply by gamma every stepSize steps. */
  stepSize?: number;
  gamma?: number;
  /** cosine: total steps (after warm-up the rate follows half a cosine down to minLr). */
  totalSteps?: number;
  minLr?: number;
}

export function makeSchedule(spec: ScheduleSpec): Schedule {
  const lr = checkFinite('lr', spec.lr);
  if (!(lr > 0)) throw new RangeError(`lr must be positive, got ${lr}`);
  const warm = checkInt('warmupSteps', spec.warmupSteps ?? 0, 0);
  const warmStart = spec.warmupStart ?? 0.01;
  let main: Schedule;
  switch (spec.kind) {
    case 'constant': main = () => lr; break;
    case 'step': {
      const size = checkInt('stepSize', spec.stepSize ?? 1, 1);
      const gamma = checkFinite('gamma', spec.gamma ?? 0.1);
      main = (s) => lr * Math.pow(gamma, Math.floor(s / size));
      break;
    }
    case 'cosine': {
      const total = checkInt('totalSteps', spec.totalSteps ?? 0, 1);
      const minLr = spec.minLr ?? 0;
      main = (s) => minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, s / Math.max(1, total - warm))));
      break;
    }
    default: throw new TypeError(`schedule kind must be 'constant', 'step' or 'cosine', got ${String((spec as ScheduleSpec).kind)}`);
  }
  if (warm === 0) return main;
  return (s) => (s < warm ? lr * (warmStart + (1 - warmStart) * (s + 1) / warm) : main(s - warm));
}
