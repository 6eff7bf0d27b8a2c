// The MobileNetV2 pipeline's teacher side: load the pretrained network and the target, cache the frozen prefix
// once per image, and the three teacher-architecture variants — (a) features + linear head, (b) fine-tune the
// top blocks on the cache, (c) the same architecture from scratch — each scored per split, every choice (the
// epoch kept) on the split's validation indices.
import type { Engine } from '../autograd/tensor.js';
import { BatchNorm2d, Conv2d, Linear, type Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { InitRng } from '../util/rng.js';
import { defaultBias, defaultWeight, kaimingNormal } from '../nn/init.js';
import { importTfjs, type TfjsImportedModel } from '../tfjs/import.js';
import { createDataset, type Dataset } from '../data/dataset.js';
import { bnRanges, cachePrefix, suffixView, type PrefixCache } from '../transfer/cache.js';
import { extractFeatures, trainLinearHead, headPredict, type Features } from '../transfer/features.js';
import { fineTune } from '../transfer/finetune.js';
import { setBatchNormMomentum } from '../transfer/student.js';
import { fit, evaluate } from '../train/trainer.js';
import { loadTargetPool, type Split, type TargetPool } from './mnv2-data.js';
import { poolScore, correctOf, pct, pctCi, type Score, type SplitRow } from './mnv2-score.js';
import { since, type Mnv2Context } from './mnv2-context.js';
import { QwasmError } from '../errors.js';

export const TEACHER_SOURCE = 'nsfwjs:mobilenet_v2';

export type State = Record<string, { shape: number[]; data: Float32Array }>;

/** What the load and cache steps hand on. */
export interface TeacherSetup {
  imp: TfjsImportedModel;
  teacher: Sequential;
  target: TargetPool;
  /** Labelled images, classes. */
  N: number;
  C: number;
  /** Top-level layers in the frozen (cached) prefix, and the Keras name of its last one. */
  L: number;
  cacheAt: string;
}

/** Top-level index of a Keras layer's module (its first dotted component). */
export function topIndex(imp: TfjsImportedModel, keras: string): number {
  const n = imp.layerNames[keras];
  if (n === undefined) throw new QwasmError(`no layer '${keras}' in the imported ${TEACHER_SOURCE}`);
  return Number(n.split('.')[0]);
}

/** Horizontally flipped copy of an image dataset (same labels). */
export function flipped(ds: Dataset): Dataset {
  const { height: H, width: W, channels: C } = ds, per = H * W * C;
  const out = new Uint8Array(ds.images.length);
  for (let n = 0; n < ds.length; n++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const s = n * per + (y * W + x) * C, d = n * per + (y * W + (W - 1 - x)) * C;
    for (let c = 0; c < C; c++) out[d + c] = ds.images[s + c];
  }
  return createDataset({ ...ds, name: `${ds.name}[flipped]`, images: out });
}

/** `a` then `b` (same geometry and classes; `a`'s name and normalisation). */
export function catDatasets(a: Dataset, b: Dataset): Dataset {
  const images = new Uint8Array(a.images.length + b.images.length);
  images.set(a.images); images.set(b.images, a.images.length);
  const labels = new Uint8Array(a.length + b.length);
  labels.set(a.labels); labels.set(b.labels, a.length);
  return createDataset({ ...a, name: a.name, images, labels });
}

/** Rows of `f` at `idx`. */
export function rowsOf(f: Features, idx: ArrayLike<number>): Features {
  const data = new Float32Array(idx.length * f.dim), labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) { data.set(f.data.subarray(idx[i] * f.dim, (idx[i] + 1) * f.dim), i * f.dim); labels[i] = f.labels[idx[i]]; }
  return { data, labels, count: idx.length, dim: f.dim, classes: f.classes };
}

/** Training indices plus their flipped copies (index + N) when the cache holds them. */
export const withFlips = (idx: Int32Array, n: number, flips: boolean): Int32Array => (flips ? Int32Array.from([...idx, ...Array.from(idx, (i) => i + n)]) : idx);

/**
 * A linear probe with its epoch chosen on validation: trained for up to `epochs` (constant LR) scoring `val`
 * after each, then retrained from scratch for exactly the best epoch count (the same seeded run, stopped there).
 */
export function probeHead(engine: Engine, tr: Features, va: Features, o: { epochs: number; batch: number; lr: number; seed: number }): { head: Linear; epoch: number; val: number } {
  const probe = trainLinearHead(engine, tr, { epochs: o.epochs, batchSize: o.batch, lr: o.lr, seed: o.seed, test: va });
  let best = 0;
  probe.epochs.forEach((e, i) => { if ((e.testAccuracy ?? 0) > (probe.epochs[best].testAccuracy ?? 0)) best = i; });
  probe.head.dispose();
  const fin = trainLinearHead(engine, tr, { epochs: best + 1, batchSize: o.batch, lr: o.lr, seed: o.seed });
  return { head: fin.head, epoch: best + 1, val: probe.epochs[best].testAccuracy ?? 0 };
}

/**
 * Early stopping by validation: after every epoch the model is scored on the split's validation indices and the
 * best epoch's weights kept; finish() restores them and scores the test indices (the only time they are read).
 */
function bestOnValidation(model: Module, data: Dataset, sp: Split, batch: number) {
  let best = -1, bestEpoch = 0, bestState: State | null = null;
  return {
    onEpoch: (e: { epoch: number }) => {
      const v = evaluate(model, data, batch, sp.val).accuracy;
      if (v > best) { best = v; bestEpoch = e.epoch; bestState = model.stateDict(); }
    },
    finish(): { state: State; row: SplitRow } {
      model.loadStateDict(bestState!);
      const te = evaluate(model, data, batch, sp.test);
      return { state: bestState!, row: { split: sp.name, correct: Math.round(te.accuracy * te.count), count: te.count, val: best, epoch: bestEpoch, testIdx: sp.test } };
    },
  };
}

/** Random weights for every layer (Kaiming for convs, PyTorch-style uniform for linears, BN to identity). */
function reinitialize(model: Module, seed: number): void {
  const rng = new InitRng(seed);
  for (const [, m] of model.modules()) {
    if (m instanceof Conv2d) {
      const [, kh, kw, cg] = m.weight.shape;
      m.weight.write(kaimingNormal(rng, m.weight.size, kh * kw * cg));
      m.bias?.write(new Float32Array(m.bias.size));
    } else if (m instanceof Linear) {
      m.weight.write(defaultWeight(rng, m.weight.size, m.inFeatures));
      m.bias?.write(defaultBias(rng, m.bias.size, m.inFeatures));
    } else if (m instanceof BatchNorm2d) {
      m.gamma.write(new Float32Array(m.gamma.size).fill(1)); m.beta.write(new Float32Array(m.beta.size));
      m.runMean.write(new Float32Array(m.runMean.size)); m.runVar.write(new Float32Array(m.runVar.size).fill(1));
    }
  }
}

/** Step 1: the target's images and splits, and the teacher (its frozen prefix marked as not trainable). */
export async function loadStep(ctx: Mnv2Context): Promise<TeacherSetup> {
  const { s, engine } = ctx;
  const { imp, target } = await ctx.stage('load', async () => {
    const target: TargetPool = await loadTargetPool({
      target: s.target, size: s.inputSize, norm: { mean: [0, 0, 0], std: [1, 1, 1] }, shots: s.shots, testPerClass: s.testPerClass,
      folds: s.folds, repeats: s.repeats, valFraction: s.valFraction, seed: s.seed,
    });
    const imp = importTfjs(engine, TEACHER_SOURCE, { cut: s.cut, classes: target.classes.length, inputSize: s.inputSize, seed: s.seed });
    ctx.owned.push(imp.model);
    // the pool was read with nsfwjs' own normalisation (unit: x/255)
    if (imp.normName !== 'unit') throw new QwasmError(`${TEACHER_SOURCE}: expected the unit (x/255) normalisation, got ${imp.normName}`);
    return [{ imp, target }, `${target.pool.length} images, ${target.classes.length} classes, ${target.splits.length} split(s); teacher ${imp.model.numParameters()} parameters`];
  });
  const teacher = imp.model;
  // the ImageNet-frozen prefix: every top-level layer up to the last Keras layer nsfwjs saved as not trainable
  const L = Math.max(...imp.frozen.filter((k) => imp.layerNames[k] !== undefined).map((k) => topIndex(imp, k))) + 1;
  if (!(L >= 1 && L < teacher.layers.length - 1)) throw new QwasmError(`the frozen prefix of ${TEACHER_SOURCE} cut at ${s.cut} is ${L} layers: nothing left to fine-tune`);
  for (const l of teacher.layers.slice(0, L)) for (const [, p] of l.namedParameters()) { p.tensor.requiresGrad = false; p.tensor.grad?.dispose(); p.tensor.grad = null; }
  const cacheAt = Object.entries(imp.layerNames).filter(([, v]) => v === String(L - 1)).map(([k]) => k).pop() ?? `layer ${L - 1}`;
  return { imp, teacher, target, N: target.pool.length, C: target.classes.length, L, cacheAt };
}

export type CacheResult = PrefixCache & { all: Dataset; imageSet: Dataset };

/** Step 2: the frozen prefix's uint8 maps of every image (and of its flipped copy). */
export function cacheStep(ctx: Mnv2Context, t: TeacherSetup): Promise<CacheResult> {
  const { s } = ctx, { teacher, target, L, cacheAt } = t;
  return ctx.stage('cache', (ts) => {
    const sets: Record<string, Dataset> = { pool: target.pool };
    if (s.flipCopies) sets.flipped = flipped(target.pool);
    // quantisation ranges from the last frozen BN's own statistics when the prefix ends in one: no image of
    // the target (test folds included) decides them; else the pooled images (no labels)
    const ranges = teacher.layers[L - 1] instanceof BatchNorm2d ? bnRanges(teacher, L) : undefined;
    const c = cachePrefix(teacher, L, sets, { batchSize: 32, ranges, onProgress: (p) => ctx.progress(p.done, p.total, { images: `${p.done}/${p.total}`, 'img/s': (p.done / Math.max(1e-9, p.seconds)).toFixed(1) }, since(ts)) });
    const all = s.flipCopies ? catDatasets(c.sets.pool, c.sets.flipped) : c.sets.pool;
    const imageSet = s.flipCopies ? catDatasets(target.pool, sets.flipped) : target.pool;
    return [{ ...c, all, imageSet }, `${c.images} images through layers 0–${L - 1} (up to ${cacheAt}) in ${c.seconds.toFixed(1)} s: ${c.shape.join('×')} uint8 maps, ${c.bytesPerImage} B per image`];
  });
}

/** The teacher's suffix (the layers above the cache) and its pretrained weights. */
export interface Suffix { view: Sequential; pretrained: State; head: Linear; headIdx: number }

export function suffixOf(t: TeacherSetup): Suffix {
  const view = suffixView(t.teacher, t.L);
  const headIdx = t.teacher.layers.length - 1 - t.L;
  return { view, pretrained: view.stateDict(), head: view.layers[headIdx] as Linear, headIdx };
}

export interface FeaturesResult { score: Score; heads: { weight: Float32Array; bias: Float32Array }[]; seconds: number; dim: number }

/** Step 3, variant (a): the frozen network's pooled features and a linear head per split. */
export function featuresStep(ctx: Mnv2Context, t: TeacherSetup, cache: CacheResult, sx: Suffix): Promise<FeaturesResult> {
  const { s, engine } = ctx, { target, N } = t;
  return ctx.stage('features', (ts) => {
    sx.view.loadStateDict(sx.pretrained);
    const feats = extractFeatures(sx.view, cache.all, { upTo: sx.headIdx, batchSize: 64 });
    const per: SplitRow[] = [];
    const heads: FeaturesResult['heads'] = [];
    target.splits.forEach((sp, k) => {
      const tr = rowsOf(feats, withFlips(sp.train, N, s.flipCopies)), va = rowsOf(feats, sp.val), te = rowsOf(feats, sp.test);
      const fin = probeHead(engine, tr, va, { epochs: s.headEpochs, batch: s.batch, lr: s.headLr, seed: s.seed + k });
      const pred = headPredict(fin.head, te);
      per.push({ split: sp.name, correct: correctOf(pred, te.labels), count: te.count, val: fin.val, epoch: fin.epoch, testIdx: sp.test });
      heads.push({ weight: fin.head.weight.toArray(), bias: fin.head.bias!.toArray() });
      fin.head.dispose();
      ctx.progress(k + 1, target.splits.length, { split: `${k + 1}/${target.splits.length}`, val: pct(fin.val) }, since(ts));
    });
    const score = poolScore(per);
    return [{ score, heads, seconds: since(ts), dim: feats.dim }, `${pctCi(score)} over ${score.splits} split(s), validation ${pct(score.valAccuracy)}`];
  });
}

export interface FinetuneResult { score: Score; states: State[]; imagesPerSecond: number; seconds: number }

/** Step 4, variant (b): the top blocks + head fine-tuned on the cached maps (head from (a)), per split. */
export function finetuneStep(ctx: Mnv2Context, t: TeacherSetup, cache: CacheResult, sx: Suffix, feat: FeaturesResult): Promise<FinetuneResult> {
  const { s } = ctx, { target, N } = t, { view, head } = sx;
  const keepStates = Math.max(s.studentSplits === 0 ? target.splits.length : s.studentSplits, 1);
  return ctx.stage('finetune', (ts) => {
    const per: SplitRow[] = [];
    const states: State[] = [];
    let ips = 0;
    const spe = (sp: Split) => Math.floor(withFlips(sp.train, N, s.flipCopies).length / s.batch);
    const totalSteps = target.splits.reduce((a, sp) => a + s.epochs * spe(sp), 0);
    let doneSteps = 0;
    target.splits.forEach((sp, k) => {
      view.loadStateDict(sx.pretrained);
      head.weight.write(feat.heads[k].weight); head.bias!.write(feat.heads[k].bias);
      const es = bestOnValidation(view, cache.all, sp, 250);
      const base = doneSteps;
      // BN stays in inference mode (ImageNet running statistics, as Keras recommends for fine-tuning on small
      // data): batch statistics of 16 cached maps would differ from the running ones used at test time
      for (const [, m] of view.modules()) if (m instanceof BatchNorm2d) m.frozen = true;
      const res = fineTune(view, cache.all, {
        freeze: { batchNorm: false },
        strategy: 'full', lrFactor: s.lrFactor, epochs: s.epochs, batchSize: s.batch, lr: s.lr, schedule: 'cosine', seed: s.seed + k,
        indices: withFlips(sp.train, N, s.flipCopies),
        onStep: (st) => { doneSteps = base + st.step; ctx.progress(doneSteps, totalSteps, { split: `${k + 1}/${target.splits.length}`, epoch: `${st.epoch + 1}`, loss: st.loss.toFixed(3), 'img/s': st.imagesPerSecond.toFixed(0) }, since(ts)); },
        onEpoch: es.onEpoch,
      });
      res.optimizer.dispose();
      ips = res.imagesPerSecond;
      const { state, row } = es.finish();
      per.push(row);
      if (k < keepStates) states.push(state);
    });
    const score = poolScore(per);
    return [{ score, states, imagesPerSecond: ips, seconds: since(ts) }, `${pctCi(score)} over ${score.splits} split(s), validation ${pct(score.valAccuracy)}, ${ips.toFixed(0)} img/s on the cache`];
  });
}

export interface ScratchResult { score: Score; imagesPerSecond: number; seconds: number; splits: number }

/** Step 5, variant (c): the teacher's architecture from random weights, every layer trained on the images. */
export function scratchStep(ctx: Mnv2Context, t: TeacherSetup): Promise<ScratchResult> {
  const { s, engine } = ctx, { target, C } = t;
  const nScratch = s.scratchSplits === 0 ? target.splits.length : Math.min(s.scratchSplits, target.splits.length);
  return ctx.stage('scratch', (ts) => {
    const per: SplitRow[] = [];
    let ips = 0;
    const shift = Math.max(1, Math.round(s.inputSize / 12));
    for (let k = 0; k < nScratch; k++) {
      const sp = target.splits[k];
      const model = importTfjs(engine, TEACHER_SOURCE, { cut: s.cut, classes: C, inputSize: s.inputSize, seed: s.seed + k }).model;
      try {
        reinitialize(model, s.seed + 100 + k);
        setBatchNormMomentum(model, 0.1);
        const es = bestOnValidation(model, target.pool, sp, 64);
        const res = fit(model, target.pool, {
          epochs: s.scratchEpochs, batchSize: s.batch, lr: s.scratchLr, schedule: 'cosine', seed: s.seed + k, shift, flip: true, indices: sp.train,
          onStep: (st) => ctx.progress(k * st.totalSteps + st.step, nScratch * st.totalSteps, { split: `${k + 1}/${nScratch}`, epoch: `${st.epoch + 1}`, loss: st.loss.toFixed(3), 'img/s': st.imagesPerSecond.toFixed(1) }, since(ts)),
          onEpoch: es.onEpoch,
        });
        res.optimizer.dispose();
        ips = res.imagesPerSecond;
        per.push(es.finish().row);
      } finally { model.dispose(); }
    }
    const score = poolScore(per);
    return [{ score, imagesPerSecond: ips, seconds: since(ts), splits: nScratch }, `${pctCi(score)} over ${score.splits} split(s), ${ips.toFixed(1)} img/s training every layer`];
  });
}
