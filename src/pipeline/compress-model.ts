// compressModel: one entry point for every compression method, and the joint objective — ONE fit() loop whose
// loss is
//     w_task·CE(student, labels) + α·T²·KL(teacher_T ‖ student_T) + Σ wₕ·MSE(adapterₕ(student tap), teacher tap)
//     + w_q·mean(W − Q(W))²
// on a fake-quantised student (QAT: prepareQAT) whose Linear / Conv2d weights are pruned on a schedule (Pruner
// masks held by the optimiser and re-applied after every step), optionally after a low-rank factorisation.
// Every term is one of the existing modules wired through fit's hooks — Distiller.hook and
// QATModel.quantizationPenalty in extraLoss, Pruner / QATSchedule in beforeStep / afterStep — nothing is
// re-implemented here. w_task defaults to 1 − α with distillation (Hinton), else 1.
//
// Methods (each term is on for its own method; 'joint' turns all of them on, the weights decide):
//   'ptq'     post-training quantisation only (no training): static (calibrated activation ranges, an all-int8
//             model) or dynamic weight-only (opts.ptq.method 'dynamic': int8 weights, f32 activations — no
//             Int8Model, result.int8 is null and the report row says so)
//   'qat'     QAT fine-tune [+ w_q penalty]
//   'prune'   float fine-tune under a pruning schedule, then static PTQ
//   'lowrank' factorise (SVD), float fine-tune, then static PTQ
//   'distill' float training with a teacher, then static PTQ
//   'joint'   [lowrank if opts.lowrank] → QAT + distillation + [pruning if opts.prune] + w_q penalty
// Channel pruning ('channel' structure) removes the pruned channels after training (removePrunedChannels): the
// result is a narrower model, not a masked one; under QAT the narrower fake-quant model takes over the trained
// quantisation grid (QATModel.copyQuantizersFrom), so its int8 model is the masked model's, bit for bit.
// The caller's model is never modified: the student is a copy (or the factorised model), so the original can
// be the teacher — 'joint' distils from it when no teacher is given. Same seed, build and data → identical
// weights.
import type { Module, ParamInfo } from '../nn/module.js';
import { Conv2d, Linear, BatchNorm2d, ReLU, ReLU6, Sequential } from '../nn/layers.js';
import type { Dataset } from '../data/dataset.js';
import { Optimizer } from '../optim/optimizer.js';
import { fit, type EpochInfo, type LossHook } from '../train/trainer.js';
import type { Tensor } from '../autograd/tensor.js';
import { prepareQAT, QATSchedule, type QATModel, type QATOptions, type Unit as QuantUnit } from '../quant/qat.js';
import { quantizeStatic, quantizeDynamic } from '../quant/ptq.js';
import { DEFAULT_PERCENTILE } from '../quant/fakequant.js';
import { convertToInt8, type ConvertOptions, type Int8Model } from '../deploy/int8-model.js';
import { Distiller, type HintSpec } from '../compress/distill.js';
import { Pruner, prunedWeights, removePrunedChannels, type PruneOptions } from '../compress/prune.js';
import { factorize, type FactorReport } from '../compress/lowrank.js';
import { copyModel } from '../nn/copy.js';
import { reportRow, type ReportRow } from '../deploy/report.js';
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';

/** PTQ calibration batches (of 64 images) when opts.ptq.batches is not given. */
const CALIB_BATCHES = 16;

export type CompressMethod = 'qat' | 'ptq' | 'prune' | 'lowrank' | 'distill' | 'joint';
export const COMPRESS_METHODS: readonly CompressMethod[] = ['qat', 'ptq', 'prune', 'lowrank', 'distill', 'joint'];

export interface DistillTerm {
  /** softmax temperature (default 4) */
  temperature?: number;
  /** weight α of the soft-target term (default 0.5); the task term gets 1 − α unless taskWeight is set */
  alpha?: number;
  /** hint (feature) losses: student / teacher sub-module names. Under QAT only modules that still run their own
   *  forward can be tapped (pools, dropout, flatten, residual blocks) — Conv2d / Linear / BN / ReLU are fused. */
  hint?: HintSpec | HintSpec[];
}

export interface QatTerm {
  /** weight of the mean (W − Q(W))² penalty (default 0: off) */
  qerrWeight?: number;
  /** freeze the activation / weight observers from this step (default 70 % of the steps) */
  freezeObserversAt?: number;
  /** BatchNorm on running statistics from this step (default 30 % of the steps) */
  freezeBnAt?: number;
  /** prepareQAT options (observer, lsq, …) */
  options?: QATOptions;
}

export interface PruneTerm {
  /** target sparsity (not for 'nm', whose sparsity is 1 − keep/group) */
  sparsity?: number;
  /** default 'unstructured' */
  structure?: 'unstructured' | 'nm' | 'block' | 'channel';
  /** default 'polynomial' (TF-MOT PolynomialDecay 0 → sparsity); 'oneshot' prunes before the first step */
  schedule?: 'oneshot' | 'polynomial';
  /** default 'global' for unstructured / block, 'layer' for channel / nm */
  scope?: 'global' | 'layer';
  /** polynomial schedule: sparsity at beginStep (default 0; TF-MOT PolynomialDecay initial_sparsity) */
  initialSparsity?: number;
  /** polynomial schedule: first pruning step (default 0) */
  beginStep?: number;
  /** polynomial schedule: step at which `sparsity` is reached (default 2/3 of the steps) */
  endStep?: number;
  /** polynomial schedule: masks recomputed every `frequency` steps (default endStep / 10) */
  frequency?: number;
  /** polynomial exponent (default 3) */
  power?: number;
  nm?: [number, number];
  block?: [number, number];
  layers?: string[];
  exclude?: string[];
  /** structure 'channel': remove the pruned channels after training (default true: a narrower model); false
   *  keeps the masked full-width model */
  removeChannels?: boolean;
}

export interface LowRankTerm {
  /** one rank, or per layer name */
  rank?: number | Record<string, number>;
  /** smallest rank keeping this fraction of Σσ² */
  energy?: number;
  /** per-layer compression ratio in·out / (r·(in + out)) */
  compression?: number;
  /** layers to factorise (default: every layer the factorisation shrinks) */
  layers?: string[];
  conv?: 'channel' | 'spatial';
}

export interface CompressProgress {
  phase: 'train' | 'calibrate' | 'convert' | 'evaluate';
  step: number;
  totalSteps: number;
  epoch: number;
  /** total objective of the step */
  loss: number;
  /** training-batch accuracy so far in the epoch */
  accuracy: number;
  lr: number;
  /** current target sparsity of the pruning schedule (0 without pruning) */
  sparsity: number;
  terms: StepTerms;
  seconds: number;
  imagesPerSecond: number;
}

/** The unweighted value of each active term at a step (undefined = term off). */
export interface StepTerms { task: number; kd?: number; hints?: number[]; qerr?: number }

export interface StepRecord extends StepTerms { step: number; loss: number; lr: number; sparsity: number }

export interface CompressOptions {
  method: CompressMethod;
  /** frozen teacher (required for 'distill'; 'joint' defaults to the uncompressed input model) */
  teacher?: Module;
  /** default 1 */
  epochs?: number;
  /** default 64 */
  batchSize?: number;
  /** default 1e-4 for 'qat', 1e-3 otherwise */
  lr?: number;
  /** default 'cosine' */
  lrSchedule?: 'constant' | 'cosine' | 'step';
  /** default 1 */
  seed?: number;
  /** stop after this many steps */
  maxSteps?: number;
  /** train on these indices of `train` only */
  indices?: ArrayLike<number>;
  /** random shifts of ±shift pixels */
  shift?: number;
  /** weight of the task (hard-label) loss; default 1 − α with distillation, else 1 */
  taskWeight?: number;
  distill?: DistillTerm;
  qat?: QatTerm;
  prune?: PruneTerm;
  lowrank?: LowRankTerm;
  /** static PTQ (methods without QAT): calibration batches (default 16, 64 examples each) and range method */
  ptq?: { method?: 'minmax' | 'percentile'; percentile?: number; batches?: number };
  /** convertToInt8 options (backend overrides…); `pruned` is filled in from the pruning masks */
  convert?: ConvertOptions;
  onProgress?: (info: CompressProgress) => void;
  /** measure report rows (the float input model, then the compressed one) on this set */
  evalData?: Dataset;
  /** evaluate on these indices of evalData only */
  evalIndices?: ArrayLike<number>;
  /** also report the uncompressed input model (default true) */
  baselineRow?: boolean;
}

/**
 * Dynamic (weight-only) PTQ for the float methods: int8 per-channel weights, f32 activations and arithmetic.
 * No all-int8 model exists for it: `result.int8` is null, the report row's accuracyInt8 is null and its
 * `precision` is 'int8-weights'.
 */
export type WeightOnlyCompressOptions = Omit<CompressOptions, 'ptq'> & { ptq: { method: 'dynamic' } };

export interface CompressHistory {
  method: CompressMethod;
  steps: StepRecord[];
  epochs: EpochInfo[];
  totalSteps: number;
  seconds: number;
  /** the terms that were on */
  terms: { task: number; distill: { alpha: number; temperature: number; hints: number } | null; qat: boolean; lsq: boolean; qerrWeight: number; prune: PruneOptions | null; lowrank: FactorReport[] | null; ptq: 'minmax' | 'percentile' | 'dynamic' | null;
    /** PTQ's calibration settings as used (defaults filled in), so a report says which percentile / how many batches */
    calibration: { method: 'minmax' | 'percentile'; percentile?: number; batches: number } | null };
  /** final per-layer sparsity (pruning) */
  sparsity?: { global: number; layers: { name: string; sparsity: number }[] };
  /** channel pruning: the output channels removed per layer, and the parameter counts before / after */
  channels?: { removed: Record<string, number[]>; paramsBefore: number; paramsAfter: number };
}

export interface CompressResult<I extends Int8Model | null = Int8Model> {
  /** the compressed model: the QATModel (fake quant) for 'qat' / 'joint', else the float model */
  model: Module;
  /** the float model inside (same as model for float methods) */
  floatModel: Module;
  /** the fake-quant model the int8 model was converted from (dynamic PTQ: the weight-only fake-quant model) */
  quantized: QATModel;
  /** the all-int8 model (null for dynamic weight-only PTQ, which keeps f32 activations) */
  int8: I;
  /** report rows (empty without evalData) */
  rows: ReportRow[];
  history: CompressHistory;
}

// ------------------------------------------------------------------ validation

const isObj = (v: unknown): boolean => !!v && typeof v === 'object' && !Array.isArray(v);

function checkKeys(name: string, o: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new TypeError(`${name}: unknown option '${k}' (allowed: ${allowed.join(', ')})`);
}

function checkWeight(name: string, v: unknown): number {
  const x = checkFinite(name, v);
  if (x < 0) throw new RangeError(`${name} must be ≥ 0, got ${x}`);
  return x;
}

function checkModuleArg(name: string, m: unknown): Module {
  if (!m || typeof m !== 'object' || typeof (m as Module).forward !== 'function' || typeof (m as Module).namedParameters !== 'function') {
    throw new TypeError(`${name} must be a Module, got ${describe(m)}`);
  }
  return m as Module;
}

function checkDataset(name: string, d: unknown): Dataset {
  if (!isObj(d) || !((d as Dataset).images instanceof Uint8Array)) throw new TypeError(`${name} must be a Dataset, got ${describe(d)}`);
  return d as unknown as Dataset;
}

/** Which terms a method turns on. */
function termsOf(method: CompressMethod): { qat: boolean; distill: boolean; prune: boolean; lowrank: boolean; train: boolean } {
  switch (method) {
    case 'ptq': return { qat: false, distill: false, prune: false, lowrank: false, train: false };
    case 'qat': return { qat: true, distill: false, prune: false, lowrank: false, train: true };
    case 'prune': return { qat: false, distill: false, prune: true, lowrank: false, train: true };
    case 'lowrank': return { qat: false, distill: false, prune: false, lowrank: true, train: true };
    case 'distill': return { qat: false, distill: true, prune: false, lowrank: false, train: true };
    case 'joint': return { qat: true, distill: true, prune: true, lowrank: true, train: true };
  }
}

function pruneOptions(p: PruneTerm, totalSteps: number): PruneOptions {
  if (!isObj(p)) throw new TypeError(`prune must be an object, got ${describe(p)}`);
  checkKeys('prune', p as Record<string, unknown>, ['sparsity', 'structure', 'schedule', 'scope', 'initialSparsity', 'beginStep', 'endStep', 'frequency', 'power', 'nm', 'block', 'layers', 'exclude', 'removeChannels']);
  const mode = p.structure ?? 'unstructured';
  if (!['unstructured', 'nm', 'block', 'channel'].includes(mode)) throw new TypeError(`prune.structure must be 'unstructured', 'nm', 'block' or 'channel', got ${describe(mode)}`);
  const kind = p.schedule ?? 'polynomial';
  if (kind !== 'oneshot' && kind !== 'polynomial') throw new TypeError(`prune.schedule must be 'oneshot' or 'polynomial', got ${describe(kind)}`);
  const scope = p.scope ?? (mode === 'unstructured' || mode === 'block' ? 'global' : 'layer');
  if (p.removeChannels !== undefined && typeof p.removeChannels !== 'boolean') throw new TypeError(`prune.removeChannels must be a boolean, got ${describe(p.removeChannels)}`);
  if (p.removeChannels !== undefined && mode !== 'channel') throw new QwasmError(`prune.removeChannels is only for structure 'channel', got structure '${mode}'`);
  const poly = ['initialSparsity', 'beginStep', 'endStep', 'frequency', 'power'] as const;
  if (mode === 'nm' || kind === 'oneshot') {
    for (const k of poly) if (p[k] !== undefined) throw new QwasmError(`prune.${k} is a polynomial-schedule option; ${mode === 'nm' ? `structure 'nm' masks are fixed from the first step` : `schedule 'oneshot' prunes once before the first step`}`);
  }
  const base: PruneOptions = { mode, scope, ...(p.nm ? { nm: p.nm } : {}), ...(p.block ? { block: p.block } : {}), ...(p.layers ? { layers: p.layers } : {}), ...(p.exclude ? { exclude: p.exclude } : {}) };
  if (mode === 'nm') {
    if (p.sparsity !== undefined) throw new QwasmError(`prune.sparsity cannot be set with structure 'nm': it is 1 − keep/group (set prune.nm)`);
    return base; // N:M masks are fixed from the first step (the Pruner prunes in its constructor)
  }
  if (p.sparsity === undefined) throw new TypeError(`prune.sparsity is required (structure '${mode}')`);
  const s = checkFinite('prune.sparsity', p.sparsity);
  if (!(s > 0 && s < 1)) throw new RangeError(`prune.sparsity must be in (0, 1), got ${s}`);
  if (kind === 'oneshot') return { ...base, sparsity: s };
  const initial = checkFinite('prune.initialSparsity', p.initialSparsity ?? 0);
  if (!(initial >= 0 && initial <= s)) throw new RangeError(`prune.initialSparsity must be in [0, prune.sparsity = ${s}], got ${initial}`);
  const begin = checkInt('prune.beginStep', p.beginStep ?? 0, 0);
  const end = checkInt('prune.endStep', p.endStep ?? Math.max(begin + 1, Math.round(totalSteps * 2 / 3)), begin + 1);
  const freq = checkInt('prune.frequency', p.frequency ?? Math.max(1, Math.floor((end - begin) / 10)), 1);
  if (p.power !== undefined) checkFinite('prune.power', p.power);
  return { ...base, schedule: { initialSparsity: initial, finalSparsity: s, beginStep: begin, endStep: end, frequency: freq, power: p.power ?? 3 } };
}

function hintList(h: DistillTerm['hint']): HintSpec[] {
  if (h === undefined) return [];
  return Array.isArray(h) ? h : [h];
}

// ------------------------------------------------------------------ the entry point

/**
 * For a conv / linear unit of `src` whose output channels were removed in `dst`, the source channels it kept:
 * the layers removePrunedChannels names, and a depthwise conv that follows one of them (same channels).
 */
function keptChannels(src: QATModel, dst: QATModel, removed: Record<string, number[]>): Map<string, number[]> {
  const width = (u: QuantUnit): number | null => (u.kind === 'conv' ? u.conv.spec.outChannels : u.kind === 'linear' ? u.linear.outFeatures : null);
  const dstWidth = new Map(dst.allUnits().map((u) => [u.name, width(u)]));
  const out = new Map<string, number[]>();
  let last: number[] | null = null;
  for (const u of src.allUnits()) {
    const n = width(u);
    if (n === null) continue;
    const r = removed[u.name];
    if (r) {
      const gone = new Set(r);
      last = Array.from({ length: n }, (_, j) => j).filter((j) => !gone.has(j));
      out.set(u.name, last);
    } else if (dstWidth.get(u.name) !== n) {
      if (!last || last.length !== dstWidth.get(u.name)) throw new QwasmError(`channel removal: cannot tell which channels of '${u.name}' were kept`);
      out.set(u.name, last);
    }
  }
  return out;
}

// ------------------------------------------------------------------ the job, one unit per stage

/** The options after validation, defaults filled in. */
interface Settings {
  method: CompressMethod;
  on: ReturnType<typeof termsOf>;
  epochs: number; batchSize: number; lr: number; seed: number; lrSchedule: 'constant' | 'cosine' | 'step'; totalSteps: number;
  ptq: { method: 'minmax' | 'percentile' | 'dynamic'; percentile?: number; batches?: number };
  /** dynamic (weight-only) PTQ: no all-int8 model */
  weightOnly: boolean;
  dt: DistillTerm; qt: QatTerm;
  qerrWeight: number; prune: PruneOptions | null; alpha: number; taskWeight: number;
}

/** Validation of everything but the term objects' contents: the method, the loop settings, the stray terms. */
function checkTopLevel(model: Module, train: Dataset, opts: CompressOptions | WeightOnlyCompressOptions): CompressMethod {
  checkModuleArg('model', model);
  checkDataset('train', train);
  if (!isObj(opts)) throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  checkKeys('opts', opts as unknown as Record<string, unknown>, ['method', 'teacher', 'epochs', 'batchSize', 'lr', 'lrSchedule', 'seed', 'maxSteps', 'indices', 'shift', 'taskWeight',
    'distill', 'qat', 'prune', 'lowrank', 'ptq', 'convert', 'onProgress', 'evalData', 'evalIndices', 'baselineRow']);
  const method = opts.method;
  if (!COMPRESS_METHODS.includes(method)) throw new TypeError(`method must be one of ${COMPRESS_METHODS.join(', ')}, got ${describe(method)}`);
  const on = termsOf(method);
  // options of a term the method does not use are an error, not silently ignored
  const stray: [keyof CompressOptions, boolean][] = [['teacher', on.distill], ['distill', on.distill], ['qat', on.qat], ['prune', on.prune], ['lowrank', on.lowrank], ['ptq', !on.qat]];
  for (const [k, used] of stray) if (opts[k] !== undefined && !used) throw new QwasmError(`opts.${k} is not used by method '${method}' (use method 'joint' to combine terms)`);
  if (opts.teacher !== undefined) checkModuleArg('teacher', opts.teacher);
  if (method === 'distill' && !opts.teacher) throw new QwasmError(`method 'distill' needs opts.teacher (a trained model with the same number of classes)`);
  if (method === 'prune' && !opts.prune) throw new QwasmError(`method 'prune' needs opts.prune ({ sparsity, structure, schedule })`);
  if (method === 'lowrank' && !opts.lowrank) throw new QwasmError(`method 'lowrank' needs opts.lowrank ({ rank | energy | compression, layers })`);
  if (opts.maxSteps !== undefined) checkInt('maxSteps', opts.maxSteps, 1);
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new TypeError(`onProgress must be a function, got ${describe(opts.onProgress)}`);
  if (opts.evalData !== undefined) checkDataset('evalData', opts.evalData);
  return method;
}

function resolvePtq(opts: CompressOptions | WeightOnlyCompressOptions, on: Settings['on']): Pick<Settings, 'ptq' | 'weightOnly'> {
  const pq = (opts.ptq ?? {}) as { method?: unknown; percentile?: unknown; batches?: unknown };
  if (!isObj(pq)) throw new TypeError(`ptq must be an object, got ${describe(pq)}`);
  checkKeys('ptq', pq, ['method', 'percentile', 'batches']);
  const ptqMethod = pq.method ?? 'minmax';
  if (ptqMethod !== 'minmax' && ptqMethod !== 'percentile' && ptqMethod !== 'dynamic') throw new TypeError(`ptq.method must be 'minmax', 'percentile' or 'dynamic', got ${describe(ptqMethod)}`);
  if (pq.percentile !== undefined) {
    if (ptqMethod !== 'percentile') throw new QwasmError(`ptq.percentile needs ptq.method 'percentile', got '${ptqMethod}'`);
    const v = checkFinite('ptq.percentile', pq.percentile);
    if (!(v > 50 && v <= 100)) throw new RangeError(`ptq.percentile must be in (50, 100] (the kept fraction in percent), got ${v}`);
  }
  if (pq.batches !== undefined) {
    if (ptqMethod === 'dynamic') throw new QwasmError(`ptq.batches is for static calibration; ptq.method 'dynamic' calibrates nothing`);
    checkInt('ptq.batches', pq.batches, 1);
  }
  const weightOnly = ptqMethod === 'dynamic' && !on.qat;
  if (weightOnly && opts.convert !== undefined) throw new QwasmError(`opts.convert is not used with ptq.method 'dynamic' (weight-only: there is no int8 model to convert)`);
  return { ptq: { method: ptqMethod, percentile: pq.percentile as number | undefined, batches: pq.batches as number | undefined }, weightOnly };
}

/** Validates opts (errors name the option) and fills in the defaults. */
function resolveSettings(model: Module, train: Dataset, opts: CompressOptions | WeightOnlyCompressOptions): Settings {
  const method = checkTopLevel(model, train, opts), on = termsOf(method);
  const epochs = checkInt('epochs', opts.epochs ?? 1, on.train ? 1 : 0, 100000);
  const batchSize = checkInt('batchSize', opts.batchSize ?? 64, 2, 65536);
  const lr = checkFinite('lr', opts.lr ?? (method === 'qat' ? 1e-4 : 1e-3));
  if (!(lr > 0)) throw new RangeError(`lr must be > 0, got ${lr}`);
  const seed = checkInt('seed', opts.seed ?? 1, 0);
  const lrSchedule = opts.lrSchedule ?? 'cosine';
  if (!['constant', 'cosine', 'step'].includes(lrSchedule)) throw new TypeError(`lrSchedule must be 'constant', 'cosine' or 'step', got ${describe(lrSchedule)}`);
  const { ptq, weightOnly } = resolvePtq(opts, on);
  const size = opts.indices ? opts.indices.length : train.length;
  const spe = Math.floor(size / batchSize);
  if (on.train && spe < 1) throw new QwasmError(`the training set (${size} examples) is smaller than one batch of ${batchSize}`);
  const totalSteps = on.train ? Math.min(epochs * spe, opts.maxSteps ?? Infinity) : 0;
  const dt = opts.distill ?? {};
  if (!isObj(dt)) throw new TypeError(`distill must be an object, got ${describe(dt)}`);
  checkKeys('distill', dt as Record<string, unknown>, ['temperature', 'alpha', 'hint']);
  const qt = opts.qat ?? {};
  if (!isObj(qt)) throw new TypeError(`qat must be an object, got ${describe(qt)}`);
  checkKeys('qat', qt as Record<string, unknown>, ['qerrWeight', 'freezeObserversAt', 'freezeBnAt', 'options']);
  const qerrWeight = on.qat ? checkWeight('qat.qerrWeight', qt.qerrWeight ?? 0) : 0;
  if (qt.freezeObserversAt !== undefined) checkInt('qat.freezeObserversAt', qt.freezeObserversAt, 1); // 0 would freeze them empty
  if (qt.freezeBnAt !== undefined) checkInt('qat.freezeBnAt', qt.freezeBnAt, 0);
  const prune = on.prune && opts.prune ? pruneOptions(opts.prune, totalSteps) : null;
  const alpha = on.distill ? checkWeight('distill.alpha', dt.alpha ?? 0.5) : 0;
  if (alpha > 1) throw new RangeError(`distill.alpha must be in [0, 1], got ${alpha}`);
  const taskWeight = checkWeight('taskWeight', opts.taskWeight ?? (on.distill ? 1 - alpha : 1));
  return { method, on, epochs, batchSize, lr, seed, lrSchedule, totalSteps, ptq, weightOnly, dt, qt, qerrWeight, prune, alpha, taskWeight };
}

/** The student: a copy of the model, or its low-rank factorisation (the caller's model stays untouched). */
function makeStudent(model: Module, s: Settings, opts: CompressOptions | WeightOnlyCompressOptions): { student: Module; lowrank: FactorReport[] | null } {
  if (!s.on.lowrank || !opts.lowrank) return { student: copyModel(model), lowrank: null };
  const lo = opts.lowrank;
  if (!isObj(lo)) throw new TypeError(`lowrank must be an object, got ${describe(lo)}`);
  checkKeys('lowrank', lo as Record<string, unknown>, ['rank', 'energy', 'compression', 'layers', 'conv']);
  const f = factorize(model, { rank: lo.rank, energy: lo.energy, compression: lo.compression, layers: lo.layers, conv: lo.conv } as Parameters<typeof factorize>[1]);
  if (!f.report.length) { f.model.dispose(); throw new QwasmError('lowrank: no layer was factorised (the rank does not shrink any layer; name layers explicitly)'); }
  return { student: f.model, lowrank: f.report };
}

/** What the stages share; `owned` is freed when the job ends (the student too, when it fails). */
interface Job {
  s: Settings;
  opts: CompressOptions | WeightOnlyCompressOptions;
  model: Module; train: Dataset;
  student: Module; qat: QATModel | null; distiller: Distiller | null; pruner: Pruner | null; opt: Optimizer | null;
  owned: { dispose(): void }[];
  steps: StepRecord[]; epochs: EpochInfo[];
  report(p: Partial<CompressProgress> & { phase: CompressProgress['phase'] }): void;
}

/** The distillation term (teacher, temperature, hints); α = 0 without hints switches it off (no teacher forward). */
function makeDistiller(job: Job): Distiller | null {
  const { s, opts, student, qat, train } = job, hints = hintList(s.dt.hint);
  if (!s.on.distill || !(s.alpha > 0 || hints.length > 0)) return null;
  const teacher = opts.teacher ?? job.model;
  if (teacher === student) throw new QwasmError('the teacher must not be the student');
  if (qat) {
    // under QAT, Conv2d / Linear (+ BN, ReLU) run fused inside QAT units, so their forward hooks never fire
    const mods = new Map(student.modules());
    for (const h of hints) {
      const m = mods.get(h.student);
      if (m instanceof Conv2d || m instanceof Linear || m instanceof BatchNorm2d || m instanceof ReLU || m instanceof ReLU6) {
        throw new QwasmError(`distill.hint: student layer '${h.student}' is fused into a QAT unit and cannot be tapped; tap the pooling / flatten module after it`);
      }
    }
  }
  return new Distiller(hints.length ? student : null, teacher, {
    temperature: s.dt.temperature ?? 4, alpha: s.alpha, hints, inputShape: [train.height, train.width, train.channels], seed: s.seed,
  });
}

/** The joint objective's extra terms for fit's extraLoss (distillation, w_q penalty); `terms` holds the last step's. */
function extraLossOf(job: Job): { hook: LossHook; terms: () => StepTerms } {
  const { distiller, qat } = job, qerrWeight = job.s.qerrWeight;
  let terms: StepTerms = { task: NaN };
  const hook: LossHook = (ctx) => {
    const out: [Tensor, number][] = [];
    terms = { task: ctx.taskLoss.item() };
    if (distiller) {
      out.push(...distiller.hook(ctx));
      terms.kd = distiller.last.kd;
      if (distiller.hints.length) terms.hints = [...distiller.last.hints];
    }
    if (qat && qerrWeight > 0) {
      const p = qat.quantizationPenalty();
      terms.qerr = p.item();
      out.push([p, qerrWeight]);
    }
    return out;
  };
  return { hook, terms: () => terms };
}

/** Training: one fit() loop with the optimiser, the pruner's masks, QAT freezing and the extra loss terms wired in. */
function trainStudent(job: Job): void {
  const { s, qat, distiller, pruner, opts } = job, trainee: Module = qat ?? job.student;
  const extraParams: [string, ParamInfo][] = distiller ? distiller.namedParameters() : [];
  const opt = job.opt = new Optimizer(trainee.engine, [...trainee.namedParameters(), ...extraParams], { kind: 'adam' });
  pruner?.attach(opt);
  const ph = pruner?.hooks();
  const sched = qat ? new QATSchedule(qat, {
    freezeObserversAt: s.qt.freezeObserversAt ?? Math.max(1, Math.round(0.7 * s.totalSteps)),
    freezeBnAt: s.qt.freezeBnAt ?? Math.round(0.3 * s.totalSteps),
  }) : null;
  const extra = extraLossOf(job);
  const res = fit(trainee, job.train, {
    epochs: s.epochs, batchSize: s.batchSize, lr: s.lr, seed: s.seed, schedule: s.lrSchedule, indices: opts.indices, shift: opts.shift, maxSteps: opts.maxSteps,
    optimizerInstance: opt, taskWeight: s.taskWeight, extraLoss: extra.hook,
    beforeStep: (st) => { ph?.beforeStep(st); sched?.beforeStep(st); },
    afterStep: (st) => { ph?.afterStep(st); },
    onStep: (st) => {
      const sp = pruner ? pruner.current : 0, terms = extra.terms();
      job.steps.push({ step: st.step, loss: st.loss, lr: st.lr, sparsity: sp, ...terms });
      job.report({ phase: 'train', step: st.step, totalSteps: st.totalSteps, epoch: st.epoch, loss: st.loss, accuracy: st.accuracy, lr: st.lr, sparsity: sp, terms, imagesPerSecond: st.imagesPerSecond });
    },
  });
  job.epochs = res.epochs;
}

/**
 * Channel pruning: removes the pruned channels (a narrower model, not zeros). Under QAT the narrower fake-quant
 * model keeps the trained grid: a removed channel outputs exactly 0 (a representable code), so the same observers
 * / step sizes (sliced per channel) compute the same function.
 */
function removeChannels(job: Job): CompressHistory['channels'] {
  const { student, pruner } = job;
  if (!(student instanceof Sequential)) throw new QwasmError('channel removal needs a Sequential model');
  job.opt?.dispose(); // its moments belong to the full-width tensors
  job.opt = null;
  const paramsBefore = student.numParameters();
  const cut = removePrunedChannels(student, pruner!);
  const slim = cut.model;
  pruner!.dispose();
  job.owned.splice(job.owned.indexOf(pruner!), 1);
  job.pruner = null;
  if (job.qat) {
    try {
      const sq = prepareQAT(slim, job.s.qt.options ?? {});
      const keep = keptChannels(job.qat, sq, cut.removed);
      sq.copyQuantizersFrom(job.qat, (n) => keep.get(n));
      job.qat.dispose(); // the full-width student and its LSQ step sizes
      job.qat = sq;
    } catch (err) { slim.dispose(); throw err; }
  } else student.dispose();
  job.student = slim;
  return { removed: cut.removed, paramsBefore, paramsAfter: slim.numParameters() };
}

/** int8: a QAT model as it is; float methods through static PTQ (or dynamic weight-only PTQ: no all-int8 model). */
function quantizeStudent(job: Job): QATModel {
  const { s } = job;
  if (job.qat) return job.qat;
  if (s.weightOnly) return quantizeDynamic(job.student);
  job.report({ phase: 'calibrate' });
  return quantizeStatic(job.student, job.train, {
    method: s.ptq.method as 'minmax' | 'percentile', percentile: s.ptq.percentile, batches: s.ptq.batches ?? CALIB_BATCHES, batchSize: 64, seed: s.seed, indices: job.opts.indices,
  });
}

/** The all-int8 model of the quantised student (pruned weights run on the sparse kernels). */
function convertStudent(job: Job, quantized: QATModel): Int8Model | null {
  if (job.s.weightOnly) return null;
  job.report({ phase: 'convert' });
  const pruned = prunedWeights(job.student);
  const co = (job.opts as CompressOptions).convert, t = job.train;
  return convertToInt8(quantized, undefined, { ...co, pruned, inputShape: co?.inputShape ?? [t.height, t.width, t.channels] });
}

/** Report rows on opts.evalData: the float input model, then the compressed one. */
function reportRows(job: Job, quantized: QATModel, int8: Int8Model | null): ReportRow[] {
  const { opts, s } = job, rows: ReportRow[] = [];
  if (!opts.evalData) return rows;
  job.report({ phase: 'evaluate' });
  try {
    if (opts.baselineRow ?? true) rows.push(reportRow('float', job.model, null, opts.evalData, { indices: opts.evalIndices }));
    rows.push(reportRow(s.method, job.qat ?? job.student, int8, opts.evalData, { indices: opts.evalIndices, fakeQuant: job.qat ? null : quantized, weightOnly: s.weightOnly }));
  } catch (err) { int8?.dispose(); throw err; }
  return rows;
}

/** The terms as used (defaults filled in), for the history. */
function termsRecord(job: Job, lowrank: FactorReport[] | null): CompressHistory['terms'] {
  const { s, qat, distiller } = job, ptq = s.ptq;
  return {
    task: s.taskWeight, distill: distiller ? { alpha: s.alpha, temperature: distiller.temperature, hints: distiller.hints.length } : null,
    qat: !!qat, lsq: !!qat && !!s.qt.options?.lsq, qerrWeight: s.qerrWeight, prune: s.prune, lowrank, ptq: qat ? null : ptq.method,
    calibration: qat || s.weightOnly ? null : {
      method: ptq.method as 'minmax' | 'percentile',
      ...(ptq.method === 'percentile' ? { percentile: ptq.percentile ?? DEFAULT_PERCENTILE } : {}),
      batches: ptq.batches ?? CALIB_BATCHES,
    },
  };
}

/** Compresses a copy of `model` (see the file header); resolves to the compressed, fake-quant and int8 models. */
export function compressModel(model: Module, train: Dataset, opts: CompressOptions): Promise<CompressResult>;
/** Dynamic (weight-only) PTQ: no all-int8 model (`int8` is null). */
export function compressModel(model: Module, train: Dataset, opts: WeightOnlyCompressOptions): Promise<CompressResult<null>>;
export function compressModel(model: Module, train: Dataset, opts: CompressOptions | WeightOnlyCompressOptions): Promise<CompressResult<Int8Model | null>>;
export async function compressModel(model: Module, train: Dataset, opts: CompressOptions | WeightOnlyCompressOptions): Promise<CompressResult<Int8Model | null>> {
  const s = resolveSettings(model, train, opts);
  const t0 = performance.now();
  const report = (p: Partial<CompressProgress> & { phase: CompressProgress['phase'] }) => opts.onProgress?.({
    step: 0, totalSteps: s.totalSteps, epoch: 0, loss: NaN, accuracy: NaN, lr: 0, sparsity: 0, terms: { task: NaN }, seconds: (performance.now() - t0) / 1000, imagesPerSecond: 0, ...p,
  });
  const { student, lowrank } = makeStudent(model, s, opts);
  const job: Job = { s, opts, model, train, student, qat: null, distiller: null, pruner: null, opt: null, owned: [], steps: [], epochs: [], report };
  try {
    job.student.train(true);
    if (s.on.qat) job.qat = prepareQAT(job.student, s.qt.options ?? {});
    job.distiller = makeDistiller(job);
    if (job.distiller) job.owned.push(job.distiller);
    if (s.prune) { job.pruner = new Pruner(job.student, s.prune); job.owned.push(job.pruner); }
    if (s.on.train) trainStudent(job);
    const r = job.pruner?.sparsity();
    const sparsity: CompressHistory['sparsity'] = r ? { global: r.global, layers: r.layers.map((l) => ({ name: l.name, sparsity: l.sparsity })) } : undefined;
    const channels = job.pruner && s.prune?.mode === 'channel' && (opts.prune?.removeChannels ?? true) ? removeChannels(job) : undefined;
    const quantized = quantizeStudent(job);
    quantized.eval();
    const int8 = convertStudent(job, quantized);
    job.student.eval();
    const rows = reportRows(job, quantized, int8);
    return {
      model: job.qat ?? job.student, floatModel: job.student, quantized, int8, rows,
      history: {
        method: s.method, steps: job.steps, epochs: job.epochs, totalSteps: s.totalSteps, seconds: (performance.now() - t0) / 1000,
        terms: termsRecord(job, lowrank),
        ...(sparsity ? { sparsity } : {}),
        ...(channels ? { channels } : {}),
      },
    };
  } catch (err) {
    // the compressed copy is ours to free on failure (the caller's model and teacher are left alone)
    for (const o of job.owned) o.dispose();
    job.owned.length = 0;
    job.opt?.dispose();
    job.opt = null;
    job.student.dispose();
    throw err;
  } finally {
    for (const o of job.owned) o.dispose();
    job.opt?.dispose();
  }
}
