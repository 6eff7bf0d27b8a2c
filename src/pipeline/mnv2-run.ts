// `qwasm pipeline --source mobilenetv2`: a real ImageNet-pretrained network (nsfwjs' Keras MobileNetV2, cut at
// `cut`) transferred to a small photo target and compressed into a student that keeps pretrained weights:
//   (a) features + linear head: the frozen network's pooled features (computed once), a Linear head;
//   (b) fine-tune: the ImageNet-frozen prefix (nsfwjs froze the layers up to block_10) is computed ONCE per
//       image (src/transfer/cache.ts) and the top blocks + head train on the cached maps with discriminative
//       learning rates, starting from (a)'s head (linear probe, then fine-tune);
//   (c) scratch: the same architecture, random weights, every layer trained on the images (the baseline);
//   (d) student: the teacher truncated at `studentCut` and narrowed by filter L1 norm (src/transfer/student.ts),
//       optionally at a lower input size, distilled from the final teacher with QAT int8 (compressModel 'joint')
//       on the labelled images and an unlabelled transfer set → an int8 .qwm scored on the int8 kernels.
// Every choice (the epoch kept, (a) or (b) as the final teacher, which student) is made on validation indices
// carved from each split's training side (mnv2-data.ts); test indices only score. Accuracies are pooled over the
// splits a variant ran on, with 95 % Wilson intervals over the distinct test images. The steps live in
// mnv2-teacher.ts (load, cache, (a)–(c)) and mnv2-student.ts ((d)); this file runs them and assembles the result.
import { loadRuntime } from '../runtime.js';
import { Engine } from '../autograd/tensor.js';
import type { Sequential } from '../nn/layers.js';
import type { CompressResult } from './compress-model.js';
import { floatBytes, floatProbe, int8Probe, measureLatencies, type LatencyProbe } from './measure.js';
import { droppedText, resolveMnv2Settings, type Mnv2Settings } from './mnv2-settings.js';
import { mnv2Context, since, type Mnv2Context } from './mnv2-context.js';
import { scoreOnSplits, pctCi, type Score } from './mnv2-score.js';
import { TEACHER_SOURCE, cacheStep, featuresStep, finetuneStep, loadStep, scratchStep, suffixOf, type CacheResult, type FeaturesResult, type FinetuneResult, type ScratchResult, type Suffix, type TeacherSetup } from './mnv2-teacher.js';
import { studentStep, type FinalTeacher, type StudentResult } from './mnv2-student.js';
import type { PipelineHooks } from './run.js';
import { fs, path } from '../util/node.js';

export { poolScore, type Score } from './mnv2-score.js';

export interface Mnv2Variant {
  key: 'features' | 'finetune' | 'scratch' | 'student';
  name: string;
  role: 'teacher' | 'student';
  precision: 'f32' | 'int8';
  score: Score;
  params: number;
  bytes: number | null;
  latencyMs: number | null;
  seconds: number;
  details: Record<string, unknown>;
}

export interface Comparison { name: string; goal: string; value: number | null; unit: string; met: boolean | null; detail: string }

export interface Mnv2Result {
  settings: Mnv2Settings;
  build: string;
  threads: number;
  node: string;
  startedAt: string;
  seconds: number;
  cpuSeconds: number;
  loadAverage: number[];
  target: { name: string; classes: string[]; images: number; protocol: string; mode: 'cv' | 'fixed'; splits: { name: string; train: number; val: number; test: number }[] };
  teacher: { source: string; cut: string; inputSize: number; params: number; norm: string | null; frozenPrefixLayers: number; cacheAt: string };
  cache: { storage: string; shape: number[]; bytesPerImage: number; bytesPerImageAt224: number; images: number; seconds: number; imagesPerSecond: number; maxAbsError: number; clippedFraction: number; rangeSource: string; augmentation: string };
  finalTeacher: 'features' | 'finetune';
  variants: Mnv2Variant[];
  comparisons: Comparison[];
  throughput: { stage: string; imagesPerSecond: number; batch: number; inputSize: number; note: string }[];
  stages: { name: string; seconds: number; summary: string }[];
}


/** The final teacher: the better mean validation accuracy of (a) and (b) (ties: fine-tuning). */
function finalTeacherOf(sx: Suffix, feat: FeaturesResult, ft: FinetuneResult): FinalTeacher {
  const kind: FinalTeacher['kind'] = feat.score.valAccuracy > ft.score.valAccuracy ? 'features' : 'finetune';
  return {
    kind, score: kind === 'finetune' ? ft.score : feat.score,
    load(k) {
      if (kind === 'finetune') sx.view.loadStateDict(ft.states[k]);
      else { sx.view.loadStateDict(sx.pretrained); sx.head.weight.write(feat.heads[k].weight); sx.head.bias!.write(feat.heads[k].bias); }
    },
  };
}

/** Step 7: batch-1 latency of the final teacher (split 1, f32) and the student (int8), interleaved rounds. */
function latencyStep(ctx: Mnv2Context, teacher: Sequential, student: CompressResult | null): Promise<number[]> {
  const { s } = ctx;
  return ctx.stage('latency', (ts) => {
    const probes: LatencyProbe[] = [floatProbe(teacher, [s.inputSize, s.inputSize, 3])];
    if (student) probes.push(int8Probe(student.int8));
    const l = measureLatencies(probes, s.latencyRounds, s.latencyRuns, (r) => ctx.progress(r, s.latencyRounds, { round: `${r}/${s.latencyRounds}` }, since(ts)));
    return [l, `teacher f32 ${l[0].toFixed(2)} ms${l.length > 1 ? `, student int8 ${l[1].toFixed(2)} ms` : ''}`];
  });
}

/** Writes the student's .qwm atomically into the report folder. */
function saveStudent(s: Mnv2Settings, student: CompressResult): void {
  fs().mkdirSync(s.outDir, { recursive: true });
  const file = path().join(s.outDir, 'student-int8.qwm'), tmp = `${file}.${process.pid}.tmp`;
  fs().writeFileSync(tmp, student.int8.qwm());
  fs().renameSync(tmp, file);
}

interface Outcome { feat: FeaturesResult; ft: FinetuneResult; scratch: ScratchResult; student: StudentResult; final: FinalTeacher; lat: number[]; teacherBytes: number }

function variantsOf(s: Mnv2Settings, t: TeacherSetup, o: Outcome): Mnv2Variant[] {
  const tParams = t.teacher.numParameters(), { feat, ft, scratch, student, final, lat, teacherBytes } = o;
  const width = student.keep < 1 ? `${student.keep} width (L1 filter pruning)` : 'full width';
  return [
    { key: 'features', name: 'teacher · (a) features + linear head', role: 'teacher', precision: 'f32', score: feat.score, params: tParams, bytes: teacherBytes, latencyMs: final.kind === 'features' ? lat[0] : null, seconds: feat.seconds, details: { featureDim: feat.dim } },
    { key: 'finetune', name: 'teacher · (b) fine-tune top blocks on the cache', role: 'teacher', precision: 'f32', score: ft.score, params: tParams, bytes: teacherBytes, latencyMs: final.kind === 'finetune' ? lat[0] : null, seconds: ft.seconds, details: { imagesPerSecond: ft.imagesPerSecond } },
    { key: 'scratch', name: 'teacher architecture · (c) from scratch', role: 'teacher', precision: 'f32', score: scratch.score, params: tParams, bytes: teacherBytes, latencyMs: null, seconds: scratch.seconds, details: { imagesPerSecond: scratch.imagesPerSecond } },
    { key: 'student', name: `student · (d) up to ${s.studentCut}${droppedText(s)}, ${width}, ${student.size} px, distilled${student.transfer ? ' (+ transfer set)' : ''} + QAT${s.sparsity > 0 ? ` + channel pruning ${s.sparsity}` : ''} · int8`, role: 'student', precision: 'int8', score: student.score, params: student.params, bytes: student.bytes, latencyMs: lat[1] ?? null, seconds: student.seconds, details: { ...student.details, candidates: student.candidates, transferSet: student.transfer } },
  ];
}

function comparisonsOf(s: Mnv2Settings, t: TeacherSetup, o: Outcome): Comparison[] {
  const { scratch, student, final, lat, teacherBytes } = o;
  const tests = t.target.splits.map((sp) => sp.test);
  const out: Comparison[] = [];
  const gainTarget = /fashion/i.test(s.target) ? 8 : 15;
  const fOnScratch = scoreOnSplits(final.score, scratch.splits, tests);
  const gain = 100 * (fOnScratch.accuracy - scratch.score.accuracy);
  out.push({ name: 'transfer (final teacher) − scratch', goal: `≥ ${gainTarget} points`, value: gain, unit: 'points', met: gain >= gainTarget,
    detail: `on the same ${scratch.splits} split(s): ${pctCi(fOnScratch)} vs ${pctCi(scratch.score)}` });
  const ratio = teacherBytes / student.bytes;
  out.push({ name: 'int8 student vs float teacher: size', goal: '≥ 8× smaller', value: ratio, unit: '×', met: ratio >= 8, detail: `${student.bytes} B .qwm vs ${teacherBytes} B float checkpoint` });
  const speed = lat.length > 1 ? lat[0] / lat[1] : null;
  out.push({ name: 'int8 student vs float teacher: batch-1 speed', goal: '≥ 4× faster', value: speed, unit: '×', met: speed === null ? null : speed >= 4,
    detail: lat.length > 1 ? `${lat[1].toFixed(3)} ms (${student.size} px) vs ${lat[0].toFixed(3)} ms (${s.inputSize} px) (teacher on the f32 engine, student on the int8 kernels)` : 'not run' });
  const fOnStudent = scoreOnSplits(final.score, student.splits, tests);
  const gap = 100 * (fOnStudent.accuracy - student.score.accuracy);
  out.push({ name: 'int8 student vs float teacher: accuracy', goal: 'within 2 points', value: gap, unit: 'points below', met: gap <= 2,
    detail: `on the same ${student.splits} split(s): ${pctCi(student.score)} vs ${pctCi(fOnStudent)}` });
  return out;
}

function resultOf(ctx: Mnv2Context, t: TeacherSetup, cache: CacheResult, o: Outcome, run: { build: string; threads: number; startedAt: string; t0: number; cpu0: NodeJS.CpuUsage }): Mnv2Result {
  const { s } = ctx, { target, imp, L, cacheAt, teacher } = t, { ft, scratch } = o;
  const at224 = (cache.shape[0] * 224 / s.inputSize) * (cache.shape[1] * 224 / s.inputSize) * cache.shape[2];
  return {
    settings: s, build: run.build, threads: run.threads, node: process.version, startedAt: run.startedAt,
    seconds: since(run.t0), cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(run.cpu0)), loadAverage: osLoad(),
    target: { name: target.name, classes: target.classes, images: t.N, protocol: target.protocol, mode: target.mode, splits: target.splits.map((sp) => ({ name: sp.name, train: sp.train.length, val: sp.val.length, test: sp.test.length })) },
    teacher: { source: TEACHER_SOURCE, cut: s.cut, inputSize: s.inputSize, params: teacher.numParameters(), norm: imp.normName, frozenPrefixLayers: L, cacheAt },
    cache: {
      storage: 'uint8, per-channel affine (min/max over the cached images, no labels)', shape: cache.shape, bytesPerImage: cache.bytesPerImage, bytesPerImageAt224: Math.round(at224),
      images: cache.images, seconds: cache.seconds, imagesPerSecond: cache.images / cache.seconds, maxAbsError: cache.maxAbsError, clippedFraction: cache.clippedFraction, rangeSource: cache.rangeSource === 'given' ? 'the last frozen BatchNorm (β ± 6|γ|)' : 'the pooled images (no labels)',
      augmentation: s.flipCopies ? 'one horizontally flipped copy of every image is cached too (training sees both); no other augmentation of the frozen part (shifts / crops would need a new forward per epoch)' : 'none: every epoch sees the same cached maps',
    },
    finalTeacher: o.final.kind, variants: variantsOf(s, t, o), comparisons: comparisonsOf(s, t, o),
    throughput: [
      { stage: 'frozen prefix, forward once (eval, no graph)', imagesPerSecond: cache.images / cache.seconds, batch: 32, inputSize: s.inputSize, note: `layers 0–${L - 1}` },
      { stage: 'fine-tune top blocks on the cache (forward + backward + Adam)', imagesPerSecond: ft.imagesPerSecond, batch: s.batch, inputSize: s.inputSize, note: `layers ${L}–${teacher.layers.length - 1}` },
      { stage: 'every layer trained (scratch)', imagesPerSecond: scratch.imagesPerSecond, batch: s.batch, inputSize: s.inputSize, note: 'full forward + backward' },
    ],
    stages: ctx.stages,
  };
}

export async function runMobilenetV2Pipeline(over: Partial<Mnv2Settings> = {}, hooks: PipelineHooks = {}): Promise<Mnv2Result> {
  const s = resolveMnv2Settings(over);
  const run = { t0: performance.now(), cpu0: process.cpuUsage(), startedAt: new Date().toISOString(), build: '', threads: 1 };
  const rt = await loadRuntime({ build: hooks.build ?? 'auto', threads: hooks.threads });
  run.build = rt.build; run.threads = rt.threads;
  const ctx = mnv2Context(s, new Engine(rt), hooks);
  try {
    const t = await loadStep(ctx);
    const cache = await cacheStep(ctx, t);
    const sx = suffixOf(t);
    const feat = await featuresStep(ctx, t, cache, sx);
    const ft = await finetuneStep(ctx, t, cache, sx, feat);
    const final = finalTeacherOf(sx, feat, ft);
    const scratch = await scratchStep(ctx, t);
    const student = await studentStep(ctx, t, cache, final, final.kind === 'finetune' ? ft.states.length : t.target.splits.length);
    const first = student.first;
    if (first) ctx.owned.push({ dispose: () => { first.int8.dispose(); first.quantized.dispose?.(); first.floatModel.dispose(); } });
    final.load(0);
    t.teacher.eval();
    const teacherBytes = floatBytes(t.teacher, { name: 'mobilenetv2', options: { classes: t.C, input: [s.inputSize, s.inputSize, 3] } });
    const lat = await latencyStep(ctx, t.teacher, first);
    if (s.saveModels && first) saveStudent(s, first);
    return resultOf(ctx, t, cache, { feat, ft, scratch, student, final, lat, teacherBytes }, run);
  } finally {
    for (const o of ctx.owned) o.dispose();
  }
}

/** The 1-, 5- and 15-minute load averages (other jobs on the machine inflate the wall times). */
function osLoad(): number[] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as { loadavg(): number[] } | undefined;
  return os ? os.loadavg().map((v) => Math.round(v * 100) / 100) : [];
}
