// `qwasm pipeline --source mobilenetv2`: a real ImageNet-pretrained network (nsfwjs' Keras MobileNetV2, cut at
// `cut`) transferred to a small photo target and compressed into a student that keeps pretrained weights:
//   (a) features + linear head: the frozen network's pooled features (computed once), a Linear head;
//   (b) fine-tune: the ImageNet-frozen prefix (nsfwjs froze the layers up to block_10) is computed ONCE per
//       image (src/transfer/cache.ts) and the top blocks + head train on the cached maps with discriminative
//       learning rates, starting from (a)'s head (linear probe, then fine-tune);
//   (c) scratch: the same architecture, random weights, every layer trained on the images (the baseline);
//   (d) student: the teacher truncated at `studentCut` and narrowed by filter L1 norm (src/transfer/student.ts),
//       distilled from the final teacher with QAT int8 + channel pruning (compressModel 'joint') → an int8 .qwm
//       scored on the int8 kernels.
// Every choice (the epoch kept, (a) or (b) as the final teacher, which student) is made on validation indices
// carved from each split's training side (mnv2-data.ts); test indices only score. Accuracies are pooled over the
// splits a variant ran on, with 95 % Wilson intervals over the distinct test images.
import { loadRuntime } from '../runtime.js';
import { Engine } from '../autograd/tensor.js';
import { BatchNorm2d, Conv2d, Linear, type Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { InitRng } from '../util/rng.js';
import { defaultBias, defaultWeight, kaimingNormal } from '../nn/init.js';
import { importTfjs, type TfjsImportedModel } from '../tfjs/import.js';
import { createDataset, subset, type Dataset } from '../data/dataset.js';
import { bnRanges, cachePrefix, suffixView } from '../transfer/cache.js';
import { extractFeatures, trainLinearHead, headPredict, type Features } from '../transfer/features.js';
import { fineTune } from '../transfer/finetune.js';
import { buildStudent, recalibrateBatchNorm, setBatchNormMomentum } from '../transfer/student.js';
import { fit, evaluate } from '../train/trainer.js';
import { wilson, type Interval } from '../train/intervals.js';
import { compressModel, type CompressResult } from './compress-model.js';
import { floatBytes, floatProbe, int8Probe, measureLatencies, type LatencyProbe } from './measure.js';
import { loadTargetPool, type Split, type TargetPool } from './mnv2-data.js';
import { resolveMnv2Settings, type Mnv2Settings } from './mnv2-settings.js';
import type { PipelineHooks } from './run.js';
import { QwasmError } from '../errors.js';
import { fs, path } from '../util/node.js';

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

export interface Mnv2Variant {
  key: 'features' | 'finetune' | 'scratch' | 'student';
  name: string;
  role: 'teacher' | 'student';
  precision: 'f32' | 'int8';
  score: Score;
  params: number;
  bytes: number | null;
  latencyMs: number | null;
  seconds: number;
  details: Record<string, unknown>;
}

export interface Comparison { name: string; goal: string; value: number | null; unit: string; met: boolean | null; detail: string }

export interface Mnv2Result {
  settings: Mnv2Settings;
  build: string;
  threads: number;
  node: string;
  startedAt: string;
  seconds: number;
  cpuSeconds: number;
  loadAverage: number[];
  target: { name: string; classes: string[]; images: number; protocol: string; mode: 'cv' | 'fixed'; splits: { name: string; train: number; val: number; test: number }[] };
  teacher: { source: string; cut: string; inputSize: number; params: number; norm: string | null; frozenPrefixLayers: number; cacheAt: string };
  cache: { storage: string; shape: number[]; bytesPerImage: number; bytesPerImageAt224: number; images: number; seconds: number; imagesPerSecond: number; maxAbsError: number; clippedFraction: number; rangeSource: string; augmentation: string };
  finalTeacher: 'features' | 'finetune';
  variants: Mnv2Variant[];
  comparisons: Comparison[];
  throughput: { stage: string; imagesPerSecond: number; batch: number; inputSize: number; note: string }[];
  stages: { name: string; seconds: number; summary: string }[];
}

const TEACHER_SOURCE = 'nsfwjs:mobilenet_v2';

/** Pooled score of per-split results. */
export function poolScore(per: { split: string; correct: number; count: number; val: number; epoch?: number; testIdx: Int32Array }[]): Score {
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

/** Top-level index of a Keras layer's module (its first dotted component). */
function topIndex(imp: TfjsImportedModel, keras: string): number {
  const n = imp.layerNames[keras];
  if (n === undefined) throw new QwasmError(`no layer '${keras}' in the imported ${TEACHER_SOURCE}`);
  return Number(n.split('.')[0]);
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

/** Horizontally flipped copy of an image dataset (same labels). */
function flipped(ds: Dataset): Dataset {
  const { height: H, width: W, channels: C } = ds, per = H * W * C;
  const out = new Uint8Array(ds.images.length);
  for (let n = 0; n < ds.length; n++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const s = n * per + (y * W + x) * C, d = n * per + (y * W + (W - 1 - x)) * C;
    for (let c = 0; c < C; c++) out[d + c] = ds.images[s + c];
  }
  return createDataset({ ...ds, name: `${ds.name}[flipped]`, images: out });
}

function catDatasets(a: Dataset, b: Dataset): Dataset {
  const images = new Uint8Array(a.images.length + b.images.length);
  images.set(a.images); images.set(b.images, a.images.length);
  const labels = new Uint8Array(a.length + b.length);
  labels.set(a.labels); labels.set(b.labels, a.length);
  return createDataset({ ...a, name: a.name, images, labels });
}

/** Rows of `f` at `idx`. */
function rowsOf(f: Features, idx: ArrayLike<number>): Features {
  const data = new Float32Array(idx.length * f.dim), labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) { data.set(f.data.subarray(idx[i] * f.dim, (idx[i] + 1) * f.dim), i * f.dim); labels[i] = f.labels[idx[i]]; }
  return { data, labels, count: idx.length, dim: f.dim, classes: f.classes };
}

const correctOf = (pred: Int32Array, labels: Int32Array): number => { let c = 0; for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) c++; return c; };
/** Training indices plus their flipped copies (index + N) when the cache holds them. */
const withFlips = (idx: Int32Array, n: number, flips: boolean): Int32Array => (flips ? Int32Array.from([...idx, ...Array.from(idx, (i) => i + n)]) : idx);

type State = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * A linear probe with its epoch chosen on validation: trained for up to `epochs` (constant LR) scoring `val`
 * after each, then retrained from scratch for exactly the best epoch count (the same seeded run, stopped there).
 */
function probeHead(engine: Engine, tr: Features, va: Features, o: { epochs: number; batch: number; lr: number; seed: number }): { head: Linear; epoch: number; val: number } {
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
    finish(): { state: State; row: Parameters<typeof poolScore>[0][number] } {
      model.loadStateDict(bestState!);
      const te = evaluate(model, data, batch, sp.test);
      return { state: bestState!, row: { split: sp.name, correct: Math.round(te.accuracy * te.count), count: te.count, val: best, epoch: bestEpoch, testIdx: sp.test } };
    },
  };
}

// long: the seven stages (load, cache, (a)–(d), latency; each block marked below) run in order on one cached
// dataset, one set of folds and the teacher / student models they hand on; not yet split into stage functions
// the way src/pipeline/run.ts is (a follow-up for the MobileNetV2 pipeline's owner).
export async function runMobilenetV2Pipeline(over: Partial<Mnv2Settings> = {}, hooks: PipelineHooks = {}): Promise<Mnv2Result> {
  const s = resolveMnv2Settings(over);
  const t0 = performance.now(), cpu0 = process.cpuUsage(), startedAt = new Date().toISOString();
  const rt = await loadRuntime({ build: hooks.build ?? 'auto', threads: hooks.threads });
  const engine = new Engine(rt);
  const stages: Mnv2Result['stages'] = [];
  const owned: { dispose(): void }[] = [];
  const plan = ['load', 'cache', 'features', 'finetune', 'scratch', 'student', 'latency'];
  const NAMES: Record<string, string> = {
    load: 'load MobileNetV2 and the target', cache: 'frozen prefix: computed once per image', features: '(a) features + linear head',
    finetune: '(b) fine-tune the top blocks on the cache', scratch: '(c) same architecture from scratch', student: '(d) student: truncated + narrowed (L1 filter pruning), distilled, QAT int8',
    latency: 'latency (interleaved, batch 1)',
  };
  let current = '';
  const progress = (step: number, total: number, fields: Record<string, string>, seconds: number) => hooks.onProgress?.(current, { step, total, fields, seconds });
  const stage = async <T>(key: string, fn: (ts: number) => Promise<[T, string]> | [T, string]): Promise<T> => {
    current = NAMES[key];
    hooks.onStage?.(current, plan.indexOf(key) + 1, plan.length);
    const ts = performance.now();
    const [res, summary] = await fn(ts);
    const secs = (performance.now() - ts) / 1000;
    stages.push({ name: current, seconds: secs, summary });
    hooks.onStageDone?.(current, summary, secs);
    return res;
  };
  const since = (ts: number) => (performance.now() - ts) / 1000;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  try {
    // ---------------------------------------------------------------- load
    const { imp, target } = await stage('load', async () => {
      let classesGuess = 2;
      const target: TargetPool = await loadTargetPool({
        target: s.target, size: s.inputSize, norm: { mean: [0, 0, 0], std: [1, 1, 1] }, shots: s.shots, testPerClass: s.testPerClass,
        folds: s.folds, repeats: s.repeats, valFraction: s.valFraction, seed: s.seed,
      });
      classesGuess = target.classes.length;
      const imp = importTfjs(engine, TEACHER_SOURCE, { cut: s.cut, classes: classesGuess, inputSize: s.inputSize, seed: s.seed });
      owned.push(imp.model);
      // the pool was read with nsfwjs' own normalisation (unit: x/255)
      if (imp.normName !== 'unit') throw new QwasmError(`${TEACHER_SOURCE}: expected the unit (x/255) normalisation, got ${imp.normName}`);
      return [{ imp, target }, `${target.pool.length} images, ${target.classes.length} classes, ${target.splits.length} split(s); teacher ${imp.model.numParameters()} parameters`];
    });
    const teacher = imp.model;
    const N = target.pool.length;
    const C = target.classes.length;
    // the ImageNet-frozen prefix: every top-level layer up to the last Keras layer nsfwjs saved as not trainable
    const L = Math.max(...imp.frozen.filter((k) => imp.layerNames[k] !== undefined).map((k) => topIndex(imp, k))) + 1;
    if (!(L >= 1 && L < teacher.layers.length - 1)) throw new QwasmError(`the frozen prefix of ${TEACHER_SOURCE} cut at ${s.cut} is ${L} layers: nothing left to fine-tune`);
    for (const l of teacher.layers.slice(0, L)) for (const [, p] of l.namedParameters()) { p.tensor.requiresGrad = false; p.tensor.grad?.dispose(); p.tensor.grad = null; }
    const cacheAt = Object.entries(imp.layerNames).filter(([, v]) => v === String(L - 1)).map(([k]) => k).pop() ?? `layer ${L - 1}`;

    // ---------------------------------------------------------------- cache
    const cache = await stage('cache', (ts) => {
      const sets: Record<string, Dataset> = { pool: target.pool };
      if (s.flipCopies) sets.flipped = flipped(target.pool);
      // quantisation ranges from the last frozen BN's own statistics when the prefix ends in one: no image of
      // the target (test folds included) decides them; else the pooled images (no labels)
      const ranges = teacher.layers[L - 1] instanceof BatchNorm2d ? bnRanges(teacher, L) : undefined;
      const c = cachePrefix(teacher, L, sets, { batchSize: 32, ranges, onProgress: (p) => progress(p.done, p.total, { images: `${p.done}/${p.total}`, 'img/s': (p.done / Math.max(1e-9, p.seconds)).toFixed(1) }, since(ts)) });
      const all = s.flipCopies ? catDatasets(c.sets.pool, c.sets.flipped) : c.sets.pool;
      const imageSet = s.flipCopies ? catDatasets(target.pool, sets.flipped) : target.pool;
      return [{ ...c, all, imageSet }, `${c.images} images through layers 0–${L - 1} (up to ${cacheAt}) in ${c.seconds.toFixed(1)} s: ${c.shape.join('×')} uint8 maps, ${c.bytesPerImage} B per image`];
    });
    const view = suffixView(teacher, L);
    const pretrained: State = view.stateDict();
    const headIdx = teacher.layers.length - 1 - L;
    const head = view.layers[headIdx] as Linear;

    // ---------------------------------------------------------------- (a) features
    const featRes = await stage('features', (ts) => {
      view.loadStateDict(pretrained);
      const feats = extractFeatures(view, cache.all, { upTo: headIdx, batchSize: 64 });
      const per: Parameters<typeof poolScore>[0] = [];
      const heads: { weight: Float32Array; bias: Float32Array }[] = [];
      target.splits.forEach((sp, k) => {
        const tr = rowsOf(feats, withFlips(sp.train, N, s.flipCopies)), va = rowsOf(feats, sp.val), te = rowsOf(feats, sp.test);
        const fin = probeHead(engine, tr, va, { epochs: s.headEpochs, batch: s.batch, lr: s.headLr, seed: s.seed + k });
        const pred = headPredict(fin.head, te);
        per.push({ split: sp.name, correct: correctOf(pred, te.labels), count: te.count, val: fin.val, epoch: fin.epoch, testIdx: sp.test });
        heads.push({ weight: fin.head.weight.toArray(), bias: fin.head.bias!.toArray() });
        fin.head.dispose();
        progress(k + 1, target.splits.length, { split: `${k + 1}/${target.splits.length}`, val: pct(fin.val) }, since(ts));
      });
      const score = poolScore(per);
      return [{ score, heads, seconds: since(ts), dim: feats.dim }, `${pct(score.accuracy)} (${pct(score.ci.lo)}–${pct(score.ci.hi)}) over ${score.splits} split(s), validation ${pct(score.valAccuracy)}`];
    });

    // ---------------------------------------------------------------- (b) fine-tune on the cache
    const keepStates = Math.max(s.studentSplits, 1);
    const ftRes = await stage('finetune', (ts) => {
      const per: Parameters<typeof poolScore>[0] = [];
      const states: State[] = [];
      let ips = 0;
      const spe = (sp: Split) => Math.floor(withFlips(sp.train, N, s.flipCopies).length / s.batch);
      const totalSteps = target.splits.reduce((a, sp) => a + s.epochs * spe(sp), 0);
      let doneSteps = 0;
      target.splits.forEach((sp, k) => {
        view.loadStateDict(pretrained);
        head.weight.write(featRes.heads[k].weight); head.bias!.write(featRes.heads[k].bias);
        const es = bestOnValidation(view, cache.all, sp, 250);
        const base = doneSteps;
        // BN stays in inference mode (ImageNet running statistics, as Keras recommends for fine-tuning on small
        // data): batch statistics of 16 cached maps would differ from the running ones used at test time
        for (const [, m] of view.modules()) if (m instanceof BatchNorm2d) m.frozen = true;
        const res = fineTune(view, cache.all, {
          freeze: { batchNorm: false },
          strategy: 'full', lrFactor: s.lrFactor, epochs: s.epochs, batchSize: s.batch, lr: s.lr, schedule: 'cosine', seed: s.seed + k,
          indices: withFlips(sp.train, N, s.flipCopies),
          onStep: (st) => { doneSteps = base + st.step; progress(doneSteps, totalSteps, { split: `${k + 1}/${target.splits.length}`, epoch: `${st.epoch + 1}`, loss: st.loss.toFixed(3), 'img/s': st.imagesPerSecond.toFixed(0) }, since(ts)); },
          onEpoch: es.onEpoch,
        });
        res.optimizer.dispose();
        ips = res.imagesPerSecond;
        const { state, row } = es.finish();
        per.push(row);
        if (k < keepStates) states.push(state);
      });
      const score = poolScore(per);
      return [{ score, states, imagesPerSecond: ips, seconds: since(ts) }, `${pct(score.accuracy)} (${pct(score.ci.lo)}–${pct(score.ci.hi)}) over ${score.splits} split(s), validation ${pct(score.valAccuracy)}, ${ips.toFixed(0)} img/s on the cache`];
    });
    // the final teacher: the better mean validation accuracy (ties: fine-tuning)
    const finalTeacher: 'features' | 'finetune' = featRes.score.valAccuracy > ftRes.score.valAccuracy ? 'features' : 'finetune';
    /** Loads split k's final-teacher weights into the teacher. */
    const loadFinal = (k: number) => {
      if (finalTeacher === 'finetune') view.loadStateDict(ftRes.states[k]);
      else { view.loadStateDict(pretrained); head.weight.write(featRes.heads[k].weight); head.bias!.write(featRes.heads[k].bias); }
    };

    // ---------------------------------------------------------------- (c) scratch
    const nScratch = s.scratchSplits === 0 ? target.splits.length : Math.min(s.scratchSplits, target.splits.length);
    const scratchRes = await stage('scratch', (ts) => {
      const per: Parameters<typeof poolScore>[0] = [];
      let ips = 0;
      const shift = Math.max(1, Math.round(s.inputSize / 12));
      for (let k = 0; k < nScratch; k++) {
        const sp = target.splits[k];
        const fresh = importTfjs(engine, TEACHER_SOURCE, { cut: s.cut, classes: C, inputSize: s.inputSize, seed: s.seed + k });
        const model = fresh.model;
        try {
          reinitialize(model, s.seed + 100 + k);
          setBatchNormMomentum(model, 0.1);
          const es = bestOnValidation(model, target.pool, sp, 64);
          const res = fit(model, target.pool, {
            epochs: s.scratchEpochs, batchSize: s.batch, lr: s.scratchLr, schedule: 'cosine', seed: s.seed + k, shift, flip: true, indices: sp.train,
            onStep: (st) => progress(k * st.totalSteps + st.step, nScratch * st.totalSteps, { split: `${k + 1}/${nScratch}`, epoch: `${st.epoch + 1}`, loss: st.loss.toFixed(3), 'img/s': st.imagesPerSecond.toFixed(1) }, since(ts)),
            onEpoch: es.onEpoch,
          });
          res.optimizer.dispose();
          ips = res.imagesPerSecond;
          per.push(es.finish().row);
        } finally { model.dispose(); }
      }
      const score = poolScore(per);
      return [{ score, imagesPerSecond: ips, seconds: since(ts) }, `${pct(score.accuracy)} (${pct(score.ci.lo)}–${pct(score.ci.hi)}) over ${score.splits} split(s), ${ips.toFixed(1)} img/s training every layer`];
    });

    // ---------------------------------------------------------------- (d) student
    const nStudent = s.studentSplits === 0 ? target.splits.length : Math.min(s.studentSplits, target.splits.length, ftRes.states.length);
    const studentUpTo = topIndex(imp, s.studentCut) + 1;
    if (studentUpTo > L) throw new QwasmError(`the student cut ${s.studentCut} is above the teacher's frozen prefix (${cacheAt}): pick an earlier layer`);
    let keepInt8: CompressResult | null = null;
    const studentRes = await stage('student', (ts) => studentStage());
    async function studentStage(): Promise<[{ score: Score; keep: number; candidates: { keep: number; val: number }[]; params: number; bytes: number; seconds: number; details: Record<string, unknown> }, string]> {
      const ts = performance.now();
      const per: Parameters<typeof poolScore>[0] = [];
      const candVals = s.studentKeep.map(() => [] as number[]);
      let chosen = 0, params = 0, bytes = 0, details: Record<string, unknown> = {};
      const chosenPerSplit: { split: string; keep: number; val: number; floatProbeVal: number; teacherVal: number }[] = [];
      const S = s.inputSize;
      for (let k = 0; k < nStudent; k++) {
        const sp = target.splits[k];
        loadFinal(k);
        teacher.eval();
        const results: { keep: number; r: CompressResult; val: number; probeVal: number }[] = [];
        for (const [ci, keep] of s.studentKeep.entries()) {
          const st = buildStudent(teacher, { upTo: studentUpTo, classes: C, keep, input: [S, S, 3], seed: s.seed + k });
          try {
            // BN statistics of the narrowed trunk re-estimated on the training images, then its head a linear probe
            // on its own features (epoch chosen on validation) before the joint QAT + distillation run (LP-FT)
            recalibrateBatchNorm(st.model, target.pool, { indices: sp.train, batchSize: s.batch });
            const sf = extractFeatures(st.model, cache.imageSet, { batchSize: 64 });
            const lp = probeHead(engine, rowsOf(sf, withFlips(sp.train, N, s.flipCopies)), rowsOf(sf, sp.val), { epochs: s.headEpochs, batch: s.batch, lr: s.headLr, seed: s.seed + k });
            const sh = st.model.layers[st.model.layers.length - 1] as Linear;
            sh.weight.write(lp.head.weight.toArray()); sh.bias!.write(lp.head.bias!.toArray());
            lp.head.dispose();
            const r = await compressModel(st.model, target.pool, {
              method: 'joint', teacher, epochs: s.studentEpochs, batchSize: s.batch, lr: s.studentLr, seed: s.seed + k, indices: sp.train, shift: Math.max(1, Math.round(S / 24)),
              distill: { temperature: s.temperature, alpha: s.alpha },
              ...(s.sparsity > 0 ? { prune: { sparsity: s.sparsity, structure: 'channel' as const, schedule: 'polynomial' as const } } : {}),
              onProgress: (p) => { if (p.phase === 'train') progress(p.step, p.totalSteps, { split: `${k + 1}/${nStudent}`, keep: String(keep), epoch: `${p.epoch + 1}`, loss: p.loss.toFixed(3), 'img/s': p.imagesPerSecond.toFixed(1) }, since(ts)); },
            });
            const val = r.int8.evaluate(target.pool, { indices: sp.val }).accuracy;
            candVals[ci].push(val);
            results.push({ keep, r, val, probeVal: lp.val });
          } finally { st.model.dispose(); }
        }
        // which student (the deployment choice, on validation): the narrowest whose int8 validation accuracy is
        // within 2 points of the final teacher's on this split; none is: the most accurate (ties: the narrower)
        const teacherVal = (finalTeacher === 'finetune' ? ftRes.score : featRes.score).perSplit[k].val;
        const order = results.map((_, i) => i).sort((a, b) => results[a].keep - results[b].keep);
        let bi = order.find((i) => results[i].val >= teacherVal - 0.02 - 1e-12) ?? -1;
        if (bi < 0) { bi = order[0]; for (const i of order) if (results[i].val > results[bi].val) bi = i; }
        const win = results[bi];
        chosenPerSplit.push({ split: sp.name, keep: win.keep, val: win.val, floatProbeVal: win.probeVal, teacherVal });
        const te = win.r.int8.evaluate(target.pool, { indices: sp.test });
        per.push({ split: sp.name, correct: Math.round(te.accuracy * te.count), count: te.count, val: win.val, testIdx: sp.test });
        if (k === 0) {
          chosen = win.keep; params = win.r.floatModel.numParameters(); bytes = win.r.int8.bytes();
          details = { channels: win.r.history.channels ? { paramsBefore: win.r.history.channels.paramsBefore, paramsAfter: win.r.history.channels.paramsAfter } : null, layers: win.r.int8.layers().length };
        }
        for (const [i, c] of results.entries()) {
          if (k === 0 && i === bi) { keepInt8 = c.r; continue; }
          c.r.int8.dispose(); c.r.quantized.dispose?.(); c.r.floatModel.dispose();
        }
      }
      const score = poolScore(per);
      const candidates = s.studentKeep.map((keep, i) => ({ keep, val: candVals[i].reduce((a, b) => a + b, 0) / Math.max(1, candVals[i].length) }));
      return [{ score, keep: chosen, candidates, params, bytes, seconds: since(ts), details: { ...details, chosenPerSplit } },
        `int8 ${pct(score.accuracy)} (${pct(score.ci.lo)}–${pct(score.ci.hi)}) over ${score.splits} split(s); keep ${chosen}, ${params} parameters, ${bytes} B .qwm`];
    }
    if (keepInt8) owned.push({ dispose: () => { const r = keepInt8!; r.int8.dispose(); r.quantized.dispose?.(); r.floatModel.dispose(); } });

    // ---------------------------------------------------------------- latency
    loadFinal(0);
    teacher.eval();
    const teacherBytes = floatBytes(teacher, { name: 'mobilenetv2', options: { classes: C, input: [s.inputSize, s.inputSize, 3] } });
    const lat = await stage('latency', (ts) => {
      const probes: LatencyProbe[] = [floatProbe(teacher, [s.inputSize, s.inputSize, 3])];
      if (keepInt8) probes.push(int8Probe((keepInt8 as CompressResult).int8));
      const l = measureLatencies(probes, s.latencyRounds, s.latencyRuns, (r) => progress(r, s.latencyRounds, { round: `${r}/${s.latencyRounds}` }, since(ts)));
      return [l, `teacher f32 ${l[0].toFixed(2)} ms${l.length > 1 ? `, student int8 ${l[1].toFixed(2)} ms` : ''}`];
    });
    if (s.saveModels && keepInt8) {
      fs().mkdirSync(s.outDir, { recursive: true });
      const file = path().join(s.outDir, 'student-int8.qwm'), tmp = `${file}.${process.pid}.tmp`;
      fs().writeFileSync(tmp, (keepInt8 as CompressResult).int8.qwm());
      fs().renameSync(tmp, file);
    }

    // ---------------------------------------------------------------- result
    const tParams = teacher.numParameters();
    const onSplits = (sc: Score, n: number): Score => poolScore(sc.perSplit.slice(0, n).map((p, i) => {
      const sp = target.splits[i];
      return { split: p.split, correct: Math.round(p.test * sp.test.length), count: sp.test.length, val: p.val, epoch: p.epoch, testIdx: sp.test };
    }));
    const finalScore = finalTeacher === 'finetune' ? ftRes.score : featRes.score;
    const variants: Mnv2Variant[] = [
      { key: 'features', name: 'teacher · (a) features + linear head', role: 'teacher', precision: 'f32', score: featRes.score, params: tParams, bytes: teacherBytes, latencyMs: finalTeacher === 'features' ? lat[0] : null, seconds: featRes.seconds, details: { featureDim: featRes.dim } },
      { key: 'finetune', name: 'teacher · (b) fine-tune top blocks on the cache', role: 'teacher', precision: 'f32', score: ftRes.score, params: tParams, bytes: teacherBytes, latencyMs: finalTeacher === 'finetune' ? lat[0] : null, seconds: ftRes.seconds, details: { imagesPerSecond: ftRes.imagesPerSecond } },
      { key: 'scratch', name: 'teacher architecture · (c) from scratch', role: 'teacher', precision: 'f32', score: scratchRes.score, params: tParams, bytes: teacherBytes, latencyMs: null, seconds: scratchRes.seconds, details: { imagesPerSecond: scratchRes.imagesPerSecond } },
      { key: 'student', name: `student · (d) up to ${s.studentCut}, ${studentRes.keep < 1 ? `${studentRes.keep} width (L1 filter pruning)` : 'full width'}, distilled + QAT${s.sparsity > 0 ? ` + channel pruning ${s.sparsity}` : ''} · int8`, role: 'student', precision: 'int8', score: studentRes.score, params: studentRes.params, bytes: studentRes.bytes, latencyMs: lat[1] ?? null, seconds: studentRes.seconds, details: { ...studentRes.details, candidates: studentRes.candidates } },
    ];
    const comparisons: Comparison[] = [];
    const gainTarget = /fashion/i.test(s.target) ? 8 : 15;
    const fOnScratch = onSplits(finalScore, nScratch);
    const gain = 100 * (fOnScratch.accuracy - scratchRes.score.accuracy);
    comparisons.push({ name: 'transfer (final teacher) − scratch', goal: `≥ ${gainTarget} points`, value: gain, unit: 'points', met: gain >= gainTarget,
      detail: `on the same ${nScratch} split(s): ${pct(fOnScratch.accuracy)} (${pct(fOnScratch.ci.lo)}–${pct(fOnScratch.ci.hi)}) vs ${pct(scratchRes.score.accuracy)} (${pct(scratchRes.score.ci.lo)}–${pct(scratchRes.score.ci.hi)})` });
    const ratio = teacherBytes / studentRes.bytes;
    comparisons.push({ name: 'int8 student vs float teacher: size', goal: '≥ 8× smaller', value: ratio, unit: '×', met: ratio >= 8, detail: `${studentRes.bytes} B .qwm vs ${teacherBytes} B float checkpoint` });
    const speed = lat.length > 1 ? lat[0] / lat[1] : null;
    comparisons.push({ name: 'int8 student vs float teacher: batch-1 speed', goal: '≥ 4× faster', value: speed, unit: '×', met: speed === null ? null : speed >= 4, detail: lat.length > 1 ? `${lat[1].toFixed(3)} ms vs ${lat[0].toFixed(3)} ms (teacher on the f32 engine, student on the int8 kernels)` : 'not run' });
    const fOnStudent = onSplits(finalScore, nStudent);
    const gap = 100 * (fOnStudent.accuracy - studentRes.score.accuracy);
    comparisons.push({ name: 'int8 student vs float teacher: accuracy', goal: 'within 2 points', value: gap, unit: 'points below', met: gap <= 2,
      detail: `on the same ${nStudent} split(s): ${pct(studentRes.score.accuracy)} (${pct(studentRes.score.ci.lo)}–${pct(studentRes.score.ci.hi)}) vs ${pct(fOnStudent.accuracy)} (${pct(fOnStudent.ci.lo)}–${pct(fOnStudent.ci.hi)})` });
    const at224 = (cache.shape[0] * 224 / s.inputSize) * (cache.shape[1] * 224 / s.inputSize) * cache.shape[2];
    return {
      settings: s, build: rt.build, threads: rt.threads, node: process.version, startedAt,
      seconds: since(t0), cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0)), loadAverage: osLoad(),
      target: { name: target.name, classes: target.classes, images: N, protocol: target.protocol, mode: target.mode, splits: target.splits.map((sp) => ({ name: sp.name, train: sp.train.length, val: sp.val.length, test: sp.test.length })) },
      teacher: { source: TEACHER_SOURCE, cut: s.cut, inputSize: s.inputSize, params: tParams, norm: imp.normName, frozenPrefixLayers: L, cacheAt },
      cache: {
        storage: 'uint8, per-channel affine (min/max over the cached images, no labels)', shape: cache.shape, bytesPerImage: cache.bytesPerImage, bytesPerImageAt224: Math.round(at224),
        images: cache.images, seconds: cache.seconds, imagesPerSecond: cache.images / cache.seconds, maxAbsError: cache.maxAbsError, clippedFraction: cache.clippedFraction, rangeSource: cache.rangeSource === 'given' ? 'the last frozen BatchNorm (β ± 6|γ|)' : 'the pooled images (no labels)',
        augmentation: s.flipCopies ? 'one horizontally flipped copy of every image is cached too (training sees both); no other augmentation of the frozen part (shifts / crops would need a new forward per epoch)' : 'none: every epoch sees the same cached maps',
      },
      finalTeacher, variants, comparisons,
      throughput: [
        { stage: 'frozen prefix, forward once (eval, no graph)', imagesPerSecond: cache.images / cache.seconds, batch: 32, inputSize: s.inputSize, note: `layers 0–${L - 1}` },
        { stage: 'fine-tune top blocks on the cache (forward + backward + Adam)', imagesPerSecond: ftRes.imagesPerSecond, batch: s.batch, inputSize: s.inputSize, note: `layers ${L}–${teacher.layers.length - 1}` },
        { stage: 'every layer trained (scratch)', imagesPerSecond: scratchRes.imagesPerSecond, batch: s.batch, inputSize: s.inputSize, note: 'full forward + backward' },
      ],
      stages,
    };
  } finally {
    for (const o of owned) o.dispose();
  }
}

/** The 1-, 5- and 15-minute load averages (other jobs on the machine inflate the wall times). */
function osLoad(): number[] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as { loadavg(): number[] } | undefined;
  return os ? os.loadavg().map((v) => Math.round(v * 100) / 100) : [];
}
