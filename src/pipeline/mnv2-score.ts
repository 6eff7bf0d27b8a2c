// How the MobileNetV2 pipeline's variants are scored: per-split rows (test correct / count, the validation
// accuracy choices are made on) pooled over the splits a variant ran on, with a 95 % Wilson interval over the
// distinct test images.
import { wilson, type Interval } from '../train/intervals.js';
import { QwasmError } from '../errors.js';

export interface Score {
  /** Pooled test accuracy over the splits the variant ran on. */
  accuracy: number;
  /** 95 % Wilson interval over the distinct test images (pooled accuracy × distinct images). */
  ci: Interval;
  correct: number;
  count: number;
  distinct: number;
  splits: number;
  /** Mean validation accuracy (what choices are made on). */
  valAccuracy: number;
  perSplit: { split: string; test: number; val: number; epoch?: number }[];
}

/** One split's result of a variant. */
export interface SplitRow { split: string; correct: number; count: number; val: number; epoch?: number; testIdx: Int32Array }

/** Pooled score of per-split results. */
export function poolScore(per: SplitRow[]): Score {
  if (!per.length) throw new QwasmError('no split to score');
  const correct = per.reduce((a, p) => a + p.correct, 0), count = per.reduce((a, p) => a + p.count, 0);
  const distinctSet = new Set<number>();
  for (const p of per) for (const i of p.testIdx) distinctSet.add(i);
  const distinct = distinctSet.size, accuracy = correct / count;
  return {
    accuracy, ci: wilson(Math.round(accuracy * distinct), distinct), correct, count, distinct, splits: per.length,
    valAccuracy: per.reduce((a, p) => a + p.val, 0) / per.length,
    perSplit: per.map((p) => ({ split: p.split, test: p.correct / p.count, val: p.val, ...(p.epoch !== undefined ? { epoch: p.epoch } : {}) })),
  };
}

/** A score restricted to its first `n` splits (`tests[i]`: split i's test indices), to compare on the same splits. */
export function scoreOnSplits(sc: Score, n: number, tests: Int32Array[]): Score {
  return poolScore(sc.perSplit.slice(0, n).map((p, i) => ({
    split: p.split, correct: Math.round(p.test * tests[i].length), count: tests[i].length, val: p.val, epoch: p.epoch, testIdx: tests[i],
  })));
}

export const correctOf = (pred: Int32Array, labels: Int32Array): number => { let c = 0; for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) c++; return c; };
export const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
/** "75.8% (69.2%–81.4%)". */
export const pctCi = (sc: { accuracy: number; ci: Interval }): string => `${pct(sc.accuracy)} (${pct(sc.ci.lo)}–${pct(sc.ci.hi)})`;
