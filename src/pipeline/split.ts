// The class split between pretraining sources and the few-shot target: `count` classes held out by a seeded
// shuffle (the target), the rest (the source). `qwasm pretrain --holdout N --holdout-seed S` pretrains on the
// source side and `qwasm pipeline` takes the held-out side as its target, so the two never share a class —
// the shipped source nets have never seen a target category.
import { Rng, hash32 } from '../util/rng.js';
import { checkInt, QwasmError } from '../errors.js';

/** The default split: 20 of the 345 QuickDraw categories held out with this seed. */
export const DEFAULT_HOLDOUT = { count: 20, seed: 5 } as const;

export interface HoldoutSplit {
  /** The held-out classes, in the dataset's class order. */
  target: string[];
  /** Every other class, in the dataset's class order. */
  source: string[];
  /** Indices (into `classes`) of the held-out and of the source classes. */
  targetIndices: number[];
  sourceIndices: number[];
}

/**
 * Holds out `count` of `classes` by a seeded Fisher–Yates shuffle (the first `count` of the shuffled order),
 * keeping both sides in the original class order. Same classes, count and seed → same split everywhere.
 */
export function holdoutSplit(classes: readonly string[], count: number, seed: number): HoldoutSplit {
  if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) throw new TypeError('classes must be an array of class names');
  checkInt('count', count, 1, classes.length - 1);
  checkInt('seed', seed, 0, 0xffffffff);
  if (new Set(classes).size !== classes.length) throw new QwasmError('holdoutSplit: a class name is listed twice');
  const order = new Rng(hash32(seed, classes.length, 0x401d0)).shuffle(Int32Array.from(classes, (_, i) => i));
  const held = new Uint8Array(classes.length);
  for (let i = 0; i < count; i++) held[order[i]] = 1;
  const targetIndices: number[] = [], sourceIndices: number[] = [];
  classes.forEach((_, i) => (held[i] ? targetIndices : sourceIndices).push(i));
  return { target: targetIndices.map((i) => classes[i]), source: sourceIndices.map((i) => classes[i]), targetIndices, sourceIndices };
}
