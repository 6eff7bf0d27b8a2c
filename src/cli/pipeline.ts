// `qwasm pipeline`: the end-to-end transfer + compression job (src/pipeline/) with progress bars, a report
// directory (report.md, report.html, report.json) and, with --json, one JSON object on stdout.
import { parseArgs, UsageError } from './args.js';
import { num } from './train.js';
import { Progress } from './progress.js';
import type { Command } from './main.js';
import { DEFAULT_SETTINGS, METHODS, METHOD_HELP, SHIPPED_SOURCES, type Method, type PipelineSettings } from '../pipeline/defaults.js';
import { runPipeline } from '../pipeline/run.js';
import { buildInfo, reportJson, writeReport } from '../pipeline/write-report.js';
import { adaptationTable, targetValue } from '../pipeline/report-md.js';

const D = DEFAULT_SETTINGS;
const usage = `usage: qwasm pipeline [flags]

Runs transfer learning + compression end to end and writes a report. With no flags: the shipped source nets
(pretrained on the ${345 - D.holdout} QuickDraw categories the target does not use) → a few-shot target of ${D.holdout} held-out
QuickDraw categories (seed ${D.holdoutSeed}, 80 train / 20 test sketches each) → fine-tuning and feature extraction vs
training from scratch → compression three ways → int8 models on the int8 kernels → ${D.outDir}/report.{md,html,json}.
  --source NAME           shipped source nets: ${Object.keys(SHIPPED_SOURCES).join(', ')} (default ${D.source})
  --teacher FILE          a teacher checkpoint instead (qwasm pretrain); needs --student too
  --student FILE          a student checkpoint instead
  --target NAME|PATH      target dataset: quickdraw, mnist, fashion-mnist, digits, a folder of IDX files or of class
                          folders (default ${D.target})
  --holdout N             use N classes of the target dataset held out by seed (default ${D.holdout} for quickdraw, else 0 = all)
  --holdout-seed S        default ${D.holdoutSeed}
  --shots K               training images per target class (default: all the split gives)
  --test-per-class K      test images per class (default: all)
  --methods A,B,...       any of ${METHODS.join(', ')} (default all)
  --epochs N              fine-tune / from-scratch epochs (default ${D.epochs})
  --compress-epochs N     compression epochs on the target (default ${D.compressEpochs})
  --source-epochs N       method 1: compression epochs on the source data (default ${D.sourceEpochs})
  --source-per-class K    method 1: source images per class (default ${D.sourcePerClass})
  --head-epochs N         linear head on cached features (default ${D.headEpochs})
  --batch N               default ${D.batch}
  --lr X                  fine-tune / scratch / joint learning rate (default ${D.lr})
  --lr-factor X           discriminative LR factor between layer groups when fine-tuning (default ${D.lrFactor})
  --compress-lr X         learning rate of compression after transfer (default ${D.compressLr})
  --shift N               random shifts of ±N pixels (default ${D.shift})
  --sparsity X            target sparsity of the student's pruned layers (default ${D.sparsity}; 0 = no pruning)
  --temperature X         distillation temperature (default ${D.temperature})
  --alpha X               distillation weight (default ${D.alpha})
  --seed N                default ${D.seed}
  --latency-rounds N      interleaved latency rounds (default ${D.latencyRounds})
  --latency-runs N        batch-1 runs per round (default ${D.latencyRuns})
  --adapt A,B             domain adaptation variants, dann and/or coral (with --unlabeled): the teacher trained on
                          the target while adapting to unlabelled images of the same classes from another domain,
                          beside source-only (same loop, no adaptation term); the report scores each on the target
                          test set and on the unlabelled domain's held-out labelled images, if it has labels
                          (used only to score: never for training or choosing)
  --unlabeled NAME|PATH   the unlabelled domain: a dataset name, a folder of class sub-folders, or a flat folder
  --adapt-steps N         adaptation steps (default: epochs × ⌊train images / batch⌋)
  --out DIR               report directory (default ./${D.outDir}); the int8 models are written there too (.qwm)
  --no-models             do not write the .qwm files
  --build NAME            auto (default), scalar, simd, relaxed
  --json                  print one JSON object (settings, variants [{ name, accuracy, bytes, latencyMs, … }], targets)
  --quiet                 no progress output
Methods:
${METHODS.map((m) => `  ${m.padEnd(18)} ${METHOD_HELP[m]}`).join('\n')}`;

const FLAGS = {
  source: 'string', teacher: 'string', student: 'string', target: 'string', holdout: 'string', 'holdout-seed': 'string', shots: 'string',
  'test-per-class': 'string', methods: 'string', epochs: 'string', 'compress-epochs': 'string', 'source-epochs': 'string',
  'source-per-class': 'string', 'head-epochs': 'string', batch: 'string', lr: 'string', 'lr-factor': 'string', 'compress-lr': 'string',
  shift: 'string', sparsity: 'string', temperature: 'string', alpha: 'string', seed: 'string', 'latency-rounds': 'string',
  'latency-runs': 'string', adapt: 'string', unlabeled: 'string', unlabelled: 'string', 'adapt-steps': 'string', out: 'string', 'no-models': 'boolean', build: 'string', json: 'boolean', quiet: 'boolean', help: 'boolean', h: 'boolean',
} as const;

/** Shell-quotes one argument (for the recorded command line). */
const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Settings overrides from the flags. */
export function settingsFromFlags(flags: Record<string, string | boolean>): Partial<PipelineSettings> {
  const o: Partial<PipelineSettings> = {};
  if (flags.source) o.source = String(flags.source);
  if (!!flags.teacher !== !!flags.student) throw new UsageError('--teacher and --student go together');
  if (flags.teacher) { o.teacherFile = String(flags.teacher); o.studentFile = String(flags.student); if (!flags.source) o.source = 'custom'; }
  if (flags.target) o.target = String(flags.target);
  if (flags.target && String(flags.target).toLowerCase() !== 'quickdraw' && flags.holdout === undefined) o.holdout = 0;
  const ints: [string, keyof PipelineSettings][] = [['holdout', 'holdout'], ['holdout-seed', 'holdoutSeed'], ['shots', 'shots'], ['test-per-class', 'testPerClass'],
    ['epochs', 'epochs'], ['compress-epochs', 'compressEpochs'], ['source-epochs', 'sourceEpochs'], ['source-per-class', 'sourcePerClass'],
    ['head-epochs', 'headEpochs'], ['batch', 'batch'], ['shift', 'shift'], ['seed', 'seed'], ['latency-rounds', 'latencyRounds'], ['latency-runs', 'latencyRuns']];
  for (const [f, k] of ints) if (flags[f] !== undefined) (o as Record<string, number>)[k] = num(flags, f, 0, true);
  const floats: [string, keyof PipelineSettings][] = [['lr', 'lr'], ['lr-factor', 'lrFactor'], ['compress-lr', 'compressLr'], ['sparsity', 'sparsity'], ['temperature', 'temperature'], ['alpha', 'alpha']];
  for (const [f, k] of floats) if (flags[f] !== undefined) (o as Record<string, number>)[k] = num(flags, f, 0);
  if (flags.methods) {
    const list = String(flags.methods).split(',').map((s) => s.trim()).filter(Boolean);
    for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new UsageError(`unknown method '${m}' (one of ${METHODS.join(', ')})`);
    o.methods = list as Method[];
  }
  if (flags.adapt) {
    const list = String(flags.adapt).split(',').map((m) => m.trim().toLowerCase()).filter(Boolean);
    for (const m of list) if (m !== 'dann' && m !== 'coral') throw new UsageError(`unknown method '${m}' for --adapt (dann, coral)`);
    o.adapt = [...new Set(list)] as ('dann' | 'coral')[];
  }
  const unl = flags.unlabeled ?? flags.unlabelled;
  if (unl) o.unlabeled = String(unl);
  if (o.adapt?.length && !o.unlabeled) throw new UsageError('--adapt needs --unlabeled (the unlabelled images to adapt to)');
  if (o.unlabeled && !o.adapt?.length) throw new UsageError('--unlabeled needs --adapt dann,coral');
  if (flags['adapt-steps'] !== undefined) o.adaptSteps = num(flags, 'adapt-steps', 0, true);
  if (flags.out) o.outDir = String(flags.out);
  if (flags['no-models']) o.saveModels = false;
  return o;
}

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const over = settingsFromFlags(flags);
  const json = !!flags.json, quiet = json || !!flags.quiet;
  const command = ['qwasm', 'pipeline', ...argv].map(quote).join(' ');
  let bar: Progress | null = null;
  const log = (s: string) => { if (!quiet) process.stderr.write(`${s}\n`); };
  const t0 = performance.now();
  const result = await runPipeline(over, {
    build: (flags.build as 'auto') ?? 'auto',
    onStage: (name, i, n) => { bar?.done(); log(`[${i}/${n}] ${name}`); bar = new Progress(`  ${name}`, quiet); },
    onProgress: (_stage, p) => bar?.update(p.step, p.total, p.fields, p.seconds),
    onStageDone: (_name, summary, secs) => { bar?.done(); bar = null; log(`  → ${summary} (${secs.toFixed(1)} s)`); },
  });
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

export const command: Command = { summary: 'transfer learning + compression end to end, with a report (the main job)', usage, run };
