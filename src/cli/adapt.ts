// `qwasm adapt`: unsupervised domain adaptation from the command line — labelled source images, unlabelled target
// images of the same classes; source-only vs DANN vs Deep CORAL under one fixed recipe over several seeds
// (src/transfer/adapt-run.ts), scored on the target's labels only when it has some.
import { loadRuntime } from '../runtime.js';
import type { Engine } from '../autograd/tensor.js';
import { Sequential } from '../nn/layers.js';
import { buildModel, MODEL_NAMES, type ModelOptions } from '../nn/models.js';
import { loadDataset } from '../data/registry.js';
import { stratifiedSubset, subset, type Dataset } from '../data/dataset.js';
import { saveModel, type ModelRecord } from '../train/model-file.js';
import { loadCheckpoint } from '../checkpoint/index.js';
import { loadPretrained } from '../transfer/finetune.js';
import { ADAPT_METHODS, type AdaptMethod } from '../transfer/adapt.js';
import { ADAPT_RECIPE, runAdaptation, type AdaptRunResult, type Scored } from '../transfer/adapt-run.js';
import type { Spread } from '../train/intervals.js';
import { loadUnlabelledTarget, type UnlabelledTarget } from '../pipeline/data.js';
import { parseArgs, UsageError, type FlagTable } from './args.js';
import { num } from './train.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';

const R = ADAPT_RECIPE;
const usage = `usage: qwasm adapt --source NAME|PATH --unlabeled NAME|PATH [flags]

Unsupervised domain adaptation: a model learns the classes from labelled source images while adapting to
unlabelled target images of the same classes from another domain (other scanner, sketches vs photos…).
Runs source-only (the baseline) and the chosen methods with the same model, batches, optimiser and steps, for
each seed, and prints target accuracy per method: mean ± sd, min/max over seeds, 95 % intervals, the gain
over source-only per seed.

Target labels are never used for training or for choosing anything: the recipe is fixed in advance and the
model of the last step is kept. If the target has labels (a built-in dataset, a folder of class sub-folders),
they only score the finished models, on held-out target images (and on the adaptation images afterwards).
  --source NAME|PATH      labelled source: mnist, fashion-mnist, quickdraw, digits, quickdraw-natural, or a folder
                          (IDX files or class sub-folders)
  --unlabeled NAME|PATH   target images: a dataset name (its train split is used without labels, its test split
                          scores), a folder of class sub-folders (same), or a folder of images (no labels)
  --target NAME|PATH      the same as --unlabeled
  --target-test NAME|PATH labelled target images to score on (their test split), e.g. when --unlabeled has no labels
  --method A,B,...        any of dann, coral, source-only (default dann,coral; source-only always runs)
  --model NAME            ${MODEL_NAMES.join(', ')} (default refcnn), trained from random weights
  --init FILE             start from a pretrained checkpoint (qwasm pretrain / train --out) with a new head instead
  --width N               resnet / mobilenet width (default 16)
  --size N, --channels C  image size and channels (default: the --init model's input, else 28 and 1)
  --seeds N|A,B,...       N seeds 1..N, or a list (default 1)
  --steps N               optimiser steps, each one source and one target batch (default ${R.steps})
  --batch N               per-domain batch (default ${R.batchSize})
  --lr X                  SGD momentum 0.9, annealed lr/(1+10p)^0.75 (default ${R.lr})
  --dann-weight X         maximum of DANN's gradient-reversal factor λ_p = X·(2/(1+e^(−10p)) − 1) (default ${R.dannWeight})
  --coral-weight X        Deep CORAL weight (default ${R.coralWeight})
  --shift N               random shifts of ±N pixels (default ${R.shift})
  --centre                frame the target images like MNIST (ink in a 20×20 box, centred by mass; grey only)
  --invert                invert the target images (dark ink on light → light on dark)
  --source-limit K        at most K source training images per class
  --target-limit K        at most K target images per class for adaptation (labelled targets) or K in all
  --source-test N         score the first N source test images too (default 2000; 0 = no)
  -o, --out FILE          save the trained model (first seed) of the adaptation method: FILE with one method,
                          FILE with .METHOD before the extension with several
  --build NAME            auto (default), scalar, simd, relaxed
  --json                  print one JSON object (settings, per-run rows, per-method summary)
  --quiet                 no progress output`;

const FLAGS: FlagTable = {
  source: 'string', unlabeled: 'string', unlabelled: 'string', target: 'string', 'target-test': 'string', method: 'string', methods: 'string',
  model: 'string', init: 'string', width: 'string', seeds: 'string', steps: 'string', batch: 'string', lr: 'string', 'dann-weight': 'string',
  'coral-weight': 'string', shift: 'string', centre: 'boolean', center: 'boolean', invert: 'boolean', 'source-limit': 'string', 'target-limit': 'string',
  'source-test': 'string', size: 'string', channels: 'string', out: 'string', o: 'string', build: 'string', json: 'boolean', quiet: 'boolean', help: 'boolean', h: 'boolean',
};

/** --seeds: "5" → 1..5, "3,7" → [3, 7]. */
export function parseSeeds(v: string | undefined): number[] {
  if (v === undefined) return [1];
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  const nums = parts.map(Number);
  if (!nums.length || nums.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--seeds must be a count or a list of integers, got '${v}'`);
  if (parts.length === 1) {
    if (nums[0] < 1 || nums[0] > 1000) throw new UsageError(`--seeds must be a count in [1, 1000] or a list, got '${v}'`);
    return Array.from({ length: nums[0] }, (_, i) => i + 1);
  }
  if (new Set(nums).size !== nums.length) throw new UsageError(`--seeds lists a seed twice: '${v}'`);
  return nums;
}

/** --method: the baseline first, then the methods in the order given. */
export function parseMethods(v: string | undefined): AdaptMethod[] {
  const list = (v ?? 'dann,coral').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const m of list) if (!(ADAPT_METHODS as readonly string[]).includes(m)) throw new UsageError(`unknown method '${m}' for --method (one of ${ADAPT_METHODS.join(', ')})`);
  return ['source-only', ...new Set(list.filter((m) => m !== 'source-only'))] as AdaptMethod[];
}

const pct = (v: number) => (100 * v).toFixed(2);
const spreadText = (s: Spread | null) => (s ? `${pct(s.mean)} ± ${pct(s.sd)} [${pct(s.min)}, ${pct(s.max)}]` : '–');
const ciText = (s: Spread | null) => (s?.ci ? `${pct(s.ci.lo)}–${pct(s.ci.hi)}` : '–');
const scoredText = (s: Scored | null) => (s ? `${pct(s.accuracy)} (${pct(s.ci.lo)}–${pct(s.ci.hi)})` : '–');

/** The command's result table (Markdown, as pasted in docs/ADAPTATION.md). */
export function renderAdaptTable(r: AdaptRunResult, target: UnlabelledTarget): string {
  const L: string[] = [];
  const n = r.seeds.length;
  if (!target.test) {
    L.push('The target has no labels: the models were trained but nothing is scored on the target.', '');
    L.push('| method | seeds | source test % mean ± sd [min, max] | final loss (mean) |', '|---|---:|---|---:|');
    for (const s of r.summary) {
      const rs = r.rows.filter((x) => x.method === s.method);
      L.push(`| ${s.method} | ${n} | ${spreadText(s.sourceTest)} | ${(rs.reduce((a, x) => a + x.finalLoss, 0) / rs.length).toFixed(4)} |`);
    }
    return L.join('\n');
  }
  L.push(`| method | target test % mean ± sd [min, max] over ${n} seed(s) | 95 % CI of the mean (seeds) | mean, 95 % Wilson over the test images | gain over source-only, points: mean [min, max] | wins | adaptation set % (transductive) | source test % |`);
  L.push('|---|---|---|---|---|---:|---|---|');
  for (const s of r.summary) {
    const gain = s.gain ? `${s.gain.mean >= 0 ? '+' : ''}${pct(s.gain.mean)} [${pct(s.gain.min)}, ${pct(s.gain.max)}]` : '—';
    L.push(`| ${s.method} | ${spreadText(s.targetTest)} | ${ciText(s.targetTest)} | ${scoredText(s.meanScore)} | ${gain} | ${s.wins === null ? '—' : `${s.wins}/${n}`} | ${spreadText(s.adaptationSet)} | ${spreadText(s.sourceTest)} |`);
  }
  L.push('', 'Per seed, target test % (95 % Wilson over its test images):', '');
  L.push(`| seed | ${r.methods.join(' | ')} |`, `|---:|${r.methods.map(() => '---').join('|')}|`);
  for (const seed of r.seeds) {
    L.push(`| ${seed} | ${r.methods.map((m) => scoredText(r.rows.find((x) => x.seed === seed && x.method === m)?.targetTest ?? null)).join(' | ')} |`);
  }
  return L.join('\n');
}

/** With several methods, FILE.qck → FILE.METHOD.qck. */
export const outFileFor = (file: string, method: string, several: boolean): string => {
  if (!several) return file;
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') ? `${file.slice(0, dot)}.${method}${file.slice(dot)}` : `${file}.${method}`;
};

const limitPerClass = (ds: Dataset, k: number, seed: number): Dataset => (k ? stratifiedSubset(ds, { perClass: k, seed, allowFewer: true }) : ds);

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const sourceName = flags.source as string | undefined;
  const given = [flags.unlabeled, flags.unlabelled, flags.target].filter((v) => v !== undefined) as string[];
  if (!sourceName) throw new UsageError('--source is required (labelled source images: a dataset name or a folder)');
  if (!given.length) throw new UsageError('--unlabeled is required (target images: a dataset name or a folder)');
  if (given.length > 1) throw new UsageError('give the target once: --unlabeled or --target');
  const targetName = given[0];
  const methods = parseMethods((flags.method ?? flags.methods) as string | undefined);
  const seeds = parseSeeds(flags.seeds as string | undefined);
  const modelName = (flags.model as string | undefined) ?? 'refcnn';
  if (!(MODEL_NAMES as readonly string[]).includes(modelName)) throw new UsageError(`unknown model '${modelName}' for --model (one of ${MODEL_NAMES.join(', ')})`);
  if (flags.init && flags.model) throw new UsageError('--init brings its own architecture: leave out --model');
  const recipe = {
    steps: num(flags, 'steps', R.steps, true), batchSize: num(flags, 'batch', R.batchSize, true), lr: num(flags, 'lr', R.lr),
    dannWeight: num(flags, 'dann-weight', R.dannWeight), coralWeight: num(flags, 'coral-weight', R.coralWeight), shift: num(flags, 'shift', R.shift, true),
  };
  if (recipe.steps < 1) throw new UsageError('--steps must be ≥ 1');
  if (recipe.batchSize < 2) throw new UsageError('--batch must be ≥ 2');
  if (!(recipe.lr > 0)) throw new UsageError('--lr must be > 0');
  if (recipe.dannWeight < 0 || recipe.coralWeight < 0) throw new UsageError('--dann-weight and --coral-weight must be ≥ 0');
  const sourceLimit = num(flags, 'source-limit', 0, true), targetLimit = num(flags, 'target-limit', 0, true), sourceTestN = num(flags, 'source-test', 2000, true);
  const width = num(flags, 'width', 16, true);
  const out = (flags.out ?? flags.o) as string | undefined;
  const json = !!flags.json, quiet = json || !!flags.quiet;
  const log = (s: string) => { if (!quiet) process.stderr.write(`${s}\n`); };

  const rt = await loadRuntime({ build: (flags.build as 'auto') ?? 'auto' });
  // the input comes from --init's checkpoint or the source images; built-in datasets are 28×28 grey
  type InitModel = { name: string; config?: ModelOptions };
  let initModel: InitModel | null = null;
  if (flags.init) {
    initModel = (loadCheckpoint(String(flags.init)).meta.model ?? null) as InitModel | null;
    if (!initModel || typeof initModel.name !== 'string') throw new UsageError(`--init ${flags.init}: the checkpoint has no model description (save it with qwasm train --out or qwasm pretrain)`);
  }
  const input0 = (initModel?.config?.input ?? [28, 28, 1]) as [number, number, number];
  const size = num(flags, 'size', input0[0], true), channels = num(flags, 'channels', input0[2], true);
  if (size < 8 || size > 1024) throw new UsageError(`--size must be in [8, 1024], got ${size}`);
  if (channels !== 1 && channels !== 3) throw new UsageError(`--channels must be 1 or 3, got ${channels}`);
  const src = loadDataset(sourceName, { size: [size, size], channels });
  const input: [number, number, number] = [src.train.height, src.train.width, src.train.channels];
  const source = limitPerClass(src.train, sourceLimit, 1);
  const sourceTest = sourceTestN ? subset(src.test, Int32Array.from({ length: Math.min(sourceTestN, src.test.length) }, (_, i) => i)) : null;
  const target = loadUnlabelledTarget(targetName, { input, classes: source.classes, centre: !!(flags.centre || flags.center), invert: !!flags.invert });
  if (targetLimit) target.adaptation = target.labelled ? limitPerClass(target.adaptation, targetLimit, 1) : subset(target.adaptation, Int32Array.from({ length: Math.min(targetLimit, target.adaptation.length) }, (_, i) => i));
  if (flags['target-test']) {
    const t = loadUnlabelledTarget(String(flags['target-test']), { input, classes: source.classes, centre: !!(flags.centre || flags.center), invert: !!flags.invert });
    if (!t.test) throw new UsageError(`--target-test ${flags['target-test']} has no labels: give a dataset name or a folder of class sub-folders`);
    target.test = t.test;
    target.description += `; scored on the ${t.test.length} held-out labelled images of ${flags['target-test']}`;
  }
  log(`source: ${sourceName}, ${source.length} labelled images, ${source.classes.length} classes (${source.classes.join(', ')})`);
  log(`target: ${target.description}`);
  log(`target labels: ${target.test ? 'used only to score the finished models, never for training or selection' : 'none'}`);

  const records = new Map<number, ModelRecord>();
  const makeModel = (engine: Engine, seed: number): Sequential => {
    if (flags.init) {
      const { model, record } = loadPretrained(engine, String(flags.init), source.classes.length, { seed });
      records.set(seed, record);
      return model;
    }
    const options: ModelOptions = { input, classes: source.classes.length, seed, ...(modelName === 'resnet' || modelName === 'mobilenet' ? { width } : {}) };
    records.set(seed, { name: modelName, options });
    return buildModel(engine, modelName, options);
  };
  let bar: Progress | null = null;
  const adaptMethods = methods.filter((m) => m !== 'source-only');
  const saved: string[] = [];
  const res = runAdaptation({
    rt, source, target: target.adaptation, targetTest: target.test, targetLabelled: target.labelled, sourceTest, methods, seeds, recipe, makeModel,
    onRunStart: (m, seed, i, count) => { bar = new Progress(`[${i}/${count}] ${m} seed ${seed}`, quiet); },
    onStep: (s) => bar?.update(s.step, s.totalSteps, { loss: s.loss.toFixed(3), task: s.taskLoss.toFixed(3), λ: s.lambda.toFixed(2), ...(s.domainAccuracy !== undefined ? { 'domain acc': s.domainAccuracy.toFixed(2) } : {}) }, s.seconds),
    onRunDone: (row) => { bar?.done(`${row.method} seed ${row.seed}: target test ${row.targetTest ? `${pct(row.targetTest.accuracy)} %` : '– (no labels)'}${row.sourceTest ? `, source test ${pct(row.sourceTest.accuracy)} %` : ''} (${row.seconds.toFixed(1)} s)`); },
    keep: (method, seed, model) => {
      if (!out || seed !== seeds[0] || !(method === 'source-only' ? !adaptMethods.length : true)) return false;
      const file = outFileFor(out, method, adaptMethods.length > 1);
      saveModel(file, model, records.get(seed)!, { adapt: { method, seed, source: sourceName, target: targetName, recipe: { ...R, ...recipe } } });
      saved.push(file);
      return false;
    },
  });
  const settings = { source: sourceName, target: targetName, model: initModel ? `${initModel.name} from ${flags.init}` : modelName, input, recipe: res.recipe,
    sourceImages: source.length, targetImages: target.adaptation.length, targetTestImages: target.test?.length ?? 0, targetLabels: target.test ? 'scoring only' : 'none' };
  if (json) {
    console.log(JSON.stringify({ command: 'adapt', build: rt.build, settings, methods: res.methods, seeds: res.seeds, summary: res.summary, rows: res.rows, seconds: res.seconds, saved }));
    return 0;
  }
  console.log(`qwasm adapt: ${sourceName} → ${targetName}, ${settings.model}, ${res.seeds.length} seed(s), ${recipe.steps} steps × (${recipe.batchSize} source + ${recipe.batchSize} target), build ${rt.build}, ${res.seconds.toFixed(1)} s`);
  console.log(`target: ${target.description}`);
  console.log(`target labels: ${target.test ? 'used only to score the finished models (never for training or for choosing anything)' : 'none'}`);
  console.log('');
  console.log(renderAdaptTable(res, target));
  for (const f of saved) console.log(`model written to ${f}`);
  return 0;
}

export const command: Command = { summary: 'domain adaptation: labelled source + unlabelled target images (source-only vs DANN vs Deep CORAL)', usage, run };
