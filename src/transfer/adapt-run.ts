// Domain adaptation as a job: several methods (source-only, DANN, Deep CORAL) × several seeds under one fixed
// recipe, each run from a fresh model, scored afterwards on the labelled target images if there are any.
// What `qwasm adapt` and the pipeline's adaptation variants run.
//
// No target label reaches training or model selection: the unlabelled target set is passed through
// withoutLabels() (every label 0, classes UNLABELLED) before adapt() sees it, and nothing is chosen on target
// accuracy — the step count, learning-rate schedule and λ schedules are fixed in advance (ADAPT_RECIPE), and
// the model kept is the one at the last step. Target labels, when present, only score the finished models.
import { Engine } from '../autograd/tensor.js';
import type { Runtime } from '../runtime.js';
import type { Sequential } from '../nn/layers.js';
import { createDataset, type Dataset } from '../data/dataset.js';
import { UNLABELLED } from '../data/folder.js';
import { evaluate } from '../train/trainer.js';
import { spread, wilson, type Interval, type Spread } from '../train/intervals.js';
import { balancedAccuracy, mostPredicted, sumConfusions } from '../train/confusion.js';
import type { OptimizerSpec } from '../optim/optimizer.js';
import { adapt, ADAPT_METHODS, type AdaptMethod, type AdaptStepInfo } from './adapt.js';
import { QwasmError, checkFinite, checkInt } from '../errors.js';

/** The fixed recipe of every method (same loop, batches, optimiser and schedule; only the adaptation term differs). */
export interface AdaptRecipe {
  steps: number;
  /** Per-domain batch size. */
  batchSize: number;
  lr: number;
  optimizer: OptimizerSpec;
  /** DANN's μ_p = lr/(1+10p)^0.75, for every method. */
  lrAnneal: boolean;
  /** DANN: maximum of the GRL factor (λ = dannWeight·λ_p, λ_p = 2/(1+e^(−10p)) − 1). */
  dannWeight: number;
  /** Deep CORAL: weight of the CORAL term. */
  coralWeight: number;
  /** DANN domain classifier hidden sizes. */
  domainHidden: number[];
  /** Random shifts of ±shift pixels of both domains' batches. */
  shift: number;
  /** The label classifier's and DANN's domain classifier's learning rates, × lr (new layers on a pretrained net). */
  headLrScale: number;
  domainLrScale: number;
}

/**
 * The defaults, fixed before any run of the CLI: SGD momentum 0.9, lr 0.02 annealed as in DANN, 1000 steps of
 * 64 + 64 images, λ max 0.3, CORAL weight 1. (λ max 0.3 instead of the paper's 1 comes from the library's
 * earlier MNIST → digits benchmark, bench/adapt.js, where λ max 1 collapsed on one seed of six; see
 * docs/ADAPTATION.md for what that choice saw.)
 */
export const ADAPT_RECIPE: Readonly<AdaptRecipe> = Object.freeze<AdaptRecipe>({
  steps: 1000, batchSize: 64, lr: 0.02, optimizer: { kind: 'sgd', momentum: 0.9 }, lrAnneal: true,
  dannWeight: 0.3, coralWeight: 1, domainHidden: [100], shift: 0, headLrScale: 1, domainLrScale: 1,
});

/** The same images with every label 0 and classes UNLABELLED: what adaptation trains on. */
export function withoutLabels(ds: Dataset): Dataset {
  return createDataset({ name: ds.name, images: ds.images, labels: new Uint8Array(ds.length), height: ds.height, width: ds.width,
    channels: ds.channels, classes: UNLABELLED, norm: ds.norm, flipSafe: ds.flipSafe });
}

/** An accuracy measured on n labelled images, with its Wilson 95 % interval and the counts behind it. */
export interface Scored { accuracy: number; correct: number; count: number; ci: Interval; confusion: Int32Array }

export function score(model: Sequential, ds: Dataset): Scored {
  const r = evaluate(model, ds);
  const correct = Math.round(r.accuracy * r.count);
  return { accuracy: r.accuracy, correct, count: r.count, ci: wilson(correct, r.count), confusion: r.confusion };
}

/**
 * Every target test prediction of one method, pooled over its seeds (with cross-validation: over the folds):
 * balanced accuracy (mean per-class recall) and the most predicted class's share — a method that wins by
 * predicting the largest class shows it here, not in the accuracy.
 */
export interface PooledPredictions { count: number; balancedAccuracy: number; mostPredicted: { class: string; share: number } }

function pooledOf(rows: readonly AdaptRunRow[], classes: readonly string[]): PooledPredictions | null {
  const ms = rows.map((r) => r.targetTest?.confusion).filter((m): m is Int32Array => !!m);
  if (!ms.length || ms.length !== rows.length) return null;
  const m = sumConfusions(ms), top = mostPredicted(m);
  return { count: m.reduce((a, b) => a + b, 0), balancedAccuracy: balancedAccuracy(m), mostPredicted: { class: classes[top.index] ?? String(top.index), share: top.share } };
}

export interface AdaptRunRow {
  method: AdaptMethod; seed: number; seconds: number; finalLoss: number;
  /** The cross-validation fold the run adapted and was scored on (null: one fixed split). */
  fold: string | null;
  /** On the held-out labelled target test images (null without labels). */
  targetTest: Scored | null;
  /** On the unlabelled adaptation images themselves, scored afterwards with their labels (transductive; null without). */
  adaptationSet: Scored | null;
  /** On the source test images (null when not given). */
  sourceTest: Scored | null;
}

export interface AdaptMethodSummary {
  method: AdaptMethod;
  /** Target test accuracy over seeds (null without target labels). */
  targetTest: Spread | null;
  adaptationSet: Spread | null;
  sourceTest: Spread | null;
  /** Per-seed gain over source-only on the target test set (null for source-only or without it). */
  gain: Spread | null;
  /** Seeds where the method beat source-only on the target test set. */
  wins: number | null;
  /** The seed-averaged target test accuracy with a Wilson 95 % interval over its n test images. */
  meanScore: Omit<Scored, 'confusion'> | null;
  /** Target test balanced accuracy per seed (mean per-class recall; null without target labels). */
  balanced: Spread | null;
  /** All target test predictions over the seeds: balanced accuracy and the most predicted class. */
  pooled: PooledPredictions | null;
}

export interface AdaptRunResult { classes: string[]; methods: AdaptMethod[]; seeds: number[]; recipe: AdaptRecipe; rows: AdaptRunRow[]; summary: AdaptMethodSummary[]; seconds: number }

/** One cross-validation fold of a labelled target: adapt on `adaptation` (labels dropped), score on `test`. */
export interface AdaptFold { name: string; adaptation: Dataset; test: Dataset }

export interface AdaptRunOptions {
  rt: Runtime;
  /** Labelled source training images. */
  source: Dataset;
  /** Target images for adaptation: their labels are dropped here (withoutLabels) before training sees them (not with `folds`). */
  target?: Dataset | null;
  /** Labelled target images held out from adaptation, for scoring only. */
  targetTest?: Dataset | null;
  /**
   * Cross-validation over a small labelled target instead of `target` / `targetTest`: the i-th seed adapts on
   * folds[i mod k].adaptation and is scored on folds[i mod k].test (every method of a seed on the same fold, so
   * the gains stay paired). With as many seeds as folds every target image is tested exactly once per method.
   */
  folds?: readonly AdaptFold[] | null;
  /** true when `target`'s labels are real (then its images are also scored transductively). */
  targetLabelled?: boolean;
  sourceTest?: Dataset | null;
  methods: readonly AdaptMethod[];
  seeds: readonly number[];
  recipe?: Partial<AdaptRecipe>;
  /** A fresh model for one run (built from scratch or from pretrained weights), its head over the source classes. */
  makeModel: (engine: Engine, seed: number) => Sequential;
  onRunStart?: (method: AdaptMethod, seed: number, index: number, count: number) => void;
  onStep?: (s: AdaptStepInfo) => void;
  onRunDone?: (row: AdaptRunRow) => void;
  /** Called with each trained model before it is freed; return true to keep it (the caller then owns and disposes it). */
  keep?: (method: AdaptMethod, seed: number, model: Sequential, engine: Engine) => boolean;
}

/** Checks the recipe, filling the defaults. */
export function resolveRecipe(r: Partial<AdaptRecipe> = {}): AdaptRecipe {
  const o = { ...ADAPT_RECIPE, ...r } as AdaptRecipe;
  checkInt('steps', o.steps, 1); checkInt('batchSize', o.batchSize, 2, 65536); checkInt('shift', o.shift, 0, 16);
  for (const k of ['lr', 'dannWeight', 'coralWeight'] as const) {
    if (!(checkFinite(k, o[k]) >= 0)) throw new RangeError(`${k} must be ≥ 0, got ${o[k]}`);
  }
  if (!(o.lr > 0)) throw new RangeError(`lr must be > 0, got ${o.lr}`);
  return o;
}

/** Runs every method × seed, scores the models, and summarises over seeds. */
export function runAdaptation(o: AdaptRunOptions): AdaptRunResult {
  const recipe = resolveRecipe(o.recipe);
  const methods = [...o.methods];
  if (!methods.length) throw new QwasmError('no adaptation method given');
  for (const m of methods) if (!ADAPT_METHODS.includes(m)) throw new QwasmError(`unknown adaptation method '${m}' (one of ${ADAPT_METHODS.join(', ')})`);
  if (new Set(methods).size !== methods.length) throw new QwasmError('an adaptation method is listed twice');
  const seeds = o.seeds.map((s) => checkInt('seed', s, 0, 0xfffffffe));
  if (!seeds.length) throw new QwasmError('no seed given');
  const src = o.source;
  if (!o.folds?.length && !o.target) throw new QwasmError('no target: give target (and targetTest) or folds');
  if (o.folds?.length && (o.target || o.targetTest)) throw new QwasmError('give either target / targetTest or folds, not both');
  const folds: { name: string; adaptation: Dataset; test: Dataset | null }[] = o.folds?.length ? [...o.folds] : [{ name: '', adaptation: o.target!, test: o.targetTest ?? null }];
  const cv = !!o.folds?.length;
  const tests = folds.map((f) => f.test).filter((t): t is Dataset => !!t);
  for (const [what, ds] of [...tests.map((t) => ['target test set', t] as const), ['source test set', o.sourceTest ?? null] as const]) {
    if (ds && ds.classes.join('\u0000') !== src.classes.join('\u0000')) {
      throw new QwasmError(`the ${what}'s classes (${ds.classes.join(', ')}) are not the source's (${src.classes.join(', ')}), in order`);
    }
  }
  for (const f of folds) {
    if (o.targetLabelled && f.adaptation.classes.join('\u0000') !== src.classes.join('\u0000')) {
      throw new QwasmError(`the target's classes (${f.adaptation.classes.join(', ')}) are not the source's (${src.classes.join(', ')}), in order`);
    }
  }
  const unlabelled = folds.map((f) => withoutLabels(f.adaptation));
  const rows: AdaptRunRow[] = [];
  const t0 = performance.now();
  let index = 0;
  for (const [si, seed] of seeds.entries()) {
    const fi = si % folds.length, fold = folds[fi], tt = fold.test ?? null;
    for (const method of methods) {
      o.onRunStart?.(method, seed, ++index, seeds.length * methods.length);
      const engine = new Engine(o.rt);
      const model = o.makeModel(engine, seed);
      let kept = false;
      try {
        const ts = performance.now();
        const weight = method === 'dann' ? recipe.dannWeight : method === 'coral' ? recipe.coralWeight : 1;
        const r = adapt(model, src, unlabelled[fi], {
          method, steps: recipe.steps, batchSize: recipe.batchSize, lr: recipe.lr, optimizer: recipe.optimizer, lrAnneal: recipe.lrAnneal,
          weight, domainHidden: recipe.domainHidden, shift: recipe.shift, headLrScale: recipe.headLrScale, domainLrScale: recipe.domainLrScale,
          seed, onStep: o.onStep,
        });
        const seconds = (performance.now() - ts) / 1000;
        r.dispose();
        const row: AdaptRunRow = {
          method, seed, seconds, finalLoss: r.finalLoss, fold: cv ? fold.name : null,
          targetTest: tt ? score(model, tt) : null,
          adaptationSet: o.targetLabelled ? score(model, fold.adaptation) : null,
          sourceTest: o.sourceTest ? score(model, o.sourceTest) : null,
        };
        rows.push(row);
        o.onRunDone?.(row);
        kept = !!o.keep?.(method, seed, model, engine);
      } finally { if (!kept) model.dispose(); }
    }
  }
  return { classes: [...src.classes], methods, seeds, recipe, rows, summary: summarise(methods, rows, src.classes), seconds: (performance.now() - t0) / 1000 };
}

/**
 * The seed-averaged accuracy with its Wilson interval over the distinct test images (the test-sampling
 * uncertainty): per test set (one fixed split, or each cross-validation fold) the correct count averaged over
 * the seeds scored on it, summed over the test sets, over their total size.
 */
function meanScoreOf(rows: AdaptRunRow[]): Omit<Scored, 'confusion'> | null {
  const s = rows.filter((r) => r.targetTest);
  if (!s.length) return null;
  const bySet = new Map<string, Scored[]>();
  for (const r of s) bySet.set(r.fold ?? '', [...(bySet.get(r.fold ?? '') ?? []), r.targetTest!]);
  let correct = 0, count = 0;
  for (const sc of bySet.values()) {
    if (sc.some((x) => x.count !== sc[0].count)) return null;
    correct += sc.reduce((a, x) => a + x.correct, 0) / sc.length;
    count += sc[0].count;
  }
  return { accuracy: correct / count, correct, count, ci: wilson(Math.round(correct), count) };
}

/** Mean / sd / min / max / t-interval per method over seeds, and the paired per-seed gain over source-only. */
export function summarise(methods: readonly AdaptMethod[], rows: readonly AdaptRunRow[], classes: readonly string[]): AdaptMethodSummary[] {
  const sp = (xs: (number | undefined)[]) => (xs.length && xs.every((x) => x !== undefined) ? spread(xs as number[]) : null);
  return methods.map((method) => {
    const rs = rows.filter((r) => r.method === method);
    const base = (seed: number) => rows.find((r) => r.method === 'source-only' && r.seed === seed)?.targetTest?.accuracy;
    const gains = method === 'source-only' ? [] : rs.map((r) => (r.targetTest && base(r.seed) !== undefined ? r.targetTest.accuracy - base(r.seed)! : undefined));
    const gain = sp(gains);
    return {
      method,
      targetTest: sp(rs.map((r) => r.targetTest?.accuracy)),
      adaptationSet: sp(rs.map((r) => r.adaptationSet?.accuracy)),
      sourceTest: sp(rs.map((r) => r.sourceTest?.accuracy)),
      gain, wins: gain ? gains.filter((g) => g! > 0).length : null,
      meanScore: meanScoreOf(rs),
      balanced: sp(rs.map((r) => (r.targetTest ? balancedAccuracy(r.targetTest.confusion) : undefined))),
      pooled: pooledOf(rs, classes),
    };
  });
}
