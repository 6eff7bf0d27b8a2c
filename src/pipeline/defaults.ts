// The pipeline's settings and their defaults, and where the shipped source networks live. The defaults are the
// issue's main job: the source nets pretrained on the 325 QuickDraw categories the target does not use, a
// few-shot target of the 20 held-out categories (80 train / 20 test sketches each), transfer vs scratch, the
// three ways of combining compression with transfer, int8 evaluation, a report — within ~10 minutes on 2 cores.
import { DEFAULT_HOLDOUT } from './split.js';
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';
import { exists, path } from '../util/node.js';

/** Pipeline stages that can be switched on and off (--methods). */
export const METHODS = ['scratch', 'finetune', 'features', 'ptq', 'compress-transfer', 'transfer-compress', 'joint', 'joint-channel'] as const;
export type Method = typeof METHODS[number];

export const METHOD_HELP: Record<Method, string> = {
  scratch: 'teacher and student trained from random weights on the target (the baseline transfer must beat)',
  finetune: 'the pretrained teacher and student with a new head, every layer fine-tuned',
  features: 'the frozen teacher backbone as a feature extractor: a linear head, and a nearest-class-mean head',
  ptq: 'post-training int8 quantisation of the fine-tuned teacher and student (the kernel-speed reference)',
  'compress-transfer': '(1) compress the pretrained student on source data (QAT + pruning + distillation from the source teacher), then transfer it (compression kept)',
  'transfer-compress': '(2) fine-tune the student, then compress it (QAT + pruning) distilling from the transferred teacher',
  joint: '(3) one loop from the pretrained student: task loss + distillation from the transferred teacher + QAT + sparsity',
  'joint-channel': '(3) with whole channels pruned, then removed (a narrower, faster student), then int8 post-training quantisation',
};

/** The shipped source networks (models/, see models/README.md), per source dataset. */
export const SHIPPED_SOURCES: Record<string, { teacher: string; student: string; description: string }> = {
  quickdraw: {
    teacher: 'quickdraw325-resnet16.qck', student: 'quickdraw325-mobilenet16.qck',
    description: `the ${345 - DEFAULT_HOLDOUT.count} QuickDraw categories outside the default target (holdout ${DEFAULT_HOLDOUT.count}, seed ${DEFAULT_HOLDOUT.seed})`,
  },
  mnist: { teacher: 'mnist-resnet16.qck', student: 'mnist-mobilenet16.qck', description: 'MNIST (60 000 digits)' },
};

export interface PipelineSettings {
  /** A shipped source name (quickdraw, mnist) — or 'custom' with teacherFile / studentFile. */
  source: string;
  teacherFile: string;
  studentFile: string;
  /** Target dataset: a loadDataset name or a path (IDX folder, class folders). */
  target: string;
  /** Held-out classes of the target dataset (0 = every class). */
  holdout: number;
  holdoutSeed: number;
  /** Training images per target class (0 = every one the split gives). */
  shots: number;
  /** Test images per target class (0 = every one). */
  testPerClass: number;
  methods: Method[];
  /** Fine-tune / from-scratch epochs. */
  epochs: number;
  /** Compression epochs on the target (methods 2, 3; and the transfer step of 1). */
  compressEpochs: number;
  /** Method 1's compression on the source data: epochs and images per source class. */
  sourceEpochs: number;
  sourcePerClass: number;
  /** Linear-head epochs on cached features. */
  headEpochs: number;
  batch: number;
  lr: number;
  /** Fine-tuning learning rate of the pretrained layers relative to the head (discriminative factor per group). */
  lrFactor: number;
  compressLr: number;
  /** Random shifts of ±shift pixels while training. */
  shift: number;
  /** Target sparsity of the pruned student layers. */
  sparsity: number;
  temperature: number;
  alpha: number;
  seed: number;
  /** Timed rounds (interleaved over every variant) of the latency measurement and batch-1 runs per round. */
  latencyRounds: number;
  latencyRuns: number;
  outDir: string;
  /** Write every int8 variant's model (.qwm) into outDir, next to the report. */
  saveModels: boolean;
  /**
   * Domain adaptation variants (empty: none): the teacher trained on the labelled target data while adapting to
   * `unlabeled` images of the same classes from another domain, beside a source-only run of the same loop.
   */
  adapt: ('dann' | 'coral')[];
  /** The unlabelled domain: a dataset name or a folder (class sub-folders: their labels only score; flat: no labels). */
  unlabeled: string;
  /** Adaptation steps (0: as many as the fine-tuning epochs make, epochs × ⌊train / batch⌋). */
  adaptSteps: number;
}

/** The package's root (dist/pipeline/ → ../..): shipped files resolve from here, never from the cwd. */
export function packageRoot(): string {
  const here = path().dirname(new URL(import.meta.url).pathname);
  return path().resolve(here, '..', '..');
}

export function modelsDir(): string { return path().join(packageRoot(), 'models'); }

export const DEFAULT_SETTINGS: Readonly<Omit<PipelineSettings, 'teacherFile' | 'studentFile'>> = Object.freeze({
  source: 'quickdraw', target: 'quickdraw', holdout: DEFAULT_HOLDOUT.count, holdoutSeed: DEFAULT_HOLDOUT.seed, shots: 0, testPerClass: 0,
  methods: [...METHODS], epochs: 12, compressEpochs: 10, sourceEpochs: 1, sourcePerClass: 20, headEpochs: 40,
  batch: 32, lr: 2e-3, lrFactor: 2, compressLr: 1e-3, shift: 2, sparsity: 0.5, temperature: 4, alpha: 0.5, seed: 1,
  latencyRounds: 5, latencyRuns: 20, outDir: 'qwasm-report', saveModels: true, adapt: [], unlabeled: '', adaptSteps: 0,
});

/** The default settings with the overrides applied and checked; resolves the source checkpoints. */
export function resolveSettings(over: Partial<PipelineSettings> = {}): PipelineSettings {
  if (!over || typeof over !== 'object') throw new TypeError(`settings must be an object, got ${describe(over)}`);
  const s = { ...DEFAULT_SETTINGS, ...over } as PipelineSettings;
  const shipped = SHIPPED_SOURCES[s.source];
  if (!shipped && !(over.teacherFile && over.studentFile)) {
    throw new QwasmError(`unknown source '${s.source}': shipped sources are ${Object.keys(SHIPPED_SOURCES).join(', ')} (or give both teacher and student checkpoints)`);
  }
  s.teacherFile = over.teacherFile ?? path().join(modelsDir(), shipped.teacher);
  s.studentFile = over.studentFile ?? path().join(modelsDir(), shipped.student);
  for (const [k, f] of [['teacher', s.teacherFile], ['student', s.studentFile]] as const) {
    if (!exists(f)) throw new QwasmError(`${k} checkpoint not found: ${f}${shipped ? ' (shipped with the package under models/; reinstall, or pretrain it with the command in models/README.md)' : ''}`);
  }
  if (!Array.isArray(s.methods) || !s.methods.length) throw new TypeError('methods must be a non-empty array');
  for (const m of s.methods) if (!(METHODS as readonly string[]).includes(m)) throw new QwasmError(`unknown method '${m}' (one of ${METHODS.join(', ')})`);
  s.methods = METHODS.filter((m) => s.methods.includes(m));
  checkInt('holdout', s.holdout, 0); checkInt('holdoutSeed', s.holdoutSeed, 0, 0xffffffff);
  checkInt('shots', s.shots, 0); checkInt('testPerClass', s.testPerClass, 0);
  checkInt('epochs', s.epochs, 1, 10000); checkInt('compressEpochs', s.compressEpochs, 1, 10000);
  checkInt('sourceEpochs', s.sourceEpochs, 1, 10000); checkInt('sourcePerClass', s.sourcePerClass, 1);
  checkInt('headEpochs', s.headEpochs, 1, 100000); checkInt('batch', s.batch, 2, 4096); checkInt('seed', s.seed, 0);
  checkInt('latencyRounds', s.latencyRounds, 1, 1000); checkInt('latencyRuns', s.latencyRuns, 1, 100000);
  checkInt('shift', s.shift, 0, 8);
  for (const k of ['lr', 'compressLr', 'lrFactor', 'temperature'] as const) {
    if (!(checkFinite(k, s[k]) > 0)) throw new RangeError(`${k} must be > 0, got ${s[k]}`);
  }
  if (!(checkFinite('sparsity', s.sparsity) >= 0 && s.sparsity < 1)) throw new RangeError(`sparsity must be in [0, 1), got ${s.sparsity}`);
  if (!(checkFinite('alpha', s.alpha) >= 0 && s.alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${s.alpha}`);
  if (typeof s.outDir !== 'string' || !s.outDir) throw new TypeError('outDir must be a path');
  if (!Array.isArray(s.adapt) || s.adapt.some((m) => m !== 'dann' && m !== 'coral')) throw new QwasmError(`adapt must list 'dann' and/or 'coral', got ${describe(s.adapt)}`);
  if (s.adapt.length && !s.unlabeled) throw new QwasmError('adaptation variants need unlabeled images (unlabeled: a dataset name or a folder)');
  if (!s.adapt.length && s.unlabeled) throw new QwasmError('unlabeled images given but no adaptation method (adapt: dann, coral)');
  checkInt('adaptSteps', s.adaptSteps, 0);
  return s;
}
