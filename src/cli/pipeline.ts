// `qwasm pipeline`: the end-to-end transfer + compression job (src/pipeline/) with progress bars, a report
// directory (report.md, report.html, report.json) and, with --json, one JSON object on stdout.
import { Args, FLAGS, UsageError, flag, type CommandSpec, type FlagDef, type FlagValues } from './args.js';
import { checkOutputDir } from './files.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';
import { DEFAULT_SETTINGS, METHODS, METHOD_HELP, SHIPPED_SOURCES, type Method, type PipelineSettings } from '../pipeline/defaults.js';
import { runPipeline, type PipelineHooks } from '../pipeline/run.js';
import { buildInfo, reportJson, writeReport } from '../pipeline/write-report.js';
import { adaptationTable, targetValue } from '../pipeline/report-md.js';
import { MNV2_DEFAULTS, type Mnv2Settings } from '../pipeline/mnv2-settings.js';
import { runMobilenetV2Pipeline } from '../pipeline/mnv2-run.js';
import { writeMnv2Report } from '../pipeline/mnv2-report.js';

const D = DEFAULT_SETTINGS;
const M = MNV2_DEFAULTS;
const n = (help: string, min = 0): FlagDef => ({ type: 'string', value: 'N', help, num: { int: true, min } });
const x = (help: string): FlagDef => ({ type: 'string', value: 'X', help, num: { above: 0 } });

const spec: CommandSpec = {
  name: 'pipeline',
  summary: 'transfer learning + compression end to end, with a report (the main job)',
  synopsis: ['qwasm pipeline [flags]'],
  about: `Runs transfer learning + compression end to end and writes a report. With no flags: the shipped source nets
(pretrained on the ${345 - D.holdout} QuickDraw categories the target does not use) → a few-shot target of ${D.holdout} held-out
QuickDraw categories (seed ${D.holdoutSeed}, 80 train / 20 test sketches each) → fine-tuning and feature extraction vs
training from scratch → compression three ways → int8 models on the int8 kernels → ${D.outDir}/report.{md,html,json}.`,
  sections: [['', {
    source: { type: 'string', value: 'NAME', help: `shipped source nets: ${Object.keys(SHIPPED_SOURCES).join(', ')} (default ${D.source}), or mobilenetv2:\nnsfwjs' ImageNet MobileNetV2 on a photo target (flags below; docs/PIPELINE-MOBILENETV2.md)` },
    teacher: flag('teacher', 'a teacher checkpoint instead (qwasm pretrain); needs --student too'),
    student: { type: 'string', value: 'FILE', help: 'a student checkpoint instead' },
    target: { type: 'string', value: 'NAME|PATH', help: `target dataset: quickdraw, mnist, fashion-mnist, digits, a folder of IDX files or of class\nfolders (default ${D.target})` },
    holdout: n(`use N classes of the target dataset held out by seed (default ${D.holdout} for quickdraw, else 0 = all)`),
    'holdout-seed': { ...n(`default ${D.holdoutSeed}`), value: 'S' },
    shots: { ...n('training images per target class (default: all the split gives)', 1), value: 'K' },
    'test-per-class': { ...n('test images per class (default: all)', 1), value: 'K' },
    methods: { type: 'string', value: 'A,B,...', help: `any of ${METHODS.join(', ')} (default all)` },
    epochs: flag('epochs', `fine-tune / from-scratch epochs (default ${D.epochs})`),
    'compress-epochs': n(`compression epochs on the target (default ${D.compressEpochs})`),
    'source-epochs': n(`method 1: compression epochs on the source data (default ${D.sourceEpochs})`),
    'source-per-class': { ...n(`method 1: source images per class (default ${D.sourcePerClass})`, 1), value: 'K' },
    'head-epochs': n(`linear head on cached features (default ${D.headEpochs})`),
    batch: flag('batch', `batch size (default ${D.batch})`),
    lr: flag('lr', `fine-tune / scratch / joint learning rate (default ${D.lr})`),
    'lr-factor': x(`discriminative LR factor between layer groups when fine-tuning (default ${D.lrFactor})`),
    'compress-lr': x(`learning rate of compression after transfer (default ${D.compressLr})`),
    shift: flag('shift', `random shifts of ±N pixels (default ${D.shift})`),
    sparsity: flag('sparsity', `target sparsity of the student's pruned layers (default ${D.sparsity}; 0 = no pruning;\nmobilenetv2: channel pruning during QAT on top of the L1 narrowing, default ${M.sparsity})`),
    temperature: flag('temperature', `distillation temperature (default ${D.temperature})`),
    alpha: flag('alpha', `distillation weight (default ${D.alpha})`),
    seed: flag('seed', `random seed (default ${D.seed})`),
    'latency-rounds': n(`interleaved latency rounds (default ${D.latencyRounds})`, 1),
    'latency-runs': n(`batch-1 runs per round (default ${D.latencyRuns})`, 1),
    adapt: { type: 'string', value: 'A,B', help: 'domain adaptation variants, dann and/or coral (with --unlabeled): the teacher trained on\nthe target while adapting to unlabelled images of the same classes from another domain,\nbeside source-only (same loop, no adaptation term); the report scores each on the target\ntest set and on the unlabelled domain\'s held-out labelled images, if it has labels' },
    unlabeled: { type: 'string', value: 'NAME|PATH', help: 'the unlabelled domain: a dataset name, a folder of class sub-folders, or a flat folder' },
    unlabelled: { type: 'string', value: 'NAME|PATH', help: 'the same as --unlabeled' },
    'adapt-steps': n('adaptation steps (default: epochs × ⌊train images / batch⌋)', 1),
    'input-size': { ...n(`mobilenetv2: input px (default ${M.inputSize})`, 32), value: 'PX' },
    cut: { type: 'string', value: 'LAYER', help: `mobilenetv2: the teacher's Keras cut layer (default ${M.cut})` },
    'student-cut': { type: 'string', value: 'LAYER', help: `mobilenetv2: the student keeps the teacher's layers up to this one (default ${M.studentCut})` },
    'student-drop': { type: 'string', value: 'B,C', help: `mobilenetv2: residual blocks the student leaves out (Keras names; none keeps\nevery block; default ${M.studentDrop.join(',') || 'none'}): each block's x + f(x) becomes x, distillation learns f back` },
    'student-keep': { type: 'string', value: 'F,G', help: `mobilenetv2: student channel fractions kept by filter L1 norm; validation picks the\nnarrowest within 2 points of the teacher (default ${M.studentKeep.join(',')})` },
    'student-multiple': n(`mobilenetv2: the student's kept channels per layer rounded to a multiple of this (default\n${M.studentMultiple}: the int8 kernels' SIMD width, whose channel tails run slower; 1 = none)`, 1),
    'student-size': { ...n(`mobilenetv2: the student's input px (default: --input-size); smaller: the teacher distils at its own size`, 16), value: 'PX' },
    'transfer-set': { type: 'string', value: 'SET', help: `mobilenetv2: unlabelled images the student also learns the teacher's outputs on:\nauto (Tux Paint's other photo stamps / Fashion-MNIST train images outside the shots), none,\nor a folder (default ${M.transferSet})` },
    'student-lr': flag('lr', `mobilenetv2: the student's QAT + distillation learning rate (default ${M.studentLr})`),
    'transfer-max': n(`mobilenetv2: at most this many transfer images (default ${M.transferMax}; 0 = all)`),
    folds: n(`mobilenetv2: cross-validation folds (default ${M.folds}; 0 = one fixed split; Fashion-MNIST: fixed)`),
    repeats: n(`mobilenetv2: cross-validation repeats (default ${M.repeats})`, 1),
    'scratch-epochs': n(`mobilenetv2: from-scratch epochs (default ${M.scratchEpochs})`, 1),
    'student-epochs': n(`mobilenetv2: student QAT + distillation epochs (default ${M.studentEpochs})`, 1),
    'scratch-splits': n(`mobilenetv2: splits scratch training runs on (default ${M.scratchSplits}; 0 = all)`),
    'student-splits': n(`mobilenetv2: splits the student runs on (default ${M.studentSplits}; 0 = all)`),
    'no-flip-copies': { type: 'boolean', help: 'mobilenetv2: do not cache a flipped copy of every image' },
    out: { ...FLAGS.out, value: 'DIR', help: `report directory (default ./${D.outDir}); the int8 models are written there too (.qwm)` },
    'no-models': { type: 'boolean', help: 'do not write the .qwm files' },
    build: FLAGS.build, threads: FLAGS.threads,
    json: { ...FLAGS.json, help: 'print one JSON object (settings, variants [{ name, accuracy, bytes, latencyMs, … }], targets)' },
    quiet: FLAGS.quiet,
  }]],
  footer: `Methods:\n${METHODS.map((m) => `  ${m.padEnd(18)} ${METHOD_HELP[m]}`).join('\n')}`,
};

/** Shell-quotes one argument (for the recorded command line). */
const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Settings overrides from the flags. */
export function settingsFromFlags(flags: Args | FlagValues): Partial<PipelineSettings> {
  // a plain record of flag values (as parsed) is accepted too, e.g. by tests
  const args = flags instanceof Args ? flags : new Args(spec, flags, []);
  const o: Partial<PipelineSettings> = {};
  const source = args.str('source'), teacher = args.str('teacher'), student = args.str('student'), target = args.str('target');
  if (source) o.source = source;
  if (!!teacher !== !!student) throw new UsageError('--teacher and --student go together');
  if (teacher) { o.teacherFile = teacher; o.studentFile = student; if (!source) o.source = 'custom'; }
  if (target) o.target = target;
  if (target && target.toLowerCase() !== 'quickdraw' && !args.has('holdout')) o.holdout = 0;
  const nums: [string, keyof PipelineSettings][] = [['holdout', 'holdout'], ['holdout-seed', 'holdoutSeed'], ['shots', 'shots'], ['test-per-class', 'testPerClass'],
    ['epochs', 'epochs'], ['compress-epochs', 'compressEpochs'], ['source-epochs', 'sourceEpochs'], ['source-per-class', 'sourcePerClass'],
    ['head-epochs', 'headEpochs'], ['batch', 'batch'], ['shift', 'shift'], ['seed', 'seed'], ['latency-rounds', 'latencyRounds'], ['latency-runs', 'latencyRuns'],
    ['lr', 'lr'], ['lr-factor', 'lrFactor'], ['compress-lr', 'compressLr'], ['sparsity', 'sparsity'], ['temperature', 'temperature'], ['alpha', 'alpha']];
  for (const [f, k] of nums) if (args.has(f)) (o as Record<string, number>)[k] = args.num(f, 0);
  const methods = args.str('methods');
  if (methods) {
    const list = methods.split(',').map((s) => s.trim()).filter(Boolean);
    for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new UsageError(`--methods: unknown method '${m}' (one of ${METHODS.join(', ')})`);
    o.methods = list as Method[];
  }
  const adapt = args.str('adapt');
  if (adapt) {
    const list = adapt.split(',').map((m) => m.trim().toLowerCase()).filter(Boolean);
    for (const m of list) if (m !== 'dann' && m !== 'coral') throw new UsageError(`unknown method '${m}' for --adapt (dann, coral)`);
    o.adapt = [...new Set(list)] as ('dann' | 'coral')[];
  }
  const unl = args.str('unlabeled') ?? args.str('unlabelled');
  if (unl) o.unlabeled = unl;
  if (o.adapt?.length && !o.unlabeled) throw new UsageError('--adapt needs --unlabeled (the unlabelled images to adapt to)');
  if (o.unlabeled && !o.adapt?.length) throw new UsageError('--unlabeled needs --adapt dann,coral');
  if (args.has('adapt-steps')) o.adaptSteps = args.num('adapt-steps', 0);
  const out = args.str('out');
  if (out) o.outDir = out;
  if (args.bool('no-models')) o.saveModels = false;
  return o;
}

/** Flags of the QuickDraw pipeline that mean nothing with --source mobilenetv2. */
const QUICKDRAW_ONLY = ['teacher', 'student', 'holdout', 'holdout-seed', 'methods', 'compress-epochs', 'source-epochs', 'source-per-class', 'compress-lr', 'shift', 'adapt', 'unlabeled', 'unlabelled', 'adapt-steps'];
const MNV2_ONLY = ['input-size', 'cut', 'student-cut', 'student-keep', 'folds', 'repeats', 'scratch-epochs', 'student-epochs', 'scratch-splits', 'student-splits', 'no-flip-copies', 'student-size', 'transfer-set', 'transfer-max', 'student-lr', 'student-multiple', 'student-drop'];

/** Settings of the MobileNetV2 pipeline from the flags. */
export function mnv2SettingsFromFlags(flags: Args | FlagValues): Partial<Mnv2Settings> {
  const args = flags instanceof Args ? flags : new Args(spec, flags, []);
  for (const f of QUICKDRAW_ONLY) if (args.has(f)) throw new UsageError(`--${f} does not apply to --source mobilenetv2`);
  const o: Partial<Mnv2Settings> = {};
  const str: [string, 'target' | 'cut' | 'studentCut' | 'outDir' | 'transferSet'][] = [['target', 'target'], ['cut', 'cut'], ['student-cut', 'studentCut'], ['out', 'outDir'], ['transfer-set', 'transferSet']];
  for (const [f, k] of str) { const v = args.str(f); if (v) o[k] = v; }
  const nums: [string, keyof Mnv2Settings][] = [['input-size', 'inputSize'], ['shots', 'shots'], ['test-per-class', 'testPerClass'], ['folds', 'folds'], ['repeats', 'repeats'],
    ['epochs', 'epochs'], ['head-epochs', 'headEpochs'], ['scratch-epochs', 'scratchEpochs'], ['student-epochs', 'studentEpochs'], ['batch', 'batch'], ['lr', 'lr'],
    ['lr-factor', 'lrFactor'], ['sparsity', 'sparsity'], ['temperature', 'temperature'], ['alpha', 'alpha'], ['seed', 'seed'], ['scratch-splits', 'scratchSplits'],
    ['student-splits', 'studentSplits'], ['latency-rounds', 'latencyRounds'], ['latency-runs', 'latencyRuns'], ['student-size', 'studentSize'], ['transfer-max', 'transferMax'], ['student-lr', 'studentLr'], ['student-multiple', 'studentMultiple']];
  for (const [f, k] of nums) if (args.has(f)) (o as Record<string, number>)[k] = args.num(f, 0);
  if (args.has('folds') && o.folds !== 0 && o.folds! < 2) throw new UsageError('--folds: 0 (one fixed split) or at least 2');
  const drop = args.str('student-drop');
  if (drop !== undefined) {
    o.studentDrop = drop.split(',').map((x) => x.trim()).filter((x) => x && x !== 'none');
    for (const b of o.studentDrop) if (!/^block_\d+$/.test(b)) throw new UsageError(`--student-drop: Keras block names like block_2, got '${b}'`);
  }
  const keep = args.str('student-keep');
  if (keep) {
    o.studentKeep = keep.split(',').map((x) => Number(x.trim()));
    for (const k of o.studentKeep) if (!(k > 0 && k <= 1)) throw new UsageError(`--student-keep: fractions in (0, 1], got '${keep}'`);
  }
  if (args.bool('no-flip-copies')) o.flipCopies = false;
  if (args.bool('no-models')) o.saveModels = false;
  return o;
}

/** --json / --quiet, the recorded command line, and progress bars (with ETA) per stage on stderr. */
function runHooks(args: Args, argv: string[]): { json: boolean; command: string; hooks: PipelineHooks } {
  const json = args.bool('json'), quiet = json || args.bool('quiet');
  const command = ['qwasm', 'pipeline', ...argv].map(quote).join(' ');
  let bar: Progress | null = null;
  const log = (s: string) => { if (!quiet) process.stderr.write(`${s}\n`); };
  return {
    json, command, hooks: {
      build: (args.str('build') ?? 'auto') as 'auto', threads: args.num('threads'),
      onStage: (name, i, n) => { bar?.done(); log(`[${i}/${n}] ${name}`); bar = new Progress(`  ${name}`, quiet); },
      onProgress: (_stage, p) => bar?.update(p.step, p.total, p.fields, p.seconds),
      onStageDone: (_name, summary, secs) => { bar?.done(); bar = null; log(`  → ${summary} (${secs.toFixed(1)} s)`); },
    },
  };
}

async function runMnv2(args: Args, argv: string[]): Promise<number> {
  const over = mnv2SettingsFromFlags(args);
  checkOutputDir('--out', over.outDir ?? M.outDir);
  const { json, command, hooks } = runHooks(args, argv);
  const result = await runMobilenetV2Pipeline(over, hooks);
  const meta = { command, ...buildInfo() };
  const files = writeMnv2Report(result.settings.outDir, result, meta);
  if (json) { console.log(JSON.stringify({ qwasm: meta.version, commit: meta.commit, command, ...result })); return 0; }
  console.log(`qwasm pipeline --source mobilenetv2: ${result.variants.length} variants in ${result.seconds.toFixed(1)} s (build ${result.build}, ${result.threads} thread(s), load ${result.loadAverage.join(' / ')})`);
  for (const v of result.variants) {
    console.log(`  ${v.name.padEnd(70)} ${(100 * v.score.accuracy).toFixed(2).padStart(6)} % (${(100 * v.score.ci.lo).toFixed(1)}–${(100 * v.score.ci.hi).toFixed(1)})  ${v.bytes === null ? '' : `${v.bytes} B`}  ${v.latencyMs === null ? '' : `${v.latencyMs.toFixed(3)} ms`}`);
  }
  console.log('targets:');
  for (const c of result.comparisons) console.log(`  ${c.name.padEnd(44)} ${c.value === null ? '–' : `${c.value.toFixed(2)} ${c.unit}`}  ${c.goal}${c.met === null ? '' : c.met ? '  met' : '  NOT met'}`);
  console.log(`report: ${files.markdown}, ${files.html}, ${files.json}`);
  return 0;
}

async function run(args: Args, argv: string[]): Promise<number> {
  if (args.str('source')?.toLowerCase() === 'mobilenetv2') return runMnv2(args, argv);
  for (const f of MNV2_ONLY) if (args.has(f)) throw new UsageError(`--${f} needs --source mobilenetv2`);
  const over = settingsFromFlags(args);
  checkOutputDir('--out', over.outDir ?? D.outDir);
  const { json, command, hooks } = runHooks(args, argv);
  const t0 = performance.now();
  const result = await runPipeline(over, hooks);
  const info = buildInfo();
  const meta = { command, ...info };
  const files = writeReport(result.settings.outDir, result, meta);
  if (json) { console.log(JSON.stringify(reportJson(result, meta))); return 0; }
  console.log(`qwasm pipeline: ${result.variants.length} variants in ${((performance.now() - t0) / 1000).toFixed(1)} s (build ${result.build})`);
  for (const v of result.variants) {
    console.log(`  ${v.name.padEnd(44)} ${(100 * v.accuracy).toFixed(2).padStart(6)} %  ${String(v.bytes).padStart(8)} B  ${v.latencyMs.toFixed(3).padStart(8)} ms`);
  }
  const ad = adaptationTable(result);
  if (ad) {
    console.log(`domain adaptation (${ad.note})`);
    for (const row of ad.rows) console.log(`  ${row[0].padEnd(44)} target ${row[1].padStart(6)} %  unlabelled domain ${row[2]}  gain ${row[3]}`);
  }
  console.log('targets:');
  for (const t of result.targets) console.log(`  ${t.name.padEnd(44)} ${targetValue(t).padStart(14)}  ${t.goal}${t.met === null ? '' : t.met ? '  met' : '  NOT met'}`);
  console.log(`report: ${files.markdown}, ${files.html}, ${files.json}`);
  return 0;
}

export const command: Command = { spec, run };
