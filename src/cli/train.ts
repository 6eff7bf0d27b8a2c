// `qwasm train`: trains a built-in model on a dataset in WASM, with a progress bar, a final test evaluation,
// an atomic checkpoint and (with --json) one JSON object of results.
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { buildModel, MODEL_NAMES, type ModelOptions } from '../nn/models.js';
import { loadDataset } from '../data/registry.js';
import type { DatasetSplits } from '../data/dataset.js';
import type { CheckpointMeta } from '../checkpoint/index.js';
import { fit, evaluate } from '../train/trainer.js';
import { saveModel } from '../train/model-file.js';
import { parseArgs, UsageError, type FlagTable } from './args.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';

const usage = `usage: qwasm train --model NAME --data NAME [flags]

Trains a model in WebAssembly (f32 SIMD kernels, one thread) and evaluates it on the test split.
  --model NAME        ${MODEL_NAMES.join(', ')}
  --data NAME         mnist, fashion-mnist, quickdraw, digits, or a folder (IDX files or class sub-folders)
  --epochs N          default 1
  --batch N           default 64
  --lr X              default 1e-3
  --optimizer NAME    adam (default), adamw, sgd
  --momentum X        sgd momentum (default 0.9 with sgd)
  --nesterov          sgd with Nesterov momentum
  --weight-decay X    default 0 (AdamW: decoupled)
  --schedule NAME     constant (default), step, cosine
  --warmup N          warm-up steps (linear)
  --clip X            clip the global gradient norm to X
  --shift N           random shifts of ±N pixels (augmentation)
  --flip              random horizontal flips (refused for digit datasets)
  --hidden A,B,...    mlp hidden sizes (default 256,128)
  --dropout P         mlp dropout
  --width N           resnet / mobilenet base width (default 16)
  --max-steps N       stop after N optimiser steps
  --limit N           use only the first N training examples
  --seed N            default 1 (same seed and build → identical weights)
  --out FILE          write the checkpoint here (atomic)
  --build NAME        auto (default), scalar, simd, relaxed
  --json              print one JSON object at the end
  --quiet             no progress bar`;

export const num = (flags: Record<string, string | boolean>, k: string, def: number, int = false): number => {
  const v = flags[k];
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isFinite(x) || (int && !Number.isInteger(x))) throw new UsageError(`--${k} must be ${int ? 'an integer' : 'a number'}, got '${v}'`);
  return x;
};

/** The flags of `qwasm train` (shared with `qwasm pretrain`). */
export const TRAIN_FLAGS: FlagTable = {
  model: 'string', data: 'string', epochs: 'string', batch: 'string', lr: 'string', optimizer: 'string', momentum: 'string',
  nesterov: 'boolean', 'weight-decay': 'string', schedule: 'string', warmup: 'string', clip: 'string', shift: 'string',
  flip: 'boolean', hidden: 'string', dropout: 'string', width: 'string', 'max-steps': 'string', limit: 'string', seed: 'string', out: 'string',
  build: 'string', json: 'boolean', quiet: 'boolean', help: 'boolean', h: 'boolean',
};

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, TRAIN_FLAGS);
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  return trainFromFlags(flags);
}

export interface TrainRunOptions {
  /** Progress-bar label prefix (default 'train'). */
  label?: string;
  /** Loads the dataset (default loadDataset(--data)). */
  load?: (dataName: string) => DatasetSplits;
  /** More checkpoint metadata (and JSON result fields under the same keys). */
  meta?: CheckpointMeta;
  /** Save the optimiser state with the weights (default true: a run can be resumed). */
  saveOptimizer?: boolean;
}

/** The body of `qwasm train` after flag parsing: validate, build, fit, evaluate, save, report. */
export async function trainFromFlags(flags: Record<string, string | boolean>, ro: TrainRunOptions = {}): Promise<number> {
  const modelName = flags.model as string | undefined, dataName = flags.data as string | undefined;
  if (!modelName) throw new UsageError('--model is required');
  if (!dataName) throw new UsageError('--data is required');
  if (!(MODEL_NAMES as readonly string[]).includes(modelName)) throw new UsageError(`unknown model '${modelName}' (one of ${MODEL_NAMES.join(', ')})`);
  const epochs = num(flags, 'epochs', 1, true), batch = num(flags, 'batch', 64, true), lr = num(flags, 'lr', 1e-3);
  const seed = num(flags, 'seed', 1, true);
  const optKind = (flags.optimizer as string | undefined) ?? 'adam';
  if (!['adam', 'adamw', 'sgd'].includes(optKind)) throw new UsageError(`--optimizer must be adam, adamw or sgd, got '${optKind}'`);
  const schedule = (flags.schedule as string | undefined) ?? 'constant';
  if (!['constant', 'step', 'cosine'].includes(schedule)) throw new UsageError(`--schedule must be constant, step or cosine, got '${schedule}'`);
  const json = !!flags.json;

  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const { train, test } = ro.load ? ro.load(dataName) : loadDataset(dataName);
  const engine = new Engine(q.rt);
  const options: ModelOptions = {
    input: [train.height, train.width, train.channels], classes: train.classes.length, seed,
    ...(flags.hidden ? { hidden: String(flags.hidden).split(',').map((s) => num({ h: s }, 'h', 0, true)) } : {}),
    ...(flags.dropout ? { dropout: num(flags, 'dropout', 0) } : {}),
    ...(flags.width ? { width: num(flags, 'width', 16, true) } : {}),
  };
  const model = buildModel(engine, modelName, options);
  const limit = flags.limit ? num(flags, 'limit', 0, true) : 0;
  const indices = limit ? Int32Array.from({ length: Math.min(limit, train.length) }, (_, i) => i) : undefined;
  const bar = new Progress(`${ro.label ?? 'train'} ${modelName}`, json || !!flags.quiet);
  let epochNow = 1;
  const res = fit(model, train, {
    epochs, batchSize: batch, lr, seed, indices,
    optimizer: { kind: optKind as 'adam', momentum: num(flags, 'momentum', optKind === 'sgd' ? 0.9 : 0), nesterov: !!flags.nesterov, weightDecay: num(flags, 'weight-decay', 0) },
    schedule: schedule as 'constant', warmupSteps: num(flags, 'warmup', 0, true),
    clipNorm: flags.clip ? num(flags, 'clip', 0) : undefined, shift: num(flags, 'shift', 0, true), flip: !!flags.flip,
    maxSteps: flags['max-steps'] ? num(flags, 'max-steps', 0, true) : undefined,
    onStep: (s) => {
      epochNow = s.epoch + 1;
      bar.update(s.step, s.totalSteps, {
        epoch: `${epochNow}/${epochs}`, loss: s.loss.toFixed(4), acc: `${(s.accuracy * 100).toFixed(1)}%`, 'img/s': s.imagesPerSecond.toFixed(0),
      }, s.seconds);
    },
    onEpoch: (e) => { if (!json && !flags.quiet) { bar.done(); console.error(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, train accuracy ${(e.trainAccuracy * 100).toFixed(2)}% (${e.seconds.toFixed(1)} s)`); } },
  });
  bar.done();
  const ev = evaluate(model, test);
  const out = flags.out as string | undefined;
  if (out) saveModel(out, model, { name: modelName, options }, { dataset: dataName, epoch: res.epochs.length, step: res.steps, seed, build: q.build, ...ro.meta }, ro.saveOptimizer === false ? undefined : res.optimizer);
  const result = {
    model: modelName, data: dataName, build: q.build, epochs: res.epochs.length, steps: res.steps, batch, lr, optimizer: optKind, seed,
    parameters: model.numParameters(), testAccuracy: ev.accuracy, testLoss: ev.loss, trainLoss: res.finalTrainLoss,
    imagesPerSecond: res.imagesPerSecond, seconds: res.seconds, perEpoch: res.epochs, ...(out ? { checkpoint: out } : {}), ...ro.meta,
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`test accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${ev.loss.toFixed(4)}, ${ev.count} images)`);
    console.log(`training: ${res.steps} steps, ${res.imagesPerSecond.toFixed(0)} images/s, ${res.seconds.toFixed(1)} s, build ${q.build}`);
    if (out) console.log(`checkpoint written to ${out}`);
  }
  return 0;
}

export const command: Command = { summary: 'train a built-in model on a dataset (f32, in WASM)', usage, run };
