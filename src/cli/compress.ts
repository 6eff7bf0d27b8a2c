// `qwasm compress`: compresses a trained checkpoint (QAT, PTQ, pruning, low rank, distillation or all at once,
// src/compress/joint.ts), converts it to the all-int8 model, measures it against the float model on the test
// split (src/compress/report.ts) and writes the int8 model (.qwm) and, for same-architecture methods, the float
// checkpoint. --json prints the report rows; otherwise a progress bar and a Markdown table.
import { writeFileSync, renameSync } from 'node:fs';
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { subset } from '../data/dataset.js';
import { loadModel, saveModel } from '../train/model-file.js';
import { compressModel, COMPRESS_METHODS, type CompressMethod, type CompressOptions, type CompressResult, type PruneTerm } from '../compress/joint.js';
import { formatReport, layerLatencyUs } from '../compress/report.js';
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
  --out FILE            write the int8 model (.qwm)
  --checkpoint FILE     write the compressed float weights as a checkpoint (not after --method lowrank)
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
  --calib NAME          PTQ ranges: minmax (default) or percentile   --calib-batches N   default 16
 pruning (prune, joint)
  --sparsity X          target sparsity in (0, 1)
  --structure NAME      unstructured (default), nm, block, channel
  --nm K:M              N:M pattern for --structure nm (default 2:4)
  --block BKxBN         block shape for --structure block (default 1x8)
  --prune-schedule NAME polynomial (default), oneshot
  --scope NAME          global (default for unstructured / block), layer
  --prune-end N         step at which the sparsity is reached (default 2/3 of the steps)
  --prune-frequency N   steps between mask updates (default prune-end / 10)
  --prune-layers A,B    only these layers      --prune-exclude A,B   not these layers
 low rank (lowrank, joint)
  --rank R              rank (or NAME=R,NAME=R per layer)
  --energy X            smallest rank keeping this fraction of Σσ²
  --compression X       per-layer weight compression ratio
  --layers A,B          layers to factorise (names as in the model, e.g. 7 = refcnn's 1600→128 linear)
 output
  --eval-limit N        evaluate on the first N test images only
  --build NAME          auto (default), scalar, simd, relaxed
  --json                print the report rows as JSON
  --quiet               no progress bar`;

const FLAGS: FlagTable = {
  model: 'string', data: 'string', method: 'string', teacher: 'string', out: 'string', checkpoint: 'string',
  epochs: 'string', batch: 'string', lr: 'string', schedule: 'string', seed: 'string', shift: 'string', limit: 'string', 'max-steps': 'string', 'task-weight': 'string',
  alpha: 'string', temperature: 'string', hint: 'string',
  'qerr-weight': 'string', 'freeze-observers-at': 'string', 'freeze-bn-at': 'string', calib: 'string', 'calib-batches': 'string',
  sparsity: 'string', structure: 'string', nm: 'string', block: 'string', 'prune-schedule': 'string', scope: 'string', 'prune-end': 'string',
  'prune-frequency': 'string', 'prune-layers': 'string', 'prune-exclude': 'string',
  rank: 'string', energy: 'string', compression: 'string', layers: 'string',
  'eval-limit': 'string', build: 'string', json: 'boolean', quiet: 'boolean', help: 'boolean', h: 'boolean',
};

/** Flags that belong to one term: rejected (UsageError) when the method does not use that term. */
const TERM_FLAGS: Record<'distill' | 'qat' | 'prune' | 'lowrank' | 'ptq', string[]> = {
  distill: ['teacher', 'alpha', 'temperature', 'hint'],
  qat: ['qerr-weight', 'freeze-observers-at', 'freeze-bn-at'],
  prune: ['sparsity', 'structure', 'nm', 'block', 'prune-schedule', 'scope', 'prune-end', 'prune-frequency', 'prune-layers', 'prune-exclude'],
  lowrank: ['rank', 'energy', 'compression', 'layers'],
  ptq: ['calib', 'calib-batches'],
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
  if (flags.checkpoint && (method === 'lowrank' || (method === 'joint' && (flags.rank ?? flags.energy ?? flags.compression) !== undefined))) {
    throw new UsageError('--checkpoint cannot save a factorised model (checkpoints rebuild built-in architectures only); use --out for the int8 model');
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
    };
  }
  if (uses('prune')) {
    const p: PruneTerm = {
      ...(flags.sparsity ? { sparsity: num(flags, 'sparsity', 0) } : {}),
      ...(flags.structure ? { structure: flags.structure as PruneTerm['structure'] } : {}),
      ...(flags.nm ? { nm: pair('nm', flags.nm as string, /:/) } : {}),
      ...(flags.block ? { block: pair('block', flags.block as string, /x/i) } : {}),
      ...(flags['prune-schedule'] ? { schedule: flags['prune-schedule'] as PruneTerm['schedule'] } : {}),
      ...(flags.scope ? { scope: flags.scope as PruneTerm['scope'] } : {}),
      ...(flags['prune-end'] ? { endStep: num(flags, 'prune-end', 0, true) } : {}),
      ...(flags['prune-frequency'] ? { frequency: num(flags, 'prune-frequency', 0, true) } : {}),
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
    };
  }
  if (uses('ptq')) {
    const calib = (flags.calib as string | undefined) ?? 'minmax';
    if (calib !== 'minmax' && calib !== 'percentile') throw new UsageError(`--calib must be minmax or percentile, got '${calib}'`);
    opts.ptq = { method: calib, ...(flags['calib-batches'] ? { batches: num(flags, 'calib-batches', 0, true) } : {}) };
  }

  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const engine = new Engine(q.rt);
  const { train, test } = loadDataset(dataName);
  const loaded = loadModel(engine, modelFile);
  if (flags.teacher) opts.teacher = loadModel(engine, flags.teacher as string).model;
  if (limit) opts.indices = Int32Array.from({ length: Math.min(limit, train.length) }, (_, i) => i);
  opts.evalData = evalLimit ? subset(test, Int32Array.from({ length: Math.min(evalLimit, test.length) }, (_, i) => i)) : test;
  opts.convert = { meta: { labels: [...train.classes], mean: train.norm.mean[0], std: train.norm.std[0], source: modelFile, dataset: dataName, method, command: `qwasm compress ${argv.join(' ')}` } };

  const bar = new Progress(`compress ${method}`, quiet);
  opts.onProgress = (p) => {
    if (p.phase !== 'train') { bar.done(); if (!quiet) console.error(`${p.phase}…`); return; }
    bar.update(p.step, p.totalSteps, {
      loss: p.loss.toFixed(4), ...(p.terms.kd !== undefined ? { kd: p.terms.kd.toFixed(4) } : {}),
      ...(p.sparsity ? { sparsity: `${(p.sparsity * 100).toFixed(1)}%` } : {}), acc: `${(p.accuracy * 100).toFixed(1)}%`,
    }, p.seconds);
  };
  const res = await compressModel(loaded.model, train, opts);
  bar.done();
  try {
    let qwmBytes: number | undefined;
    const outFile = flags.out as string | undefined;
    if (outFile) qwmBytes = writeQwm(outFile, res.int8);
    const layerLatency = res.history.terms.lowrank ? await lowRankTimings(loaded.model, train, res, opts.seed ?? 1) : undefined;
    const ckFile = flags.checkpoint as string | undefined;
    if (ckFile) saveModel(ckFile, res.floatModel, loaded.record, { dataset: dataName, seed: opts.seed, build: q.build, compressed: method, command: `qwasm compress ${argv.join(' ')}` });
    if (json) {
      console.log(JSON.stringify({
        model: modelFile, data: dataName, method, build: q.build, steps: res.history.steps.length, seconds: +res.history.seconds.toFixed(2),
        ...(res.history.sparsity ? { layerSparsity: Object.fromEntries(res.history.sparsity.layers.map((l) => [l.name, +l.sparsity.toFixed(4)])) } : {}),
        ...(layerLatency ? { layerLatency } : {}),
        ...(outFile ? { out: outFile, qwmBytes } : {}), ...(ckFile ? { checkpoint: ckFile } : {}),
        rows: res.rows,
      }));
    } else {
      console.log(formatReport(res.rows));
      const [f, c] = res.rows;
      if (f && c) console.log(`\n${method}: int8 ${(100 * c.accuracy).toFixed(2)} % vs float ${(100 * f.accuracy).toFixed(2)} % (${c.count} images), ${c.bytes} bytes = 1/${(f.float32Bytes / c.bytes).toFixed(1)} of float32, ${c.latencyMs.toFixed(3)} ms / image (build ${q.build})`);
      for (const [n, t] of Object.entries(layerLatency ?? {})) console.log(`layer ${n} alone, int8, batch 1: dense ${t.denseUs} µs → low rank ${t.lowrankUs} µs (${t.speedup}× faster)`);
      if (outFile) console.log(`int8 model written to ${outFile} (${qwmBytes} bytes)`);
      if (ckFile) console.log(`float checkpoint written to ${ckFile}`);
    }
  } finally {
    res.int8.dispose();
  }
  return 0;
}

export const command: Command = { summary: 'compress a checkpoint (qat, ptq, prune, lowrank, distill, joint) to an int8 model', usage, run };
