// `qwasm compress`: compresses a trained checkpoint (QAT, PTQ, pruning, low rank, distillation or all at once,
// src/pipeline/compress-model.ts), converts it to the all-int8 model, measures it against the float model on the test
// split (src/deploy/report.ts) and writes the int8 model (.qwm) and, for same-architecture methods, the float
// checkpoint. --json prints the report rows; otherwise a progress bar and a Markdown table.
import { writeFileSync, renameSync } from 'node:fs';
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { subset } from '../data/dataset.js';
import { loadModel, saveModel } from '../train/model-file.js';
import { describeLayers } from '../nn/layer-spec.js';
import { QATModel } from '../quant/qat.js';
import { compressModel, COMPRESS_METHODS, type CompressMethod, type CompressOptions, type CompressResult, type PruneTerm, type WeightOnlyCompressOptions } from '../pipeline/compress-model.js';
import { formatReport, layerLatencyUs } from '../deploy/report.js';
import type { HintSpec } from '../compress/distill.js';
import type { Int8Model } from '../deploy/int8-model.js';
import type { Module } from '../nn/module.js';
import type { Dataset } from '../data/dataset.js';
import { parseArgs, UsageError, type FlagTable } from './args.js';
import { Progress } from './progress.js';
import { num } from './train.js';
import type { Command } from './main.js';

const usage = `usage: qwasm compress --model FILE --data NAME --method METHOD [flags]

Compresses a checkpoint (from 'qwasm train --out FILE'), converts it to an all-int8 model and reports accuracy
(float / fake-quant / int8), bytes of the int8 export, sparsity and batch-1 latency on the test split.
  --model FILE          the trained float checkpoint
  --data NAME           mnist, fashion-mnist, quickdraw, digits, or a folder
  --method NAME         ${COMPRESS_METHODS.join(', ')}
                        (joint = QAT + distillation + the pruning / low-rank terms whose flags are given)
  --teacher FILE        distillation teacher checkpoint (distill: required; joint: default the --model itself)
  --out FILE            write the int8 model (.qwm; not with --calib dynamic, which has no int8 model)
  --checkpoint FILE     write the compressed float weights as a checkpoint; after qat / joint its meta holds
                        the trained quantisation grid ('quantState'), so 'qwasm export' converts it with the
                        QAT grid; after --structure channel or a low-rank term it describes its layers (the
                        narrower or factorised ones), so loadModel / 'qwasm export' rebuild them
 training
  --epochs N            default 1        --batch N       default 64
  --lr X                default 1e-4 (qat), 1e-3 otherwise
  --schedule NAME       cosine (default), constant, step
  --seed N              default 1        --shift N       random shifts of ±N pixels
  --limit N             train on the first N training examples
  --max-steps N         stop after N steps
  --task-weight X       weight of the hard-label loss (default 1 − alpha with distillation, else 1)
 distillation (distill, joint)
  --alpha X             weight of the soft-target term (default 0.5)
  --temperature X       default 4
  --hint S:T[:W]        hint loss from student module S to teacher module T (weight W); repeatable with commas
 quantisation (qat, joint; static PTQ for the others)
  --qerr-weight X       weight of the mean (W − Q(W))² penalty (default 0)
  --freeze-observers-at N, --freeze-bn-at N   default 70 % / 30 % of the steps
  --lsq                 learned step sizes (LSQ, trained as log-scales) for weights and activations
 post-training quantisation (ptq; the int8 step of prune, lowrank, distill)
  --calib NAME          minmax (default) or percentile: static, calibrated activation ranges (all-int8);
                        dynamic: weight-only int8 (f32 activations and arithmetic; no .qwm, the row's
                        precision is int8-weights and its int8 accuracy is null)
  --calib-batches N     calibration batches of 64 images (default 16)
  --percentile X        kept fraction in percent for --calib percentile (default 99.99)
 pruning (prune, joint)
  --sparsity X          target sparsity in (0, 1)
  --structure NAME      unstructured (default), nm, block, channel (whole output channels, removed after
                        training: a narrower model)
  --nm K:M              N:M pattern for --structure nm (default 2:4)
  --block BKxBN         block shape for --structure block (default 1x8)
  --prune-schedule NAME polynomial (default), oneshot
  --scope NAME          global (default for unstructured / block), layer
 polynomial schedule (TF-MOT PolynomialDecay; not with oneshot or nm)
  --initial-sparsity X  sparsity at --prune-begin (default 0)
  --prune-begin N       first pruning step (default 0)
  --prune-end N         step at which the sparsity is reached (default 2/3 of the steps)
  --prune-frequency N   steps between mask updates (default (prune-end − prune-begin) / 10)
  --prune-layers A,B    only these layers      --prune-exclude A,B   not these layers
 low rank (lowrank, joint)
  --rank R              rank (or NAME=R,NAME=R per layer)
  --energy X            smallest rank keeping this fraction of Σσ²
  --compression X       per-layer weight compression ratio
  --layers A,B          layers to factorise (names as in the model, e.g. 7 = refcnn's 1600→128 linear)
  --conv MODE           conv factorisation: channel (default: kh×kw conv to r channels + 1×1 conv) or
                        spatial (kh×1 conv to r channels + 1×kw conv)
 output
  --eval-limit N        evaluate on the first N test images only
  --build NAME          auto (default), scalar, simd, relaxed
  --json                print the report rows as JSON
  --quiet               no progress bar`;

const FLAGS: FlagTable = {
  model: 'string', data: 'string', method: 'string', teacher: 'string', out: 'string', checkpoint: 'string',
  epochs: 'string', batch: 'string', lr: 'string', schedule: 'string', seed: 'string', shift: 'string', limit: 'string', 'max-steps': 'string', 'task-weight': 'string',
  alpha: 'string', temperature: 'string', hint: 'string',
  'qerr-weight': 'string', 'freeze-observers-at': 'string', 'freeze-bn-at': 'string', lsq: 'boolean', calib: 'string', 'calib-batches': 'string', percentile: 'string',
  sparsity: 'string', structure: 'string', nm: 'string', block: 'string', 'prune-schedule': 'string', scope: 'string', 'initial-sparsity': 'string', 'prune-begin': 'string',
  'prune-end': 'string', 'prune-frequency': 'string', 'prune-layers': 'string', 'prune-exclude': 'string',
  rank: 'string', energy: 'string', compression: 'string', layers: 'string', conv: 'string',
  'eval-limit': 'string', build: 'string', json: 'boolean', quiet: 'boolean', help: 'boolean', h: 'boolean',
};

/** Flags that belong to one term: rejected (UsageError) when the method does not use that term. */
const TERM_FLAGS: Record<'distill' | 'qat' | 'prune' | 'lowrank' | 'ptq', string[]> = {
  distill: ['teacher', 'alpha', 'temperature', 'hint'],
  qat: ['qerr-weight', 'freeze-observers-at', 'freeze-bn-at', 'lsq'],
  prune: ['sparsity', 'structure', 'nm', 'block', 'prune-schedule', 'scope', 'initial-sparsity', 'prune-begin', 'prune-end', 'prune-frequency', 'prune-layers', 'prune-exclude'],
  lowrank: ['rank', 'energy', 'compression', 'layers', 'conv'],
  ptq: ['calib', 'calib-batches', 'percentile'],
};
const USES: Record<CompressMethod, (keyof typeof TERM_FLAGS)[]> = {
  ptq: ['ptq'], qat: ['qat'], prune: ['prune', 'ptq'], lowrank: ['lowrank', 'ptq'], distill: ['distill', 'ptq'], joint: ['distill', 'qat', 'prune', 'lowrank'],
};

const list = (v: string | boolean | undefined) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

function pair(flag: string, v: string, sep: RegExp): [number, number] {
  const p = v.split(sep).map(Number);
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x > 0)) throw new UsageError(`--${flag} must look like ${flag === 'nm' ? '2:4' : '1x8'}, got '${v}'`);
  return [p[0], p[1]];
}

function hints(v: string): HintSpec[] {
  return v.split(',').map((h) => {
    const p = h.split(':');
    if (p.length < 2 || p.length > 3 || !p[0] || !p[1]) throw new UsageError(`--hint must be STUDENT:TEACHER[:WEIGHT] (module names), got '${h}'`);
    const weight = p[2] === undefined ? undefined : Number(p[2]);
    if (weight !== undefined && !(Number.isFinite(weight) && weight >= 0)) throw new UsageError(`--hint weight must be a number ≥ 0, got '${p[2]}'`);
    return { student: p[0], teacher: p[1], ...(weight !== undefined ? { weight } : {}) };
  });
}

function rankOf(v: string): number | Record<string, number> {
  if (!v.includes('=')) return num({ rank: v }, 'rank', 0, true);
  const out: Record<string, number> = {};
  for (const kv of v.split(',')) {
    const [k, r] = kv.split('=');
    if (!k || r === undefined) throw new UsageError(`--rank must be R or NAME=R,NAME=R, got '${v}'`);
    out[k] = num({ rank: r }, 'rank', 0, true);
  }
  return out;
}

/** Writes the int8 model's .qwm bytes (docs/QWM.md) atomically; returns the byte count. */
function writeQwm(file: string, int8: Int8Model): number {
  const bytes = int8.qwm();
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return bytes.length;
}

/**
 * Factorised layers: each one's batch-1 time alone on the int8 kernels, against the same layer of the
 * uncompressed model (static PTQ), timed in interleaved rounds.
 */
async function lowRankTimings(original: Module, train: Dataset, res: CompressResult, seed: number): Promise<Record<string, { denseUs: number; lowrankUs: number; speedup: number }>> {
  const names = (res.history.terms.lowrank ?? []).filter((l) => l.type === 'Linear').map((l) => l.name);
  if (!names.length) return {};
  const dense = await compressModel(original, train, { method: 'ptq', seed });
  try {
    const pairs: [Int8Model, string][] = names.flatMap((n) => [[dense.int8, n], [res.int8, n]] as [Int8Model, string][]);
    const t = layerLatencyUs(pairs);
    const out: Record<string, { denseUs: number; lowrankUs: number; speedup: number }> = {};
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

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const modelFile = flags.model as string | undefined, dataName = flags.data as string | undefined, method = flags.method as CompressMethod | undefined;
  if (!modelFile) throw new UsageError('--model FILE is required');
  if (!dataName) throw new UsageError('--data is required');
  if (!method) throw new UsageError(`--method is required (one of ${COMPRESS_METHODS.join(', ')})`);
  if (!COMPRESS_METHODS.includes(method)) throw new UsageError(`unknown method '${method}' (one of ${COMPRESS_METHODS.join(', ')})`);
  for (const [term, names] of Object.entries(TERM_FLAGS) as [keyof typeof TERM_FLAGS, string[]][]) {
    if (USES[method].includes(term)) continue;
    for (const n of names) if (flags[n] !== undefined) throw new UsageError(`--${n} is not used by --method ${method}${method === 'joint' ? '' : ' (use --method joint to combine terms)'}`);
  }
  if (method === 'prune' && flags.sparsity === undefined && flags.structure !== 'nm') throw new UsageError('--method prune needs --sparsity X (or --structure nm)');
  if (method === 'lowrank' && flags.rank === undefined && flags.energy === undefined && flags.compression === undefined) throw new UsageError('--method lowrank needs --rank, --energy or --compression');
  if (method === 'distill' && !flags.teacher) throw new UsageError('--method distill needs --teacher FILE');
  // the polynomial-schedule flags (TF-MOT PolynomialDecay) mean nothing for a one-shot or N:M mask
  for (const f of ['initial-sparsity', 'prune-begin', 'prune-end', 'prune-frequency']) {
    if (flags[f] === undefined) continue;
    if (flags['prune-schedule'] === 'oneshot') throw new UsageError(`--${f} is a polynomial-schedule flag; --prune-schedule oneshot prunes once before the first step`);
    if (flags.structure === 'nm') throw new UsageError(`--${f} is a polynomial-schedule flag; --structure nm masks are fixed from the first step`);
  }
  const calib = flags.calib as string | undefined;
  if (flags.percentile !== undefined && calib !== 'percentile') throw new UsageError(`--percentile needs --calib percentile${calib ? `, got --calib ${calib}` : ''}`);
  if (calib === 'dynamic') {
    if (flags['calib-batches'] !== undefined) throw new UsageError('--calib-batches is for static calibration; --calib dynamic (weight-only) calibrates nothing');
    if (flags.out !== undefined) throw new UsageError('--out writes an all-int8 .qwm; --calib dynamic is weight-only (f32 activations) and has none (use --calib minmax or percentile)');
  }
  const json = !!flags.json, quiet = json || !!flags.quiet;

  // every flag value is parsed before the data and models load (usage errors come first)
  const oneOf = (flag: string, allowed: string[]) => {
    const v = flags[flag];
    if (v !== undefined && !allowed.includes(v as string)) throw new UsageError(`--${flag} must be ${allowed.join(', ')}, got '${v}'`);
  };
  oneOf('schedule', ['cosine', 'constant', 'step']);
  oneOf('structure', ['unstructured', 'nm', 'block', 'channel']);
  oneOf('prune-schedule', ['polynomial', 'oneshot']);
  oneOf('scope', ['global', 'layer']);
  oneOf('conv', ['channel', 'spatial']);
  oneOf('calib', ['minmax', 'percentile', 'dynamic']);
  const limit = flags.limit ? num(flags, 'limit', 0, true) : 0;
  const evalLimit = flags['eval-limit'] ? num(flags, 'eval-limit', 0, true) : 0;

  const uses = (t: keyof typeof TERM_FLAGS) => USES[method].includes(t) && TERM_FLAGS[t].some((n) => flags[n] !== undefined);
  const opts: CompressOptions = {
    method,
    epochs: num(flags, 'epochs', method === 'ptq' ? 0 : 1, true),
    batchSize: num(flags, 'batch', 64, true),
    ...(flags.lr ? { lr: num(flags, 'lr', 0) } : {}),
    lrSchedule: ((flags.schedule as string | undefined) ?? 'cosine') as 'cosine',
    seed: num(flags, 'seed', 1, true),
    ...(flags.shift ? { shift: num(flags, 'shift', 0, true) } : {}),
    ...(flags['max-steps'] ? { maxSteps: num(flags, 'max-steps', 0, true) } : {}),
    ...(flags['task-weight'] ? { taskWeight: num(flags, 'task-weight', 0) } : {}),
  };
  if (USES[method].includes('distill')) {
    opts.distill = {
      ...(flags.alpha ? { alpha: num(flags, 'alpha', 0) } : {}),
      ...(flags.temperature ? { temperature: num(flags, 'temperature', 0) } : {}),
      ...(flags.hint ? { hint: hints(flags.hint as string) } : {}),
    };
  }
  if (uses('qat')) {
    opts.qat = {
      ...(flags['qerr-weight'] ? { qerrWeight: num(flags, 'qerr-weight', 0) } : {}),
      ...(flags['freeze-observers-at'] ? { freezeObserversAt: num(flags, 'freeze-observers-at', 0, true) } : {}),
      ...(flags['freeze-bn-at'] ? { freezeBnAt: num(flags, 'freeze-bn-at', 0, true) } : {}),
      ...(flags.lsq ? { options: { lsq: true } } : {}),
    };
  }
  if (uses('prune')) {
    const sp = flags.sparsity !== undefined ? num(flags, 'sparsity', 0) : undefined;
    const initial = flags['initial-sparsity'] !== undefined ? num(flags, 'initial-sparsity', 0) : undefined;
    if (initial !== undefined && !(initial >= 0 && initial <= (sp ?? 1) && initial < 1)) throw new UsageError(`--initial-sparsity must be in [0, --sparsity${sp !== undefined ? ` = ${sp}` : ''}], got '${flags['initial-sparsity']}'`);
    const begin = flags['prune-begin'] !== undefined ? num(flags, 'prune-begin', 0, true) : undefined;
    if (begin !== undefined && begin < 0) throw new UsageError(`--prune-begin must be ≥ 0, got ${begin}`);
    const end = flags['prune-end'] !== undefined ? num(flags, 'prune-end', 0, true) : undefined;
    if (end !== undefined && end <= (begin ?? 0)) throw new UsageError(`--prune-end must be greater than --prune-begin (${begin ?? 0}), got ${end}`);
    const freq = flags['prune-frequency'] !== undefined ? num(flags, 'prune-frequency', 0, true) : undefined;
    if (freq !== undefined && freq < 1) throw new UsageError(`--prune-frequency must be ≥ 1, got ${freq}`);
    const p: PruneTerm = {
      ...(sp !== undefined ? { sparsity: sp } : {}),
      ...(flags.structure ? { structure: flags.structure as PruneTerm['structure'] } : {}),
      ...(flags.nm ? { nm: pair('nm', flags.nm as string, /:/) } : {}),
      ...(flags.block ? { block: pair('block', flags.block as string, /x/i) } : {}),
      ...(flags['prune-schedule'] ? { schedule: flags['prune-schedule'] as PruneTerm['schedule'] } : {}),
      ...(flags.scope ? { scope: flags.scope as PruneTerm['scope'] } : {}),
      ...(initial !== undefined ? { initialSparsity: initial } : {}),
      ...(begin !== undefined ? { beginStep: begin } : {}),
      ...(end !== undefined ? { endStep: end } : {}),
      ...(freq !== undefined ? { frequency: freq } : {}),
      ...(flags['prune-layers'] ? { layers: list(flags['prune-layers']) } : {}),
      ...(flags['prune-exclude'] ? { exclude: list(flags['prune-exclude']) } : {}),
    };
    opts.prune = p;
  }
  if (uses('lowrank')) {
    opts.lowrank = {
      ...(flags.rank ? { rank: rankOf(flags.rank as string) } : {}),
      ...(flags.energy ? { energy: num(flags, 'energy', 0) } : {}),
      ...(flags.compression ? { compression: num(flags, 'compression', 0) } : {}),
      ...(flags.layers ? { layers: list(flags.layers) } : {}),
      ...(flags.conv ? { conv: flags.conv as 'channel' | 'spatial' } : {}),
    };
  }
  if (uses('ptq')) {
    if (calib === 'dynamic') (opts as unknown as WeightOnlyCompressOptions).ptq = { method: 'dynamic' };
    else {
      let percentile: number | undefined;
      if (flags.percentile !== undefined) {
        percentile = num(flags, 'percentile', 0);
        if (!(percentile > 50 && percentile <= 100)) throw new UsageError(`--percentile must be in (50, 100] (the kept fraction in percent), got '${flags.percentile}'`);
      }
      const batches = flags['calib-batches'] !== undefined ? num(flags, 'calib-batches', 0, true) : undefined;
      if (batches !== undefined && batches < 1) throw new UsageError(`--calib-batches must be ≥ 1, got ${batches}`);
      opts.ptq = { method: (calib ?? 'minmax') as 'minmax' | 'percentile', ...(percentile !== undefined ? { percentile } : {}), ...(batches !== undefined ? { batches } : {}) };
    }
  }
  const weightOnly = calib === 'dynamic';

  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const engine = new Engine(q.rt);
  const { train, test } = loadDataset(dataName);
  const loaded = loadModel(engine, modelFile);
  if (flags.teacher) opts.teacher = loadModel(engine, flags.teacher as string).model;
  if (limit) opts.indices = Int32Array.from({ length: Math.min(limit, train.length) }, (_, i) => i);
  opts.evalData = evalLimit ? subset(test, Int32Array.from({ length: Math.min(evalLimit, test.length) }, (_, i) => i)) : test;
  if (!weightOnly) opts.convert = { meta: { labels: [...train.classes], mean: train.norm.mean[0], std: train.norm.std[0], source: modelFile, dataset: dataName, method, command: `qwasm compress ${argv.join(' ')}` } };

  const bar = new Progress(`compress ${method}`, quiet);
  opts.onProgress = (p) => {
    if (p.phase !== 'train') { bar.done(); if (!quiet) console.error(`${p.phase}…`); return; }
    bar.update(p.step, p.totalSteps, {
      loss: p.loss.toFixed(4), ...(p.terms.kd !== undefined ? { kd: p.terms.kd.toFixed(4) } : {}),
      ...(p.sparsity ? { sparsity: `${(p.sparsity * 100).toFixed(1)}%` } : {}), acc: `${(p.accuracy * 100).toFixed(1)}%`,
    }, p.seconds);
  };
  const res = await compressModel(loaded.model, train, opts as CompressOptions | WeightOnlyCompressOptions);
  bar.done();
  try {
    let qwmBytes: number | undefined;
    const outFile = flags.out as string | undefined;
    if (outFile && res.int8) qwmBytes = writeQwm(outFile, res.int8);
    const layerLatency = res.history.terms.lowrank && res.int8 ? await lowRankTimings(loaded.model, train, res as CompressResult, opts.seed ?? 1) : undefined;
    const ckFile = flags.checkpoint as string | undefined;
    if (ckFile) {
      // channel removal changed the layer widths and factorisation the layer types: such a checkpoint describes
      // its layers (loadModel rebuilds them); QAT methods keep their trained grid so 'qwasm export' converts
      // with it instead of re-calibrating
      const reshaped = res.history.channels || res.history.terms.lowrank;
      const record = reshaped ? { ...loaded.record, layers: describeLayers(res.floatModel) } : loaded.record;
      saveModel(ckFile, res.floatModel, record, {
        dataset: dataName, seed: opts.seed, build: q.build, compressed: method, command: `qwasm compress ${argv.join(' ')}`,
        ...(res.model instanceof QATModel ? { quantState: res.quantized.quantState() } : {}),
      });
    }
    if (json) {
      console.log(JSON.stringify({
        model: modelFile, data: dataName, method, build: q.build, steps: res.history.steps.length, seconds: +res.history.seconds.toFixed(2),
        ...(res.history.sparsity ? { layerSparsity: Object.fromEntries(res.history.sparsity.layers.map((l) => [l.name, +l.sparsity.toFixed(4)])) } : {}),
        ...(res.history.channels ? { channelsRemoved: Object.fromEntries(Object.entries(res.history.channels.removed).map(([k, v]) => [k, v.length])), paramsBeforeRemoval: res.history.channels.paramsBefore } : {}),
        terms: res.history.terms,
        ...(layerLatency ? { layerLatency } : {}),
        ...(outFile ? { out: outFile, qwmBytes } : {}), ...(ckFile ? { checkpoint: ckFile } : {}),
        rows: res.rows,
      }));
    } else {
      console.log(formatReport(res.rows));
      const [f, c] = res.rows;
      if (f && c && c.precision === 'int8-weights') console.log(`\n${method}: weight-only int8 (f32 activations) ${(100 * c.accuracy).toFixed(2)} % vs float ${(100 * f.accuracy).toFixed(2)} % (${c.count} images), ${c.bytes} bytes of int8 weights + f32 scales / biases = 1/${(f.float32Bytes / c.bytes).toFixed(1)} of float32, f32 forward ${c.latencyMs.toFixed(3)} ms / image (no all-int8 model)`);
      else if (f && c) console.log(`\n${method}: int8 ${(100 * c.accuracy).toFixed(2)} % vs float ${(100 * f.accuracy).toFixed(2)} % (${c.count} images), ${c.bytes} bytes = 1/${(f.float32Bytes / c.bytes).toFixed(1)} of float32, ${c.latencyMs.toFixed(3)} ms / image (build ${q.build})`);
      for (const [n, t] of Object.entries(layerLatency ?? {})) console.log(`layer ${n} alone, int8, batch 1: dense ${t.denseUs} µs → low rank ${t.lowrankUs} µs (${t.speedup}× faster)`);
      if (outFile) console.log(`int8 model written to ${outFile} (${qwmBytes} bytes)`);
      if (ckFile) console.log(`float checkpoint written to ${ckFile}`);
    }
  } finally {
    res.int8?.dispose();
  }
  return 0;
}

export const command: Command = { summary: 'compress a checkpoint (qat, ptq, prune, lowrank, distill, joint) to an int8 model', usage, run };
