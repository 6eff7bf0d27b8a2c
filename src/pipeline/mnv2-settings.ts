// Settings of `qwasm pipeline --source mobilenetv2` and their defaults (the 15-minute Tux Paint run on 2 cores).
import { QwasmError, checkFinite, checkInt, describe } from '../errors.js';

export interface Mnv2Settings {
  /** 'tuxpaint-natural', 'fashion-mnist' or a folder of class folders of photos. */
  target: string;
  /** Input height = width (px). */
  inputSize: number;
  /** The teacher: nsfwjs' MobileNetV2 cut at this Keras layer (+ GlobalAvgPool + a new Linear head). */
  cut: string;
  /** The student's trunk: the teacher's layers up to this Keras layer, narrowed to `studentKeep` of the channels. */
  studentCut: string;
  /** Residual blocks the student leaves out (Keras block names, e.g. 'block_2': its `block_2_add` is skipped as the identity). */
  studentDrop: string[];
  /** Student candidates: kept channel fractions (the validation split picks one). */
  studentKeep: number[];
  /** The student's kept channels per layer rounded to a multiple of this (16: the int8 kernels' SIMD width; 1: none). */
  studentMultiple: number;
  /** The student's input size (px; 0: the teacher's `inputSize`); smaller: the images resized, the teacher distils at its own size. */
  studentSize: number;
  /** The student's unlabelled transfer set: 'auto' (the target's own, mnv2-transfer-set.ts), 'none' or a folder. */
  transferSet: string;
  /** At most this many transfer images (0: all; Fashion-MNIST 'auto': 1000). */
  transferMax: number;
  /** Fixed split: training / test images per class (0: the target's default: Fashion-MNIST 20 / 100). */
  shots: number;
  testPerClass: number;
  /** Cross-validation folds (0: one fixed split) and repeats. */
  folds: number;
  repeats: number;
  valFraction: number;
  /** Maximum epochs: fine-tuning on the cache (best validation epoch kept), linear head, scratch, student. */
  epochs: number;
  headEpochs: number;
  scratchEpochs: number;
  studentEpochs: number;
  batch: number;
  lr: number;
  headLr: number;
  lrFactor: number;
  scratchLr: number;
  studentLr: number;
  /** Extra channel pruning of the student during QAT (fraction of each narrowable layer's channels). */
  sparsity: number;
  temperature: number;
  alpha: number;
  /** Splits (first n) the expensive variants run on: scratch training and the student. 0 = every split. */
  scratchSplits: number;
  studentSplits: number;
  /** Cache a horizontally flipped copy of every image too (the one augmentation the frozen part keeps). */
  flipCopies: boolean;
  seed: number;
  latencyRounds: number;
  latencyRuns: number;
  outDir: string;
  saveModels: boolean;
}

export const MNV2_DEFAULTS: Readonly<Mnv2Settings> = Object.freeze({
  target: 'tuxpaint-natural', inputSize: 96, cut: 'block_13_expand_relu', studentCut: 'block_10_expand_relu', studentDrop: ['block_2', 'block_5'], studentKeep: [0.9], studentMultiple: 16, studentSize: 0, transferSet: 'auto', transferMax: 0,
  shots: 0, testPerClass: 0, folds: 5, repeats: 2, valFraction: 0.15,
  epochs: 10, headEpochs: 60, scratchEpochs: 20, studentEpochs: 6,
  batch: 16, lr: 1e-3, headLr: 1e-2, lrFactor: 2.6, scratchLr: 2e-3, studentLr: 1e-4,
  sparsity: 0, temperature: 4, alpha: 0.7, scratchSplits: 3, studentSplits: 2, flipCopies: true, seed: 1,
  latencyRounds: 9, latencyRuns: 20, outDir: 'qwasm-report-mobilenetv2', saveModels: true,
});

/** ' without block_2, block_5' (the student's dropped residual blocks, for names and reports), or ''. */
export const droppedText = (s: Pick<Mnv2Settings, 'studentDrop'>, what = ''): string => (s.studentDrop.length ? ` without ${what}${s.studentDrop.join(', ')}` : '');

export function resolveMnv2Settings(over: Partial<Mnv2Settings> = {}): Mnv2Settings {
  if (!over || typeof over !== 'object') throw new TypeError(`settings must be an object, got ${describe(over)}`);
  const s = { ...MNV2_DEFAULTS, ...over } as Mnv2Settings;
  if (typeof s.target !== 'string' || !s.target) throw new QwasmError('target must be a dataset name or a folder');
  checkInt('inputSize', s.inputSize, 32, 512);
  if (!Array.isArray(s.studentDrop) || s.studentDrop.some((b) => typeof b !== 'string' || !/^block_\d+$/.test(b))) throw new QwasmError(`studentDrop must list Keras block names like 'block_2', got ${describe(s.studentDrop)}`);
  if (!Array.isArray(s.studentKeep) || !s.studentKeep.length) throw new QwasmError('studentKeep must list at least one fraction');
  checkInt('studentMultiple', s.studentMultiple, 1, 256);
  if (s.studentSize !== 0) checkInt('studentSize', s.studentSize, 16, s.inputSize);
  if (typeof s.transferSet !== 'string' || !s.transferSet) throw new QwasmError("transferSet must be 'auto', 'none' or a folder");
  checkInt('transferMax', s.transferMax, 0);
  for (const k of s.studentKeep) if (!(checkFinite('studentKeep', k) > 0 && k <= 1)) throw new RangeError(`student keep fractions must be in (0, 1], got ${k}`);
  checkInt('shots', s.shots, 0); checkInt('testPerClass', s.testPerClass, 0);
  if (s.folds !== 0) checkInt('folds', s.folds, 2, 20);
  checkInt('repeats', s.repeats, 1, 20);
  if (!(checkFinite('valFraction', s.valFraction) > 0 && s.valFraction < 0.5)) throw new RangeError(`valFraction must be in (0, 0.5), got ${s.valFraction}`);
  for (const k of ['epochs', 'headEpochs', 'scratchEpochs', 'studentEpochs'] as const) checkInt(k, s[k], 1, 10000);
  checkInt('batch', s.batch, 2, 1024);
  for (const k of ['lr', 'headLr', 'lrFactor', 'scratchLr', 'studentLr', 'temperature'] as const) if (!(checkFinite(k, s[k]) > 0)) throw new RangeError(`${k} must be > 0, got ${s[k]}`);
  if (!(checkFinite('sparsity', s.sparsity) >= 0 && s.sparsity < 1)) throw new RangeError(`sparsity must be in [0, 1), got ${s.sparsity}`);
  if (!(checkFinite('alpha', s.alpha) >= 0 && s.alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${s.alpha}`);
  checkInt('scratchSplits', s.scratchSplits, 0); checkInt('studentSplits', s.studentSplits, 0);
  checkInt('seed', s.seed, 0); checkInt('latencyRounds', s.latencyRounds, 1, 1000); checkInt('latencyRuns', s.latencyRuns, 1, 100000);
  return s;
}
