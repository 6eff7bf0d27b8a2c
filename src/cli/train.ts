// `qwasm train`: trains a built-in model on a dataset in WASM, with a progress bar, an atomic checkpoint
// (written before the final test evaluation, and every --save-every N epochs), --resume from a checkpoint
// and (with --json) one JSON object of results.
import { Engine } from '../autograd/tensor.js';
import { buildModel, MODEL_NAMES, type ModelOptions } from '../nn/models.js';
import { buildLayers } from '../nn/layer-spec.js';
import type { Module } from '../nn/module.js';
import { Optimizer, type OptimizerSpec } from '../optim/optimizer.js';
import { loadDataset } from '../data/registry.js';
import type { Dataset, DatasetSplits } from '../data/dataset.js';
import type { CheckpointMeta } from '../checkpoint/index.js';
import { fit, evaluate, type EpochInfo } from '../train/trainer.js';
import { saveModel, type LoadedModel, type ModelRecord } from '../train/model-file.js';
import { trainingMemory } from '../train/memory.js';
import { QwasmError } from '../errors.js';
import { FLAGS, UsageError, flag, parseIntList, type Args, type CommandSpec, type FlagTable } from './args.js';
import { checkModelFitsData, firstIndices } from './common.js';
import { init } from '../index.js';
import { decodeCheckpoint } from '../checkpoint/index.js';
import { loadModelBytes } from '../train/model-file.js';
import { checkOutputFile, expectKind, readInput } from './files.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';

/** The training flags of `qwasm train`, shared with `qwasm pretrain`. */
export const TRAIN_FLAGS: FlagTable = {
  model: { type: 'string', value: 'NAME', help: `built-in model: ${MODEL_NAMES.join(', ')}` },
  data: FLAGS.data,
  epochs: FLAGS.epochs, batch: FLAGS.batch, lr: FLAGS.lr,
  optimizer: { type: 'string', value: 'NAME', help: 'adam (default), adamw, sgd', choices: ['adam', 'adamw', 'sgd'] },
  momentum: { type: 'string', value: 'X', help: 'sgd momentum (default 0.9 with sgd)', num: { min: 0, below: 1 } },
  nesterov: { type: 'boolean', help: 'sgd with Nesterov momentum' },
  'weight-decay': { type: 'string', value: 'X', help: 'default 0 (AdamW: decoupled)', num: { min: 0 } },
  schedule: FLAGS.schedule,
  warmup: { type: 'string', value: 'N', help: 'warm-up steps (linear)', num: { int: true, min: 0 } },
  clip: { type: 'string', value: 'X', help: 'clip the global gradient norm to X (> 0)', num: { above: 0 } },
  shift: FLAGS.shift,
  flip: { type: 'boolean', help: 'random horizontal flips (refused for datasets whose classes change when mirrored: digits, sketches)' },
  hidden: { type: 'string', value: 'A,B,...', help: 'mlp hidden sizes (default 256,128)' },
  dropout: { type: 'string', value: 'P', help: 'mlp dropout in [0, 1)', num: { min: 0, below: 1 } },
  width: { type: 'string', value: 'N', help: 'resnet / mobilenet base width (default 16)', num: { int: true, min: 1, max: 4096 } },
  'max-steps': FLAGS['max-steps'],
  limit: flag('limit', 'train on the first N training examples only (N ≥ 1)'),
  seed: FLAGS.seed,
  out: flag('out', 'write the checkpoint here (atomic; before the final test evaluation)'),
  'save-every': { type: 'string', value: 'N', help: 'also write the checkpoint (--out) every N epochs', num: { int: true, min: 1 } },
  resume: { type: 'string', value: 'FILE', help: 'continue the run saved in FILE (its model, optimiser state and flags;\nflags given here override, e.g. --epochs to train longer)' },
  build: FLAGS.build, threads: FLAGS.threads, json: FLAGS.json, quiet: FLAGS.quiet,
};

const spec: CommandSpec = {
  name: 'train',
  summary: 'train a built-in model on a dataset (f32, in WASM)',
  synopsis: ['qwasm train --model NAME --data NAME [flags]', 'qwasm train --resume FILE [flags]'],
  about: 'Trains a model in WebAssembly (f32 SIMD kernels) and evaluates it on the test split.',
  sections: [['', TRAIN_FLAGS]],
  footer: `--json prints { testAccuracy, testLoss, trainLoss, lastBatchLoss, perEpoch: [{ epoch, trainLoss, … }], … }:
trainLoss is the mean training loss of the last epoch (= perEpoch[last].trainLoss); lastBatchLoss is the
loss of the last batch alone.`,
};

/** Flags recorded in the checkpoint so that --resume continues the same run. */
const RUN_FLAGS = ['data', 'epochs', 'batch', 'lr', 'optimizer', 'momentum', 'nesterov', 'weight-decay', 'schedule', 'warmup', 'clip', 'shift', 'flip', 'max-steps', 'limit', 'seed'];
/** Flags that shape the model: fixed by the checkpoint on --resume. */
const MODEL_FLAGS = ['model', 'hidden', 'dropout', 'width'];

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

/** The run's settings: the flags given, over those recorded in a resumed checkpoint. */
function runSettings(args: Args, resumed: LoadedModel | null): Record<string, string | boolean | undefined> {
  const saved = (resumed?.meta.trainFlags ?? {}) as Record<string, string | boolean>;
  const out: Record<string, string | boolean | undefined> = {};
  for (const k of RUN_FLAGS) out[k] = args.values[k] ?? saved[k];
  return out;
}

/** The model / resume / output flags, checked before any work (errors name the flag). */
function checkRunFlags(args: Args) {
  const resumeFile = args.str('resume');
  if (resumeFile) for (const f of MODEL_FLAGS) if (f !== 'model' && args.has(f)) throw new UsageError(`--${f} shapes the model, which --resume takes from ${resumeFile}`);
  const modelName = args.str('model');
  if (!resumeFile) {
    if (!modelName) throw new UsageError('--model NAME is required (or --resume FILE)');
    if (!(MODEL_NAMES as readonly string[]).includes(modelName)) throw new UsageError(`--model: unknown model '${modelName}' (one of ${MODEL_NAMES.join(', ')})`);
  }
  const hidden = args.has('hidden') ? parseIntList('--hidden', args.need('hidden'), { int: true, min: 1, max: 1 << 16 }) : undefined;
  const out = args.str('out');
  const saveEvery = args.num('save-every');
  if (saveEvery !== undefined && !out) throw new UsageError('--save-every N writes the checkpoint given by --out FILE: give --out');
  if (out) checkOutputFile('--out', out);
  return { resumeFile, modelName, hidden, out, saveEvery };
}

/** The runtime and engine of a run, and the --resume checkpoint loaded into it (a resumed run keeps its thread
 * count, which data-parallel sums depend on, unless --threads is given). */
async function openRun(args: Args, resumeFile: string | undefined, modelName: string | undefined) {
  const resumeBytes = resumeFile ? readInput('--resume', resumeFile) : null;
  if (resumeBytes) expectKind('train --resume', resumeFile!, resumeBytes, ['checkpoint', 'other']);
  const savedThreads = resumeBytes ? (decodeCheckpoint(resumeBytes, resumeFile).meta.trainFlags as { threads?: string } | undefined)?.threads : undefined;
  const q = await init({ build: args.str('build', 'auto') as 'auto', threads: args.num('threads') ?? (savedThreads !== undefined ? Number(savedThreads) : undefined) });
  const engine = new Engine(q.rt);
  let resumed: LoadedModel | null = null;
  if (resumeFile) {
    resumed = loadModelBytes(engine, resumeBytes!, resumeFile);
    if (!resumed.meta.trainFlags || !resumed.optimizerState.steps) throw new QwasmError(`--resume ${resumeFile}: the checkpoint holds no optimiser state and training flags (write it with 'qwasm train --out', or 'qwasm pretrain --with-optimizer')`);
    if (modelName && modelName !== resumed.record.name) throw new UsageError(`--model ${modelName}: ${resumeFile} holds a ${resumed.record.name} model`);
  }
  return { q, engine, resumed };
}

/** The training examples used (--limit), after checking --batch against them and against WASM memory. */
function checkBatch(engine: Engine, make: () => Module, train: Dataset, batch: number, limit: number | undefined): number {
  const examples = Math.min(limit ?? train.length, train.length);
  if (batch > examples) throw new UsageError(`--batch ${batch} is larger than the ${examples} training examples${limit !== undefined ? ' (--limit)' : ''}`);
  const mem = trainingMemory(engine, make, [train.height, train.width, train.channels]);
  if (batch > mem.maxBatch) {
    throw new UsageError(`--batch ${batch} needs about ${(mem.bytesAt(batch) / 2 ** 30).toFixed(1)} GiB of WASM memory (a wasm32 module addresses 4 GiB); the largest batch that fits is ${mem.maxBatch}`);
  }
  return examples;
}

/** A resumed run's optimiser state, step and epoch history (a fresh run: step 0, no history). */
function resumeState(resumed: LoadedModel | null, opt: Optimizer, stepsPerEpoch: number): { startStep: number; history: EpochInfo[] } {
  const history: EpochInfo[] = resumed && Array.isArray(resumed.meta.history) ? [...resumed.meta.history as EpochInfo[]] : [];
  if (!resumed) return { startStep: 0, history };
  opt.loadStateDict(resumed.optimizerState);
  // a run stopped mid-epoch (--max-steps) recorded that epoch in part; the resumed run records it again
  const last = history[history.length - 1];
  if (last && last.step % stepsPerEpoch !== 0) history.pop();
  return { startStep: Number(resumed.meta.step ?? 0), history };
}

/** The body of `qwasm train` after flag parsing: check, build, fit, save, evaluate, report. */
export async function trainFromFlags(args: Args, ro: TrainRunOptions = {}): Promise<number> {
  const { resumeFile, modelName, hidden, out, saveEvery } = checkRunFlags(args);

  const { q, engine, resumed } = await openRun(args, resumeFile, modelName);
  const s = runSettings(args, resumed);
  const dataName = s.data as string | undefined;
  if (!dataName) throw new UsageError('--data is required');
  const num = (k: string, def: number) => (s[k] === undefined ? def : Number(s[k]));
  const epochs = num('epochs', 1), batch = num('batch', 64), lr = num('lr', 1e-3), seed = num('seed', 1);
  const optKind = (s.optimizer as OptimizerSpec['kind'] | undefined) ?? 'adam';
  const json = args.bool('json'), quiet = json || args.bool('quiet');

  const { train, test } = ro.load ? ro.load(dataName) : loadDataset(dataName);
  if (s.flip && !train.flipSafe) throw new UsageError(`--flip: mirrored ${dataName} images change class (digits, letters, sketches); drop --flip`);
  const options: ModelOptions = resumed ? resumed.record.options : {
    input: [train.height, train.width, train.channels], classes: train.classes.length, seed,
    ...(hidden ? { hidden } : {}), ...(args.has('dropout') ? { dropout: args.num('dropout') } : {}), ...(args.has('width') ? { width: args.num('width') } : {}),
  };
  const record: ModelRecord = resumed ? resumed.record : { name: modelName!, options };
  const make = (): Module => (record.layers ? buildLayers(engine, record.layers) : buildModel(engine, record.name, record.options));
  const model = resumed ? resumed.model : make();
  if (resumed) checkModelFitsData(`the model in ${resumeFile}`, record.options.input ?? [28, 28, 1], record.options.classes ?? 10, dataName, train);
  const limit = s.limit === undefined ? undefined : Number(s.limit);
  const examples = checkBatch(engine, make, train, batch, limit);

  const optSpec: OptimizerSpec = { kind: optKind, momentum: num('momentum', optKind === 'sgd' ? 0.9 : 0), nesterov: !!s.nesterov, weightDecay: num('weight-decay', 0) };
  const opt = new Optimizer(engine, model.namedParameters(), optSpec);
  const { startStep, history } = resumeState(resumed, opt, Math.floor(examples / batch));
  const trainFlags = { ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)), threads: String(q.rt.threads) };
  const save = (steps: number, epochsDone: number) => {
    if (!out) return;
    saveModel(out, model, record, {
      dataset: dataName, epoch: epochsDone, step: steps, seed, build: q.build, trainFlags, history, ...ro.meta,
    }, ro.saveOptimizer === false ? undefined : opt);
  };

  const bar = new Progress(`${ro.label ?? 'train'} ${record.name}`, quiet);
  const res = fit(model, train, {
    epochs, batchSize: batch, lr, seed, indices: limit !== undefined ? firstIndices(limit, train.length) : undefined,
    optimizerInstance: opt, startStep,
    schedule: (s.schedule as 'constant' | undefined) ?? 'constant', warmupSteps: num('warmup', 0),
    clipNorm: s.clip !== undefined ? Number(s.clip) : undefined, shift: num('shift', 0), flip: !!s.flip,
    maxSteps: s['max-steps'] !== undefined ? Number(s['max-steps']) : undefined,
    onStep: (st) => {
      bar.update(st.step, st.totalSteps, {
        epoch: `${st.epoch + 1}/${epochs}`, loss: st.loss.toFixed(4), acc: `${(st.accuracy * 100).toFixed(1)}%`, 'img/s': st.imagesPerSecond.toFixed(0),
      }, st.seconds);
    },
    onEpoch: (e) => {
      history.push(e);
      if (!quiet) { bar.done(); console.error(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, train accuracy ${(e.trainAccuracy * 100).toFixed(2)}% (${e.seconds.toFixed(1)} s)`); }
      if (saveEvery && e.epoch % saveEvery === 0) {
        save(e.step, e.epoch);
        if (!quiet) console.error(`checkpoint written to ${out} (epoch ${e.epoch}, step ${e.step})`);
      }
    },
  });
  bar.done();
  // the finished run is saved before the test evaluation: an interrupt there loses nothing
  save(res.steps, history.length ? history[history.length - 1].epoch : 0);
  if (!quiet) console.error(`${out ? `checkpoint written to ${out}; ` : ''}evaluating on the test split…`);
  const ev = evaluate(model, test);
  const last = history[history.length - 1];
  const result = {
    model: record.name, data: dataName, build: q.build, epochs: history.length, steps: res.steps, batch, lr, optimizer: optKind, seed,
    parameters: model.numParameters(), testAccuracy: ev.accuracy, testLoss: ev.loss,
    trainLoss: last?.trainLoss ?? null, lastBatchLoss: Number.isFinite(res.finalTrainLoss) ? res.finalTrainLoss : null,
    imagesPerSecond: res.imagesPerSecond, seconds: res.seconds, perEpoch: history,
    ...(resumed ? { resumedFrom: { file: resumeFile, step: startStep } } : {}), ...(out ? { checkpoint: out } : {}), ...ro.meta,
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`test accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${ev.loss.toFixed(4)}, ${ev.count} images)`);
    console.log(`training: ${res.steps - startStep} steps${resumed ? ` (resumed at step ${startStep})` : ''}, ${res.imagesPerSecond.toFixed(0)} images/s, ${res.seconds.toFixed(1)} s, build ${q.build}`);
    if (out) console.log(`checkpoint written to ${out}`);
  }
  return 0;
}

export const command: Command = { spec, run: (args) => trainFromFlags(args) };
