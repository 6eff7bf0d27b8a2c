// Transfer learning by fine-tuning a pretrained Sequential (as buildModel makes them):
//  - replaceHead: a new classification head (the last Linear) for the target's classes, the rest kept;
//  - layer groups: the Sequential's top-level children (a BatchNorm2d joins the group before it, parameter-free
//    layers join the group before them), or named ranges of children;
//  - freezing by group: a frozen parameter has requiresGrad = false (no gradient, no optimiser update, not even
//    weight decay or momentum) and a frozen group's BatchNorm2d layers use their running statistics;
//  - gradual unfreezing (ULMFiT): a schedule that unfreezes one more group from the top every N steps or
//    epochs, run through fit's beforeStep hook (an Optimizer over all the model's parameters creates the
//    state of a newly unfrozen parameter when it first trains);
//  - discriminative learning rates: one optimiser parameter group per layer group, the top at lr, each group
//    below at lr / factor (ULMFiT: 2.6).
import type { Engine } from '../autograd/tensor.js';
import type { Module, ParamInfo } from '../nn/module.js';
import { BatchNorm2d, Linear, Sequential } from '../nn/layers.js';
import { InitRng } from '../util/rng.js';
import { buildModel } from '../nn/models.js';
import { Optimizer, type OptimizerSpec, type ParamGroup } from '../optim/optimizer.js';
import { fit, type FitOptions, type FitResult } from '../train/trainer.js';
import type { Dataset } from '../data/dataset.js';
import { loadModelCheckpoint, type ModelRecord } from '../train/model-file.js';
import type { CheckpointMeta } from '../checkpoint/index.js';
import { checkFinite, checkInt, describe, QwasmError } from '../errors.js';

function checkSequential(model: unknown): Sequential {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential (as buildModel returns), got ${describe(model)}`);
  return model;
}

/** Index of the classification head among the Sequential's top-level children (its last Linear). */
export function headIndex(model: Sequential): number {
  checkSequential(model);
  for (let i = model.layers.length - 1; i >= 0; i--) if (model.layers[i] instanceof Linear) return i;
  throw new QwasmError('the model has no Linear layer to use as its classification head');
}

export interface ReplaceHeadOptions {
  /** Seed of the new head's initialisation (default 1). */
  seed?: number;
  /** A ready head instead of a fresh Linear (must take the old head's input features). */
  head?: Linear;
  /** Free the old head's tensors (default true). */
  dispose?: boolean;
}

/**
 * Replaces the model's classification head (its last Linear) by a new Linear(in → classes), in place; every
 * other layer (and its weights) is kept. Returns the new head. A model built by buildModel(name, options)
 * stays the same architecture as buildModel(name, { ...options, classes }), so it saves and reloads with
 * saveModel / loadModelCheckpoint under that record (see transferRecord).
 */
export function replaceHead(model: Sequential, classes: number, o: ReplaceHeadOptions = {}): Linear {
  const i = headIndex(model);
  checkInt('classes', classes, 1);
  const old = model.layers[i] as Linear;
  const head = o.head ?? new Linear(model.engine, old.inFeatures, classes, new InitRng(o.seed ?? 1), !!old.bias);
  if (!(head instanceof Linear)) throw new TypeError(`head must be a Linear, got ${describe(head)}`);
  if (head.inFeatures !== old.inFeatures) throw new RangeError(`the new head takes ${head.inFeatures} features, the model gives ${old.inFeatures}`);
  if (head.outFeatures !== classes) throw new RangeError(`the new head has ${head.outFeatures} outputs, expected ${classes}`);
  // Sequential keeps its children in two lists: `layers` (forward order) and the module tree's (names)
  (model.layers as Module[])[i] = head;
  const kids = model.children() as [string, Module][];
  const k = kids.findIndex(([, m]) => m === old);
  if (k < 0) throw new QwasmError('replaceHead: the head is not a registered child of the Sequential');
  kids[k] = [kids[k][0], head];
  head.train(model.training);
  if (o.dispose ?? true) old.dispose();
  return head;
}

/** The record to save a transferred model under: the source record with the target's class count. */
export function transferRecord(rec: ModelRecord, classes: number): ModelRecord {
  return { name: rec.name, options: { ...rec.options, classes: checkInt('classes', classes, 1) } };
}

/**
 * A pretrained model for a target task: the source model rebuilt from its record, its state loaded, then
 * its head replaced for `classes` target classes. `state` is a model.stateDict() (or a checkpoint's).
 */
export function transferModel(engine: Engine, rec: ModelRecord, state: Record<string, { shape: readonly number[]; data: Float32Array }>,
                              classes: number, o: ReplaceHeadOptions = {}): { model: Sequential; record: ModelRecord } {
  const model = buildModel(engine, rec.name, rec.options);
  try {
    model.loadStateDict(state);
  } catch (e) { model.dispose(); throw e; }
  replaceHead(model, classes, o);
  return { model, record: transferRecord(rec, classes) };
}

/**
 * Loads a pretrained checkpoint (e.g. from `qwasm pretrain`) for a target task with `classes` classes: the
 * source model with a new head. Returns the model, the record to save it under, and the source metadata
 * (meta.command / meta.source say how it was trained).
 */
export function loadPretrained(engine: Engine, file: string, classes: number, o: ReplaceHeadOptions = {}): { model: Sequential; record: ModelRecord; meta: CheckpointMeta } {
  const { model, record, meta } = loadModelCheckpoint(engine, file);
  if (!(model instanceof Sequential)) { model.dispose(); throw new QwasmError(`${file}: not a Sequential model`); }
  try { replaceHead(model, classes, o); } catch (e) { model.dispose(); throw e; }
  return { model, record: transferRecord(record, classes), meta };
}

export interface LayerGroup {
  name: string;
  /** Top-level children [start, end) of the Sequential. */
  start: number;
  end: number;
  modules: Module[];
  /** Named parameters (dotted names as in model.namedParameters()). */
  params: [string, ParamInfo][];
}

/**
 * Layer groups, bottom to top. Default: one group per top-level child that has parameters, a BatchNorm2d
 * and parameter-free layers (ReLU, pooling…) joining the group before them (layers before the first
 * parametrised one join the first group); the head is the last group. Or named ranges of top-level
 * children, [start, end) — non-overlapping, in any order (sorted by start); children outside every range
 * belong to no group.
 */
export function layerGroups(model: Sequential, ranges?: Record<string, readonly [number, number]>): LayerGroup[] {
  checkSequential(model);
  const kids = model.children();
  const n = kids.length;
  const hasParams = (m: Module) => m.namedParameters().length > 0;
  let spans: [string, number, number][];
  if (ranges) {
    spans = Object.entries(ranges).map(([name, r]) => {
      if (!Array.isArray(r) || r.length !== 2) throw new TypeError(`group '${name}' must be a [start, end) pair`);
      const s = checkInt(`${name}[0]`, r[0], 0, n), e = checkInt(`${name}[1]`, r[1], 0, n);
      if (e <= s) throw new RangeError(`group '${name}' [${s}, ${e}) is empty`);
      return [name, s, e] as [string, number, number];
    }).sort((a, b) => a[1] - b[1]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][1] < spans[i - 1][2]) throw new RangeError(`groups '${spans[i - 1][0]}' and '${spans[i][0]}' overlap`);
    }
  } else {
    const starts: number[] = [];
    kids.forEach(([, m], i) => { if (hasParams(m) && !(m instanceof BatchNorm2d && starts.length)) starts.push(i); });
    if (!starts.length) throw new QwasmError('the model has no parameters to group');
    starts[0] = 0;
    spans = starts.map((s, j) => [kids.slice(s, j + 1 < starts.length ? starts[j + 1] : n).map(([k]) => k).join('+'), s, j + 1 < starts.length ? starts[j + 1] : n]);
  }
  return spans.map(([name, start, end]) => {
    const modules: Module[] = [], params: [string, ParamInfo][] = [];
    for (let i = start; i < end; i++) { modules.push(kids[i][1]); params.push(...kids[i][1].namedParameters(`${kids[i][0]}.`)); }
    return { name, start, end, modules, params };
  });
}

export interface FreezeOptions {
  /** Frozen groups' BatchNorm2d layers use running statistics (default true). */
  batchNorm?: boolean;
}

/** Freezes (or with frozen = false unfreezes) groups: requiresGrad, and their BatchNorm2d layers' frozen flag. */
export function setFrozen(groups: LayerGroup | readonly LayerGroup[], frozen = true, o: FreezeOptions = {}): void {
  const list = Array.isArray(groups) ? groups as readonly LayerGroup[] : [groups as LayerGroup];
  for (const g of list) {
    for (const [, p] of g.params) {
      p.tensor.requiresGrad = !frozen;
      // a frozen parameter's gradient buffer is never written again: free it
      if (frozen && p.tensor.grad) { p.tensor.grad.dispose(); p.tensor.grad = null; }
    }
    if (o.batchNorm ?? true) {
      for (const m of g.modules) for (const [, sub] of m.modules()) if (sub instanceof BatchNorm2d) sub.frozen = frozen;
    }
  }
}

export const freeze = (groups: LayerGroup | readonly LayerGroup[], o?: FreezeOptions): void => setFrozen(groups, true, o);
export const unfreeze = (groups: LayerGroup | readonly LayerGroup[], o?: FreezeOptions): void => setFrozen(groups, false, o);

/** Whether every parameter of the group is frozen. */
export const isFrozen = (g: LayerGroup): boolean => g.params.every(([, p]) => !p.tensor.requiresGrad);

/** Freezes every group but the top `keep` (default 1: the head); returns the groups. */
export function freezeBackbone(model: Sequential, keep = 1, o: FreezeOptions & { groups?: LayerGroup[] } = {}): LayerGroup[] {
  const groups = o.groups ?? layerGroups(model);
  checkInt('keep', keep, 0, groups.length);
  setFrozen(groups.slice(0, groups.length - keep), true, o);
  setFrozen(groups.slice(groups.length - keep), false, o);
  return groups;
}

/** The model's parameters that train now (requiresGrad). */
export function trainableParameters(model: Module): [string, ParamInfo][] {
  return model.namedParameters().filter(([, p]) => p.tensor.requiresGrad);
}

export interface UnfreezeScheduleOptions {
  /** Unfreeze one more group every this many optimiser steps… */
  everySteps?: number;
  /** …or epochs (with stepsPerEpoch: fit's is floor(training examples / batchSize)). */
  everyEpochs?: number;
  stepsPerEpoch?: number;
  /** Groups trainable from the start, from the top (default 1: the head). */
  initial?: number;
  freeze?: FreezeOptions;
  /** Called when groups are unfrozen (step, names of the groups unfrozen). */
  onUnfreeze?: (step: number, groups: string[]) => void;
}

/**
 * Gradual unfreezing: at step s the top min(G, initial + floor(s / every)) groups train, the rest stay
 * frozen. The constructor freezes all but the top `initial`. Pass `beforeStep` to fit (or call update(step)
 * yourself before each forward pass); fit's default Optimizer (over all the model's parameters) picks up the
 * newly trainable ones.
 */
export class GradualUnfreezer {
  readonly every: number;
  readonly initial: number;
  /** Group names in the order they were unfrozen (the initial ones first, top down). */
  readonly order: string[] = [];
  private count = 0;

  constructor(readonly groups: readonly LayerGroup[], private readonly o: UnfreezeScheduleOptions) {
    if (!groups.length) throw new RangeError('GradualUnfreezer needs at least one group');
    if ((o.everySteps === undefined) === (o.everyEpochs === undefined)) throw new TypeError('GradualUnfreezer needs exactly one of everySteps, everyEpochs');
    this.every = o.everySteps !== undefined ? checkInt('everySteps', o.everySteps, 1)
      : checkInt('everyEpochs', o.everyEpochs!, 1) * checkInt('stepsPerEpoch', o.stepsPerEpoch ?? 0, 1);
    this.initial = checkInt('initial', o.initial ?? 1, 1, groups.length);
    setFrozen(groups, true, o.freeze);
    this.update(0);
  }

  /** Number of groups trainable now. */
  get unfrozen(): number { return this.count; }

  /** Groups that should train at `step`. */
  target(step: number): number {
    return Math.min(this.groups.length, this.initial + Math.floor(checkInt('step', step, 0) / this.every));
  }

  /** Unfreezes the groups due at `step` (never re-freezes); returns the number of trainable groups. */
  update(step: number): number {
    const want = this.target(step);
    if (want > this.count) {
      const G = this.groups.length;
      const now = this.groups.slice(G - want, G - this.count);
      setFrozen(now, false, this.o.freeze);
      const names = now.map((g) => g.name).reverse();
      this.order.push(...names);
      this.count = want;
      this.o.onUnfreeze?.(step, names);
    }
    return this.count;
  }

  /** For fit({ beforeStep }). */
  readonly beforeStep = (step: number): void => { this.update(step); };
}

/**
 * Discriminative learning rates: one parameter group per layer group, the top (last) at lrScale `top`
 * (default 1) and each group below it `factor` times smaller (ULMFiT: 2.6). Parameters of `extra` (e.g.
 * ones outside every group) train at lrScale `top`.
 */
export function discriminativeGroups(groups: readonly LayerGroup[], factor = 2.6, top = 1, extra: [string, ParamInfo][] = []): ParamGroup[] {
  checkFinite('factor', factor);
  if (!(factor > 0)) throw new RangeError(`factor must be positive, got ${factor}`);
  const G = groups.length;
  const out: ParamGroup[] = groups.map((g, i) => ({ name: g.name, params: g.params, lrScale: top / Math.pow(factor, G - 1 - i) }));
  if (extra.length) out.push({ name: 'other', params: extra, lrScale: top });
  return out;
}

/**
 * An Optimizer over every parameter of the model with discriminative learning rates per layer group
 * (factor 1 = one rate). Frozen parameters are included: they train (with their group's rate) once unfrozen.
 */
export function transferOptimizer(model: Sequential, spec: OptimizerSpec = { kind: 'adam' }, o: { groups?: LayerGroup[]; factor?: number } = {}): Optimizer {
  const groups = o.groups ?? layerGroups(model);
  const inGroups = new Set(groups.flatMap((g) => g.params.map(([, p]) => p.tensor)));
  const rest = model.namedParameters().filter(([, p]) => !inGroups.has(p.tensor));
  return new Optimizer(model.engine, discriminativeGroups(groups, o.factor ?? 1, 1, rest), spec);
}

export type FineTuneStrategy = 'full' | 'head' | 'gradual';

export interface FineTuneOptions extends Omit<FitOptions, 'optimizerInstance'> {
  /** full: every layer trains; head: only the top group (the rest frozen); gradual: unfreeze from the top. */
  strategy?: FineTuneStrategy;
  /** Discriminative LR factor between consecutive groups (default 1: one rate). */
  lrFactor?: number;
  /** gradual: unfreeze one more group every this many steps (default: one epoch). */
  unfreezeEvery?: number;
  groups?: LayerGroup[];
  freeze?: FreezeOptions;
}

/**
 * Fine-tunes a (head-replaced) model on the target set with fit: strategy, discriminative learning rates and
 * gradual unfreezing in one call. Leaves every group trainable and no BN frozen at the end (unless
 * strategy 'head'). The result's optimizer is the caller's to dispose.
 */
export function fineTune(model: Sequential, train: Dataset, o: FineTuneOptions): FitResult & { unfrozenOrder: string[] } {
  const groups = o.groups ?? layerGroups(model);
  const strategy = o.strategy ?? 'full';
  let unfreezer: GradualUnfreezer | null = null;
  if (strategy === 'full') setFrozen(groups, false, o.freeze);
  else if (strategy === 'head') freezeBackbone(model, 1, { ...o.freeze, groups });
  else if (strategy === 'gradual') {
    const n = o.indices ? o.indices.length : train.length;
    const spe = Math.max(1, Math.floor(n / o.batchSize));
    unfreezer = new GradualUnfreezer(groups, { everySteps: o.unfreezeEvery ?? spe, freeze: o.freeze });
  } else throw new TypeError(`strategy must be 'full', 'head' or 'gradual', got ${describe(strategy)}`);
  const opt = transferOptimizer(model, o.optimizer ?? { kind: 'adam' }, { groups, factor: o.lrFactor ?? 1 });
  const user = o.beforeStep;
  const res = fit(model, train, {
    ...o, optimizerInstance: opt,
    beforeStep: unfreezer ? (s) => { unfreezer!.update(s); user?.(s); } : user,
  });
  if (unfreezer) setFrozen(groups, false, o.freeze);
  return { ...res, unfrozenOrder: unfreezer ? [...unfreezer.order] : groups.filter((g) => !isFrozen(g)).map((g) => g.name).reverse() };
}
