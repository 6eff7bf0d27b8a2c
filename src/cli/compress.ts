// `qwasm compress`: compresses a trained checkpoint (QAT, PTQ, pruning, low rank, distillation or all at once,
// src/pipeline/compress-model.ts), converts it to the all-int8 model, measures it against the float model on the
// test split (src/deploy/report.ts) and writes the int8 model (.qwm) and, for same-architecture methods, the float
// checkpoint — both before the evaluation, the low-rank timings and the report. --json prints the report rows;
// otherwise a progress bar and a Markdown table. Flags → options: compress-options.ts.
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { subset, type Dataset } from '../data/dataset.js';
import { saveModel, type LoadedModel } from '../train/model-file.js';
import { describeLayers } from '../nn/layer-spec.js';
import { QATModel } from '../quant/qat.js';
import { compressModel, COMPRESS_METHODS, type CompressOptions, type CompressResult } from '../pipeline/compress-model.js';
import { formatReport, layerLatencyUs, reportRow } from '../deploy/report.js';
import type { Int8Model } from '../deploy/int8-model.js';
import type { Module } from '../nn/module.js';
import { writeFileAtomic } from '../checkpoint/index.js';
import { FLAGS, flag, type Args, type CommandSpec } from './args.js';
import { checkModelFitsData, checkpointData, firstIndices, loadCheckpointFlag, normMeta, startQwasm } from './common.js';
import { TERM_FLAGS, compressOptions, libraryError, methodOf } from './compress-options.js';
import { checkOutputFile } from './files.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';

const spec: CommandSpec = {
  name: 'compress',
  summary: 'compress a checkpoint (qat, ptq, prune, lowrank, distill, joint) to an int8 model',
  synopsis: ['qwasm compress --model FILE --data NAME --method METHOD [flags]'],
  about: `Compresses a checkpoint (from 'qwasm train --out FILE'), converts it to an all-int8 model and reports accuracy
(float / fake-quant / int8), bytes of the int8 export, sparsity and batch-1 latency on the test split.`,
  sections: [
    ['', {
      model: flag('model', 'the trained float checkpoint (.qck)'), data: FLAGS.data,
      method: { type: 'string', value: 'NAME', help: `${COMPRESS_METHODS.join(', ')}\n(joint = QAT + distillation + the pruning / low-rank terms whose flags are given)` },
      out: flag('out', 'write the int8 model (.qwm; not with --calib dynamic, which has no int8 model)'),
      checkpoint: { type: 'string', value: 'FILE', help: `write the compressed float weights as a checkpoint; after qat / joint its meta holds
the trained quantisation grid ('quantState'), so 'qwasm export' converts it with the
QAT grid; after --structure channel or a low-rank term it describes its layers (the
narrower or factorised ones), so loadModelCheckpoint / 'qwasm export' rebuild them` },
    }],
    ['training', {
      epochs: FLAGS.epochs, batch: FLAGS.batch, lr: flag('lr', 'learning rate (default 1e-4 with qat, 1e-3 otherwise)'),
      schedule: flag('schedule', 'cosine (default), constant, step'), seed: FLAGS.seed, shift: FLAGS.shift,
      limit: flag('limit', 'train on the first N training examples'), 'max-steps': FLAGS['max-steps'],
      'task-weight': { type: 'string', value: 'X', help: 'weight of the hard-label loss (default 1 − alpha with distillation, else 1)', num: {} },
    }],
    ['distillation (distill, joint)', TERM_FLAGS.distill],
    ['quantisation (qat, joint; static PTQ for the others)', TERM_FLAGS.qat],
    ['post-training quantisation (ptq; the int8 step of prune, lowrank, distill)', TERM_FLAGS.ptq],
    ['pruning (prune, joint)', TERM_FLAGS.prune],
    ['low rank (lowrank, joint)', TERM_FLAGS.lowrank],
    ['output', {
      'eval-limit': { type: 'string', value: 'N', help: 'evaluate on the first N test images only', num: { int: true, min: 1 } },
      build: FLAGS.build, threads: FLAGS.threads, json: { ...FLAGS.json, help: 'print the report rows as JSON' }, quiet: FLAGS.quiet,
    }],
  ],
};

type Timings = Record<string, { denseUs: number; lowrankUs: number; speedup: number }>;

/**
 * Factorised layers: each one's batch-1 time alone on the int8 kernels, against the same layer of the
 * uncompressed model (static PTQ), timed in interleaved rounds.
 */
async function lowRankTimings(original: Module, train: Dataset, res: CompressResult, seed: number): Promise<Timings> {
  const names = (res.history.terms.lowrank ?? []).filter((l) => l.type === 'Linear').map((l) => l.name);
  if (!names.length) return {};
  const dense = await compressModel(original, train, { method: 'ptq', seed });
  try {
    const pairs: [Int8Model, string][] = names.flatMap((n) => [[dense.int8, n], [res.int8, n]] as [Int8Model, string][]);
    const t = layerLatencyUs(pairs);
    const out: Timings = {};
    names.forEach((n, i) => {
      const d = t[2 * i].us, l = t[2 * i + 1].us;
      out[n] = { denseUs: +d.toFixed(2), lowrankUs: +l.toFixed(2), speedup: +(d / l).toFixed(2) };
    });
    return out;
  } finally {
    dense.int8.dispose();
    dense.quantized.dispose();
  }
}

/** Writes the compressed float model as a checkpoint (describing its layers when their shapes changed). */
function saveCompressedCheckpoint(file: string, res: CompressResult | Awaited<ReturnType<typeof compressModel>>, loaded: LoadedModel, meta: Record<string, unknown>): void {
  // channel removal changed the layer widths and factorisation the layer types: such a checkpoint describes
  // its layers (loadModelCheckpoint rebuilds them); QAT methods keep their trained grid so 'qwasm export' converts
  // with it instead of re-calibrating
  const reshaped = res.history.channels || res.history.terms.lowrank;
  const record = reshaped ? { ...loaded.record, layers: describeLayers(res.floatModel) } : loaded.record;
  saveModel(file, res.floatModel, record, { ...meta, ...(res.model instanceof QATModel ? { quantState: (res as CompressResult).quantized.quantState() } : {}) });
}

function progressBar(method: string, quiet: boolean): [Progress, CompressOptions['onProgress']] {
  const bar = new Progress(`compress ${method}`, quiet);
  return [bar, (p) => {
    if (p.phase !== 'train') { bar.done(); if (!quiet) console.error(`${p.phase}…`); return; }
    bar.update(p.step, p.totalSteps, {
      loss: p.loss.toFixed(4), ...(p.terms.kd !== undefined ? { kd: p.terms.kd.toFixed(4) } : {}),
      ...(p.sparsity ? { sparsity: `${(p.sparsity * 100).toFixed(1)}%` } : {}), acc: `${(p.accuracy * 100).toFixed(1)}%`,
    }, p.seconds);
  }];
}

interface Written { out?: string; qwmBytes?: number; checkpoint?: string }

function printReport(res: Awaited<ReturnType<typeof compressModel>>, method: string, build: string, written: Written, layerLatency: Timings | undefined): void {
  console.log(formatReport(res.rows));
  const [f, c] = res.rows;
  if (f && c && c.precision === 'int8-weights') console.log(`\n${method}: weight-only int8 (f32 activations) ${(100 * c.accuracy).toFixed(2)} % vs float ${(100 * f.accuracy).toFixed(2)} % (${c.count} images), ${c.bytes} bytes of int8 weights + f32 scales / biases = 1/${(f.float32Bytes / c.bytes).toFixed(1)} of float32, f32 forward ${c.latencyMs.toFixed(3)} ms / image (no all-int8 model)`);
  else if (f && c) console.log(`\n${method}: int8 ${(100 * c.accuracy).toFixed(2)} % vs float ${(100 * f.accuracy).toFixed(2)} % (${c.count} images), ${c.bytes} bytes = 1/${(f.float32Bytes / c.bytes).toFixed(1)} of float32, ${c.latencyMs.toFixed(3)} ms / image (build ${build})`);
  for (const [n, t] of Object.entries(layerLatency ?? {})) console.log(`layer ${n} alone, int8, batch 1: dense ${t.denseUs} µs → low rank ${t.lowrankUs} µs (${t.speedup}× faster)`);
  if (written.out) console.log(`int8 model written to ${written.out} (${written.qwmBytes} bytes)`);
  if (written.checkpoint) console.log(`float checkpoint written to ${written.checkpoint}`);
}

function reportJson(res: Awaited<ReturnType<typeof compressModel>>, head: Record<string, unknown>, written: Written, layerLatency: Timings | undefined): string {
  return JSON.stringify({
    ...head, steps: res.history.steps.length, seconds: +res.history.seconds.toFixed(2),
    ...(res.history.sparsity ? { layerSparsity: Object.fromEntries(res.history.sparsity.layers.map((l) => [l.name, +l.sparsity.toFixed(4)])) } : {}),
    ...(res.history.channels ? { channelsRemoved: Object.fromEntries(Object.entries(res.history.channels.removed).map(([k, v]) => [k, v.length])), paramsBeforeRemoval: res.history.channels.paramsBefore } : {}),
    terms: res.history.terms,
    ...(layerLatency ? { layerLatency } : {}),
    ...(written.out ? { out: written.out, qwmBytes: written.qwmBytes } : {}), ...(written.checkpoint ? { checkpoint: written.checkpoint } : {}),
    rows: res.rows,
  });
}

async function run(args: Args, argv: string[]): Promise<number> {
  const modelFile = args.need('model', 'FILE'), dataName = args.need('data'), method = methodOf(args);
  const opts = compressOptions(args, method);
  const outFile = args.str('out'), ckFile = args.str('checkpoint');
  if (outFile) checkOutputFile('--out', outFile);
  if (ckFile) checkOutputFile('--checkpoint', ckFile);
  const json = args.bool('json'), quiet = json || args.bool('quiet');
  const command = `qwasm compress ${argv.join(' ')}`;

  const q = await startQwasm(args);
  const engine = new Engine(q.rt);
  const loaded = loadCheckpointFlag('compress', engine, '--model', modelFile);
  const { train, test, preprocess } = await checkpointData(dataName, loaded.record.options.input, loaded.meta);
  checkModelFitsData(`${modelFile} (${loaded.record.name})`, loaded.record.options.input ?? [28, 28, 1], loaded.record.options.classes ?? 10, dataName, train);
  const teacherFile = args.str('teacher');
  if (teacherFile) {
    opts.teacher = loadCheckpointFlag('compress', engine, '--teacher', teacherFile).model;
  }
  const limit = args.num('limit'), evalLimit = args.num('eval-limit');
  if (limit !== undefined) opts.indices = firstIndices(limit, train.length);
  const evalData = evalLimit !== undefined ? subset(test, firstIndices(evalLimit, test.length)) : test;
  if (opts.ptq?.method !== 'dynamic') (opts as CompressOptions).convert = { meta: { labels: [...train.classes], ...normMeta(train), ...(preprocess ? { preprocess } : {}), source: modelFile, dataset: dataName, method, command } };
  const [bar, onProgress] = progressBar(method, quiet);
  opts.onProgress = onProgress;

  let res: Awaited<ReturnType<typeof compressModel>>;
  try {
    res = await compressModel(loaded.model, train, opts as CompressOptions);
  } catch (e) {
    throw libraryError(e) ?? e;
  } finally {
    bar.done();
  }
  try {
    // the results are written before the evaluation: an interrupt or a failure there loses nothing
    const written: Written = {};
    if (outFile && res.int8) { written.out = outFile; written.qwmBytes = writeFileAtomic(outFile, (res.int8 as Int8Model).qwm()); }
    if (ckFile) { saveCompressedCheckpoint(ckFile, res, loaded, { dataset: dataName, seed: opts.seed, build: q.build, compressed: method, command }); written.checkpoint = ckFile; }
    if (!quiet) console.error(`${[written.out, written.checkpoint].filter(Boolean).map((f) => `${f} written; `).join('')}evaluating on the test split…`);
    // the rows compressModel would measure with evalData (the input model, then the compressed one)
    res.rows = [reportRow('float', loaded.model, null, evalData), reportRow(method, res.model, res.int8, evalData, {
      fakeQuant: res.model instanceof QATModel ? null : res.quantized, weightOnly: opts.ptq?.method === 'dynamic',
    })];
    const layerLatency = res.history.terms.lowrank && res.int8 ? await lowRankTimings(loaded.model, train, res as CompressResult, opts.seed ?? 1) : undefined;
    if (json) console.log(reportJson(res, { model: modelFile, data: dataName, method, build: q.build }, written, layerLatency));
    else printReport(res, method, q.build, written, layerLatency);
  } finally {
    res.int8?.dispose();
  }
  return 0;
}

export const command: Command = { spec, run };
