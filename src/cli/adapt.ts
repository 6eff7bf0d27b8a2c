// `qwasm adapt`: unsupervised domain adaptation from the command line — labelled source images, unlabelled target
// images of the same classes; source-only vs DANN vs Deep CORAL under one fixed recipe over several seeds
// (src/transfer/adapt-run.ts), scored on the target's labels only when it has some.
import { loadRuntime } from '../runtime.js';
import { Engine } from '../autograd/tensor.js';
import { Sequential } from '../nn/layers.js';
import { buildModel, MODEL_NAMES, type ModelOptions } from '../nn/models.js';
import { loadDataset } from '../data/registry.js';
import { stratifiedSubset, subset, type Dataset } from '../data/dataset.js';
import { saveModel, type ModelRecord } from '../train/model-file.js';
import { decodeCheckpoint } from '../checkpoint/index.js';
import { loadPretrained } from '../transfer/finetune.js';
import { ADAPT_METHODS, type AdaptMethod } from '../transfer/adapt.js';
import { ADAPT_RECIPE, runAdaptation, type AdaptRunResult, type AdaptMethodSummary, type Scored } from '../transfer/adapt-run.js';
import type { Spread } from '../train/intervals.js';
import { loadUnlabelledTarget, targetFolds, type TargetFolds, type UnlabelledTarget } from '../pipeline/data.js';
import { loadForMobilenetV2, mobilenetV2Top, MNV2_ADAPT_RECIPE, type MobilenetV2Top } from '../pipeline/mnv2-adapt.js';
import { MNV2_DEFAULTS } from '../pipeline/mnv2-settings.js';
import { TEACHER_SOURCE } from '../pipeline/mnv2-teacher.js';
import { FLAGS, UsageError, flag, type Args, type CommandSpec, type FlagDef } from './args.js';
import { checkOutputFile, expectKind, readInput } from './files.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';

const R = ADAPT_RECIPE;
const M = { ...ADAPT_RECIPE, ...MNV2_ADAPT_RECIPE };
const int = (value: string, help: string, min: number, max?: number): FlagDef => ({ type: 'string', value, help, num: { int: true, min, ...(max !== undefined ? { max } : {}) } });

const spec: CommandSpec = {
  name: 'adapt',
  summary: 'domain adaptation: labelled source + unlabelled target images (source-only vs DANN vs Deep CORAL)',
  synopsis: ['qwasm adapt --source NAME|PATH --unlabeled NAME|PATH [flags]'],
  about: `Unsupervised domain adaptation: a model learns the classes from labelled source images while adapting to
unlabelled target images of the same classes from another domain (other scanner, sketches vs photos…).
Runs source-only (the baseline) and the chosen methods with the same model, batches, optimiser and steps, for
each seed, and prints target accuracy per method: mean ± sd, min/max over seeds, 95 % intervals, the gain
over source-only per seed.

Target labels are never used for training or for choosing anything: the recipe is fixed in advance and the
model of the last step is kept. If the target has labels (a built-in dataset, a folder of class sub-folders),
they only score the finished models, on held-out target images (and on the adaptation images afterwards).`,
  sections: [['', {
    source: { type: 'string', value: 'NAME|PATH', help: 'labelled source: mnist, fashion-mnist, quickdraw, digits, quickdraw-natural, or a folder\n(IDX files or class sub-folders)' },
    unlabeled: { type: 'string', value: 'NAME|PATH', help: 'target images: a dataset name (its train split is used without labels, its test split\nscores), a folder of class sub-folders (same), or a folder of images (no labels)' },
    unlabelled: { type: 'string', value: 'NAME|PATH', help: 'the same as --unlabeled' },
    target: { type: 'string', value: 'NAME|PATH', help: 'the same as --unlabeled' },
    'target-test': { type: 'string', value: 'NAME|PATH', help: 'labelled target images to score on (their test split), e.g. when --unlabeled has no labels' },
    method: { type: 'string', value: 'A,B,...', help: `any of ${ADAPT_METHODS.join(', ')} (default dann,coral; source-only always runs)` },
    methods: { type: 'string', value: 'A,B,...', help: 'the same as --method' },
    model: { type: 'string', value: 'NAME', help: `${MODEL_NAMES.join(', ')} (default refcnn), trained from random weights; or mobilenetv2:\nthe ImageNet MobileNetV2 (nsfwjs), its frozen part computed once per image, its top blocks\n+ a new head adapted (both domains at --size px RGB on white; docs/ADAPTATION.md)` },
    init: { type: 'string', value: 'FILE', help: 'start from a pretrained checkpoint (qwasm pretrain / train --out) with a new head instead' },
    width: int('N', 'resnet / mobilenet width (default 16)', 1, 4096),
    size: int('N', 'image size (default: the --init model\'s input, mobilenetv2 96, else 28)', 8, 1024),
    channels: { type: 'string', value: 'C', help: 'image channels: 1 or 3 (default: the --init model\'s, else 1)', choices: ['1', '3'] },
    seeds: { type: 'string', value: 'N|A,B,...', help: 'N seeds 1..N, or a list (default 1)' },
    folds: int('K', 'cross-validate a small labelled target: its images in K stratified folds, the i-th seed\nadapts on K−1 of them and is scored on the other (all images tested once with K seeds)', 2, 100),
    steps: int('N', `optimiser steps, each one source and one target batch (default ${R.steps}; mobilenetv2 ${M.steps})`, 1),
    batch: flag('batch', `per-domain batch (default ${R.batchSize}; mobilenetv2 ${M.batchSize})`),
    lr: flag('lr', `SGD momentum 0.9, annealed lr/(1+10p)^0.75 (default ${R.lr}; mobilenetv2 ${M.lr}, its new layers 10×)`),
    'dann-weight': { type: 'string', value: 'X', help: `maximum of DANN's gradient-reversal factor λ_p = X·(2/(1+e^(−10p)) − 1) (default ${R.dannWeight};\nmobilenetv2 ${M.dannWeight})`, num: { min: 0 } },
    'coral-weight': { type: 'string', value: 'X', help: `Deep CORAL weight (default ${R.coralWeight}; mobilenetv2 ${M.coralWeight})`, num: { min: 0 } },
    shift: flag('shift', `random shifts of ±N pixels (default ${R.shift})`),
    centre: { type: 'boolean', help: 'frame the target images like MNIST (ink in a 20×20 box, centred by mass; grey only)' },
    center: { type: 'boolean', help: 'the same as --centre' },
    invert: { type: 'boolean', help: 'invert the target images (dark ink on light → light on dark)' },
    'source-limit': int('K', 'at most K source training images per class', 1),
    'target-limit': int('K', 'at most K target images per class for adaptation (labelled targets) or K in all', 1),
    'source-test': int('N', 'score the first N source test images too (default 2000; 0 = no)', 0),
    out: flag('out', 'save the trained model (first seed) of the adaptation method: FILE with one method,\nFILE with .METHOD before the extension with several (checked before any work)'),
    build: FLAGS.build, threads: FLAGS.threads,
    json: { ...FLAGS.json, help: 'print one JSON object (settings, per-run rows, per-method summary)' }, quiet: FLAGS.quiet,
  }]],
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
const scoredText = (s: Omit<Scored, 'confusion'> | null) => (s ? `${pct(s.accuracy)} (${pct(s.ci.lo)}–${pct(s.ci.hi)})` : '–');
const pooledText = (s: AdaptMethodSummary) => (s.pooled ? `${pct(s.pooled.balancedAccuracy)} | ${s.pooled.mostPredicted.class} ${pct(s.pooled.mostPredicted.share)} %` : '– | –');

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
  L.push(`| method | target test % mean ± sd [min, max] over ${n} seed(s) | 95 % CI of the mean (seeds) | mean, 95 % Wilson over the test images | gain over source-only, points: mean [min, max] | wins | balanced % mean ± sd | balanced %, all predictions | most predicted class (share) | adaptation set % (transductive) | source test % |`);
  L.push('|---|---|---|---|---|---:|---|---|---|---|---|');
  for (const s of r.summary) {
    const gain = s.gain ? `${s.gain.mean >= 0 ? '+' : ''}${pct(s.gain.mean)} [${pct(s.gain.min)}, ${pct(s.gain.max)}]` : '—';
    L.push(`| ${s.method} | ${spreadText(s.targetTest)} | ${ciText(s.targetTest)} | ${scoredText(s.meanScore)} | ${gain} | ${s.wins === null ? '—' : `${s.wins}/${n}`} | ${spreadText(s.balanced)} | ${pooledText(s)} | ${spreadText(s.adaptationSet)} | ${spreadText(s.sourceTest)} |`);
  }
  L.push('', `Balanced accuracy: the mean recall of the ${r.classes.length} classes (chance ${pct(1 / r.classes.length)} %), which a model cannot raise by predicting the largest class.`);
  L.push('', 'Per seed, target test % (95 % Wilson over its test images):', '');
  L.push(`| seed | ${r.methods.join(' | ')} |`, `|---:|${r.methods.map(() => '---').join('|')}|`);
  for (const seed of r.seeds) {
    const fold = r.rows.find((x) => x.seed === seed)?.fold;
    L.push(`| ${seed}${fold ? ` (${fold})` : ''} | ${r.methods.map((m) => scoredText(r.rows.find((x) => x.seed === seed && x.method === m)?.targetTest ?? null)).join(' | ')} |`);
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

type InitModel = { name: string; config?: ModelOptions };

/** The model description in --init's checkpoint (its architecture and input). */
function readInitModel(init: string): InitModel {
  const bytes = readInput('--init', init);
  expectKind('adapt --init', init, bytes, ['checkpoint', 'other']);
  const m = (decodeCheckpoint(bytes, init).meta.model ?? null) as InitModel | null;
  if (!m || typeof m.name !== 'string') throw new UsageError(`--init ${init}: the checkpoint has no model description (save it with qwasm train --out or qwasm pretrain)`);
  return m;
}

/** --model mobilenetv2: flags that have no meaning on RGB photos through a cached frozen prefix. */
function checkMobilenetV2Flags(args: Args): void {
  for (const f of ['centre', 'center', 'invert']) if (args.has(f)) throw new UsageError(`--${f} frames grey 28-px images; --model mobilenetv2 reads RGB (ink drawn dark on white)`);
  if (args.num('shift', 0)) throw new UsageError('--shift would move the cached feature maps, not pixels: leave it out with --model mobilenetv2');
  if (args.has('channels') && args.str('channels') !== '3') throw new UsageError('--model mobilenetv2 takes RGB: --channels 3');
  if (args.has('width')) throw new UsageError('--width sets resnet / mobilenet widths; --model mobilenetv2 is the pretrained network as it is');
  if (args.has('out')) throw new UsageError('--out is not available with --model mobilenetv2 (the adapted top is trained on cached maps of the frozen prefix; nothing writes the whole network yet)');
}

/** The labelled source (train, limited per class; test) and the unlabelled target (+ --target-test), at one input size. */
function loadAdaptData(args: Args, sourceName: string, targetName: string, initModel: InitModel | null, net: MobilenetV2Top | null) {
  const sourceLimit = args.num('source-limit', 0), targetLimit = args.num('target-limit', 0), sourceTestN = args.num('source-test', 2000);
  const centre = args.bool('centre') || args.bool('center'), invert = args.bool('invert');
  const input0 = (initModel?.config?.input ?? [28, 28, 1]) as [number, number, number];
  const size = net ? net.inputSize : args.num('size', input0[0]), channels = Number(args.str('channels', String(net ? 3 : input0[2]))) as 1 | 3;
  const src = net ? loadForMobilenetV2(sourceName, size, net.norm) : loadDataset(sourceName, { size: [size, size], channels });
  const input: [number, number, number] = [src.train.height, src.train.width, src.train.channels];
  const source = limitPerClass(src.train, sourceLimit, 1);
  const first = (ds: Dataset, n: number) => subset(ds, Int32Array.from({ length: Math.min(n, ds.length) }, (_, i) => i));
  const sourceTest = sourceTestN ? first(src.test, sourceTestN) : null;
  // photos for the pretrained network: transparency over white, the network's normalisation
  const photo = net ? { background: 255, norm: net.norm } : {};
  const target = loadUnlabelledTarget(targetName, { input, classes: source.classes, centre, invert, ...photo });
  if (targetLimit) target.adaptation = target.labelled ? limitPerClass(target.adaptation, targetLimit, 1) : first(target.adaptation, targetLimit);
  const targetTest = args.str('target-test');
  if (targetTest) {
    const t = loadUnlabelledTarget(targetTest, { input, classes: source.classes, centre, invert, ...photo });
    if (!t.test) throw new UsageError(`--target-test ${targetTest} has no labels: give a dataset name or a folder of class sub-folders`);
    target.test = t.test;
    target.description += `; scored on the ${t.test.length} held-out labelled images of ${targetTest}`;
  }
  return { input, source, sourceTest, target };
}

type AdaptSets = { source: Dataset; sourceTest: Dataset | null; adaptation: Dataset; test: Dataset | null };

/**
 * --model mobilenetv2: every image of both domains through the frozen prefix once; the sets come back as cached
 * maps (what the top trains on).
 */
function cacheSets(net: MobilenetV2Top, sets: AdaptSets, quiet: boolean, log: (s: string) => void): { sets: AdaptSets; info: Record<string, unknown> } {
  const named: Record<string, Dataset> = { source: sets.source, adaptation: sets.adaptation };
  if (sets.sourceTest) named.sourceTest = sets.sourceTest;
  if (sets.test) named.test = sets.test;
  const bar = new Progress(`frozen prefix (up to ${net.cacheAt}), once per image`, quiet);
  const c = net.cache(named, (p) => bar.update(p.done, p.total, { 'img/s': (p.done / Math.max(1e-9, p.seconds)).toFixed(1) }, p.seconds));
  bar.done(`${c.images} images through the frozen prefix (up to ${net.cacheAt}) in ${c.seconds.toFixed(1)} s: ${c.shape.join('×')} uint8 maps, ${c.bytesPerImage} B per image`);
  log(`cache: ranges from the last frozen BatchNorm (data-free), ${(100 * c.clippedFraction).toFixed(3)} % of the values clipped`);
  const info = { at: net.cacheAt, layers: net.upTo, shape: c.shape, bytesPerImage: c.bytesPerImage, images: c.images, seconds: c.seconds, clippedFraction: c.clippedFraction };
  return { sets: { source: c.sets.source, sourceTest: c.sets.sourceTest ?? null, adaptation: c.sets.adaptation, test: c.sets.test ?? null }, info };
}

// long (~90 lines): flag checks, data (and the MobileNetV2 cache), the runs, then the report in two formats
async function run(args: Args): Promise<number> {
  const sourceName = args.str('source');
  const given = ['unlabeled', 'unlabelled', 'target'].map((f) => args.str(f)).filter((v) => v !== undefined) as string[];
  if (!sourceName) throw new UsageError('--source is required (labelled source images: a dataset name or a folder)');
  if (!given.length) throw new UsageError('--unlabeled is required (target images: a dataset name or a folder)');
  if (given.length > 1) throw new UsageError('give the target once: --unlabeled or --target');
  const targetName = given[0];
  if (args.has('method') && args.has('methods')) throw new UsageError('give --method once (--methods is the same flag)');
  const methods = parseMethods(args.str('method') ?? args.str('methods'));
  const seeds = parseSeeds(args.str('seeds'));
  const modelName = args.str('model', 'refcnn');
  const mnv2 = modelName === 'mobilenetv2';
  if (!mnv2 && !(MODEL_NAMES as readonly string[]).includes(modelName)) throw new UsageError(`unknown model '${modelName}' for --model (one of ${MODEL_NAMES.join(', ')}, mobilenetv2)`);
  const init = args.str('init');
  if (init && args.has('model')) throw new UsageError('--init brings its own architecture: leave out --model');
  if (mnv2) checkMobilenetV2Flags(args);
  const folds = args.num('folds', 0);
  if (folds && args.has('target-test')) throw new UsageError('--folds scores every run on its own fold of the target: leave out --target-test');
  if (folds && args.has('target-limit')) throw new UsageError('--folds uses every labelled target image: leave out --target-limit');
  const B = mnv2 ? M : R;
  const recipe = {
    steps: args.num('steps', B.steps), batchSize: args.num('batch', B.batchSize), lr: args.num('lr', B.lr),
    dannWeight: args.num('dann-weight', B.dannWeight), coralWeight: args.num('coral-weight', B.coralWeight), shift: args.num('shift', B.shift),
    headLrScale: B.headLrScale, domainLrScale: B.domainLrScale,
  };
  const width = args.num('width', 16);
  const out = args.str('out');
  if (out) checkOutputFile('--out', out);
  const json = args.bool('json'), quiet = json || args.bool('quiet');
  const log = (s: string) => { if (!quiet) process.stderr.write(`${s}\n`); };

  const rt = await loadRuntime({ build: (args.str('build') ?? 'auto') as 'auto', threads: args.num('threads') });
  // the input comes from --init's checkpoint, the pretrained MobileNetV2 (--size px RGB) or the source images
  const initModel = init ? readInitModel(init) : null;
  const net = mnv2 ? mobilenetV2Top(new Engine(rt), { inputSize: args.num('size', MNV2_DEFAULTS.inputSize) }) : null;
  let cacheInfo: Record<string, unknown> | null = null, sets: AdaptSets, input: [number, number, number], cv: TargetFolds | null = null, target: UnlabelledTarget;
  try {
    const d = loadAdaptData(args, sourceName, targetName, initModel, net);
    target = d.target; input = d.input;
    log(`source: ${sourceName}, ${d.source.length} labelled images, ${d.source.classes.length} classes (${d.source.classes.join(', ')})`);
    if (folds) {
      cv = targetFolds(d.target, folds);
      target = { ...d.target, description: cv.description };
    }
    log(`target: ${target.description}`);
    log(`target labels: ${target.test ? 'used only to score the finished models, never for training or selection' : 'none'}`);
    sets = { source: d.source, sourceTest: d.sourceTest, adaptation: cv ? cv.pool : d.target.adaptation, test: cv ? null : d.target.test };
    if (net) ({ sets, info: cacheInfo } = cacheSets(net, sets, quiet, log));
  } finally { net?.dispose(); }
  const source = sets.source, pool = sets.adaptation;
  const foldSets = cv ? cv.folds.map((f) => ({ name: f.name, adaptation: subset(pool, f.adaptation), test: subset(pool, f.test) })) : null;

  const records = new Map<number, ModelRecord>();
  const makeModel = (engine: Engine, seed: number): Sequential => {
    if (net) return net.makeModel(engine, seed, source.classes.length);
    if (init) {
      const { model, record } = loadPretrained(engine, init, source.classes.length, { seed });
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
    rt, source, target: foldSets ? null : sets.adaptation, targetTest: foldSets ? null : sets.test, folds: foldSets, targetLabelled: target.labelled,
    sourceTest: sets.sourceTest, methods, seeds, recipe, makeModel,
    onRunStart: (m, seed, i, count) => { bar = new Progress(`[${i}/${count}] ${m} seed ${seed}`, quiet); },
    // the adaptation term unweighted (DANN: the domain classifier's loss; CORAL: the covariance distance)
    onStep: (s) => bar?.update(s.step, s.totalSteps, { loss: s.loss.toFixed(3), task: s.taskLoss.toFixed(3), ...(s.adaptLoss ? { adapt: s.adaptLoss.toPrecision(3) } : {}), λ: s.lambda.toFixed(2), ...(s.domainAccuracy !== undefined ? { 'domain acc': s.domainAccuracy.toFixed(2) } : {}) }, s.seconds),
    onRunDone: (row) => { bar?.done(`${row.method} seed ${row.seed}${row.fold ? ` (${row.fold})` : ''}: target test ${row.targetTest ? `${pct(row.targetTest.accuracy)} %` : '– (no labels)'}${row.sourceTest ? `, source test ${pct(row.sourceTest.accuracy)} %` : ''} (${row.seconds.toFixed(1)} s)`); },
    keep: (method, seed, model) => {
      if (!out || seed !== seeds[0] || !(method === 'source-only' ? !adaptMethods.length : true)) return false;
      const file = outFileFor(out, method, adaptMethods.length > 1);
      saveModel(file, model, records.get(seed)!, { adapt: { method, seed, source: sourceName, target: targetName, recipe: { ...R, ...recipe } } });
      saved.push(file);
      return false;
    },
  });
  const modelText = initModel ? `${initModel.name} from ${init}` : net ? `mobilenetv2 (${TEACHER_SOURCE}, ImageNet; frozen up to ${net.cacheAt}, cached; its top blocks + a new head trained)` : modelName;
  const settings = { source: sourceName, target: targetName, model: modelText, input, recipe: res.recipe, folds: folds || null, cache: cacheInfo,
    sourceImages: source.length, targetImages: foldSets ? pool.length : sets.adaptation.length, targetTestImages: foldSets ? pool.length : sets.test?.length ?? 0, targetLabels: target.test ? 'scoring only' : 'none' };
  if (json) {
    console.log(JSON.stringify({ command: 'adapt', build: rt.build, settings, methods: res.methods, seeds: res.seeds, summary: res.summary, rows: res.rows, seconds: res.seconds, saved }, (_k, v) => (v instanceof Int32Array ? Array.from(v) : v)));
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

export const command: Command = { spec, run };
