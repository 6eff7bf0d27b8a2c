// runPipeline: the end-to-end job behind `qwasm pipeline` — shipped source nets → few-shot target → transfer
// (fine-tune, feature extraction) vs training from scratch → compression three ways (src/pipeline/compress-model.ts) →
// int8 models evaluated on the int8 kernels → interleaved latency → a result object the reports are made from.
import { loadRuntime } from '../runtime.js';
import { Engine } from '../autograd/tensor.js';
import { Sequential } from '../nn/layers.js';
import { loadModelCheckpoint } from '../train/model-file.js';
import { loadTarget, loadSourceSubset, loadUnlabelledTarget, type UnlabelledTarget } from './data.js';
import { resolveSettings, METHODS, type Method, type PipelineSettings } from './defaults.js';
import { measureLatencies, type Variant } from './measure.js';
import {
  adaptStage, compressThenTransferStage, featureStages, fineTuneStage, jointStage, jointChannelStage, ptqStage, scratchStage, transferThenCompressStage,
  type SourceNet, type StageContext, type StageOutput, type StageProgress,
} from './stages.js';
import { QwasmError } from '../errors.js';
import { fs, path } from '../util/node.js';

export interface PipelineHooks {
  /** A stage starts (index from 1 of `count`). */
  onStage?: (name: string, index: number, count: number) => void;
  /** Training progress inside the current stage. */
  onProgress?: (stage: string, p: StageProgress) => void;
  /** A stage finished, with a one-line summary. */
  onStageDone?: (name: string, summary: string, seconds: number) => void;
  /** Build to run on (default 'auto'). */
  build?: 'auto' | 'scalar' | 'simd' | 'relaxed';
  /** Threads (init's `threads`; default: init's default). */
  threads?: number;
}

export interface SourceInfo { role: 'teacher' | 'student'; file: string; model: string; options: Record<string, unknown>; params: number; command?: string; dataset?: string; classes?: number; accuracy?: number }

/** How the default targets of the issue came out (null when a needed variant was not run). */
export interface TargetCheck { name: string; goal: string; value: number | null; unit: string; met: boolean | null; detail: string }

export interface PipelineResult {
  settings: PipelineSettings;
  build: string;
  node: string;
  startedAt: string;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  /** CPU seconds (user + system) of this process over the run: the wall time on an idle machine, roughly. */
  cpuSeconds: number;
  target: { name: string; classes: string[]; selection: string; train: number; test: number };
  sources: SourceInfo[];
  variants: Variant[];
  stages: { name: string; seconds: number; summary: string }[];
  targets: TargetCheck[];
  /** The variant the size / accuracy / speed targets are checked on (see checkTargets). */
  finalVariant: string | null;
  /** The unlabelled domain of the adaptation variants (null: none ran). */
  adaptation: { unlabeled: string; description: string; scored: boolean } | null;
}

const STAGE_NAMES: Record<string, string> = {
  'teacher-finetune': 'teacher: transfer by fine-tuning', 'student-finetune': 'student: transfer by fine-tuning',
  'teacher-scratch': 'teacher: from scratch', 'student-scratch': 'student: from scratch', 'teacher-features': 'teacher: feature extraction',
  'teacher-ptq': 'teacher: int8 post-training quantisation', 'student-ptq': 'student: int8 post-training quantisation',
  'compress-transfer': '(1) compress source → transfer', 'transfer-compress': '(2) transfer → compress', joint: '(3) joint loop',
  'joint-channel': '(3) joint loop, channel pruning', adapt: 'teacher: domain adaptation to the unlabelled images', latency: 'latency (interleaved, batch 1)',
};

/** The ordered stage list for a set of methods. */
export function planStages(methods: readonly Method[], adapt = false): string[] {
  const has = (m: Method) => methods.includes(m);
  const needTeacherFT = has('finetune') || has('ptq') || has('transfer-compress') || has('joint') || has('joint-channel');
  const needStudentFT = has('finetune') || has('ptq') || has('transfer-compress');
  const out: string[] = [];
  if (needTeacherFT) out.push('teacher-finetune');
  if (has('scratch')) out.push('teacher-scratch');
  if (has('features')) out.push('teacher-features');
  if (needStudentFT) out.push('student-finetune');
  if (has('scratch')) out.push('student-scratch');
  if (has('ptq')) out.push('teacher-ptq', 'student-ptq');
  if (has('compress-transfer')) out.push('compress-transfer');
  if (has('transfer-compress')) out.push('transfer-compress');
  if (has('joint')) out.push('joint');
  if (has('joint-channel')) out.push('joint-channel');
  if (adapt) out.push('adapt');
  out.push('latency');
  return out;
}

/** A file name for a variant: "student · joint (3) · int8" → "student-joint-3-int8". */
export const variantSlug = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Writes every int8 variant's .qwm export into `dir` (its size is the variant's bytes); notes the file name. */
function saveInt8Models(outputs: StageOutput[], dir: string): void {
  fs().mkdirSync(dir, { recursive: true });
  for (const o of outputs) {
    if (!o.int8) continue;
    const name = `${variantSlug(o.variant.name)}.qwm`, file = path().join(dir, name), tmp = `${file}.${process.pid}.tmp`;
    fs().writeFileSync(tmp, o.int8.qwm());
    fs().renameSync(tmp, file);
    o.variant.details.file = name;
  }
}

function cpuSecondsSince(c0: { user: number; system: number }): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

function loadSourceNet(engine: Engine, role: 'teacher' | 'student', file: string): SourceNet {
  const { model, record, meta } = loadModelCheckpoint(engine, file);
  if (!(model instanceof Sequential)) { model.dispose(); throw new QwasmError(`${file}: not a Sequential model`); }
  const state = model.stateDict() as SourceNet['state'];
  return { role, file, record, state, meta: meta as Record<string, unknown>, model };
}

function sourceInfo(s: SourceNet): SourceInfo {
  const m = s.meta as { command?: string; dataset?: string; source?: { dataset?: string; classes?: string[] }; testAccuracy?: number };
  return {
    role: s.role, file: s.file, model: s.record.name, options: { ...s.record.options }, params: s.model.numParameters(),
    command: m.command, dataset: m.source?.dataset ?? m.dataset, classes: m.source?.classes?.length, accuracy: m.testAccuracy,
  };
}

/** The last stage: every variant's latency (interleaved rounds, src/pipeline/measure.ts), written into its row. */
function latencyStage(outputs: StageOutput[], settings: PipelineSettings, hooks: PipelineHooks, stageCount: number): PipelineResult['stages'][number] {
  const name = STAGE_NAMES.latency;
  hooks.onStage?.(name, stageCount, stageCount);
  const ts = performance.now();
  const lat = measureLatencies(outputs.map((o) => o.probe), settings.latencyRounds, settings.latencyRuns,
    (r) => hooks.onProgress?.(name, { step: r, total: settings.latencyRounds, fields: { round: `${r}/${settings.latencyRounds}` }, seconds: (performance.now() - ts) / 1000 }));
  outputs.forEach((o, i) => { o.variant.latencyMs = lat[i]; });
  const seconds = (performance.now() - ts) / 1000;
  const summary = `${outputs.length} variants × ${settings.latencyRounds} rounds × ${settings.latencyRuns} runs`;
  hooks.onStageDone?.(name, summary, seconds);
  return { name, seconds, summary };
}

/** Runs the pipeline (settings: overrides of DEFAULT_SETTINGS) and returns every measured variant. */
export async function runPipeline(over: Partial<PipelineSettings> = {}, hooks: PipelineHooks = {}): Promise<PipelineResult> {
  const settings = resolveSettings(over);
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  const startedAt = new Date().toISOString();
  const rt = await loadRuntime({ build: hooks.build ?? 'auto', threads: hooks.threads });
  const engine = new Engine(rt);
  const owned: { dispose(): void }[] = [];
  const outputs: StageOutput[] = [];
  const stages: PipelineResult['stages'] = [];
  try {
    const teacher = loadSourceNet(engine, 'teacher', settings.teacherFile); owned.push(teacher.model);
    const student = loadSourceNet(engine, 'student', settings.studentFile); owned.push(student.model);
    const input = (teacher.record.options.input ?? [28, 28, 1]) as [number, number, number];
    const sIn = (student.record.options.input ?? [28, 28, 1]) as [number, number, number];
    if (sIn[2] !== input[2]) throw new QwasmError(`the teacher takes ${input[2]} channel(s), the student ${sIn[2]}`);
    const target = loadTarget(settings, input);
    const tgtInput: [number, number, number] = [target.train.height, target.train.width, target.train.channels];
    // read before any training, so a bad --unlabeled fails at once
    const unlabeled: UnlabelledTarget | null = settings.adapt.length
      ? loadUnlabelledTarget(settings.unlabeled, { input: tgtInput, classes: target.classes, seed: settings.seed }) : null;

    const plan = planStages(settings.methods, settings.adapt.length > 0);
    let current = '';
    const ctx: StageContext = {
      engine, settings, train: target.train, test: target.test, classes: target.classes.length, input: tgtInput,
      progress: (p) => hooks.onProgress?.(current, p),
    };
    let teacherFT: StageOutput | undefined, studentFT: StageOutput | undefined;
    const run = async (key: string, fn: () => Promise<StageOutput | StageOutput[]> | StageOutput | StageOutput[]) => {
      current = STAGE_NAMES[key] ?? key;
      hooks.onStage?.(current, plan.indexOf(key) + 1, plan.length);
      const ts = performance.now();
      const res = await fn();
      const list = Array.isArray(res) ? res : [res];
      outputs.push(...list);
      const secs = (performance.now() - ts) / 1000;
      const summary = list.map((o) => `${o.variant.name}: ${(100 * o.variant.accuracy).toFixed(2)} %`).join('; ');
      stages.push({ name: current, seconds: secs, summary });
      hooks.onStageDone?.(current, summary, secs);
      return list;
    };
    for (const key of plan) {
      switch (key) {
        case 'teacher-finetune': teacherFT = (await run(key, () => fineTuneStage(teacher, ctx)))[0]; break;
        case 'student-finetune': studentFT = (await run(key, () => fineTuneStage(student, ctx)))[0]; break;
        case 'teacher-scratch': await run(key, () => scratchStage(teacher, ctx)); break;
        case 'student-scratch': await run(key, () => scratchStage(student, ctx)); break;
        case 'teacher-features': await run(key, () => featureStages(teacher, ctx)); break;
        case 'teacher-ptq': await run(key, () => ptqStage(teacher, teacherFT!.model!, ctx)); break;
        case 'student-ptq': await run(key, () => ptqStage(student, studentFT!.model!, ctx)); break;
        case 'compress-transfer': await run(key, () => {
          const src = loadSourceSubset(student.meta, settings.sourcePerClass, settings.seed);
          return compressThenTransferStage(student, teacher, src, ctx, () => {});
        }); break;
        case 'transfer-compress': await run(key, () => transferThenCompressStage(student, studentFT!.model!, teacherFT!.model!, ctx)); break;
        case 'joint': await run(key, () => jointStage(student, teacherFT!.model!, ctx)); break;
        case 'joint-channel': await run(key, () => jointChannelStage(student, teacherFT!.model!, ctx)); break;
        case 'adapt': await run(key, () => adaptStage(teacher, unlabeled!, ctx)); break;
        case 'latency': current = STAGE_NAMES.latency; stages.push(latencyStage(outputs, settings, hooks, plan.length)); break;
      }
    }
    if (settings.saveModels) saveInt8Models(outputs, settings.outDir);
    const variants = outputs.map((o) => o.variant);
    const { checks, final } = checkTargets(variants);
    return {
      settings, build: rt.build, node: process.version, startedAt, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSecondsSince(cpu0),
      target: { name: target.name, classes: target.classes, selection: target.selection, train: target.train.length, test: target.test.length },
      sources: [sourceInfo(teacher), sourceInfo(student)], variants, stages, targets: checks, finalVariant: final?.name ?? null,
      adaptation: unlabeled ? { unlabeled: unlabeled.name, description: unlabeled.description, scored: !!unlabeled.test } : null,
    };
  } finally {
    for (const o of outputs) o.dispose();
    for (const o of owned) o.dispose();
  }
}

/**
 * The targets on the variants: transfer beats scratch by ≥ 5 points (teacher and student); the final
 * int8 + pruned student is ≥ 8× smaller than the float teacher on disk, within 2 points of its accuracy, and ≥ 3×
 * faster per image. The final student is the one a deployment would pick: the fastest int8 student of methods
 * (1)–(3) within 2 points of the teacher, or (none is) the most accurate one.
 */
export function checkTargets(variants: readonly Variant[]): { checks: TargetCheck[]; final: Variant | null } {
  const find = (role: string, method: string) => variants.find((v) => v.role === role && v.method === method) ?? null;
  const checks: TargetCheck[] = [];
  for (const role of ['teacher', 'student']) {
    const ft = find(role, 'fine-tune'), sc = find(role, 'scratch');
    const gain = ft && sc ? 100 * (ft.accuracy - sc.accuracy) : null;
    checks.push({ name: `${role}: transfer − scratch`, goal: '≥ 5 points', value: gain, unit: 'points', met: gain === null ? null : gain >= 5,
      detail: ft && sc ? `fine-tune ${(100 * ft.accuracy).toFixed(2)} % vs scratch ${(100 * sc.accuracy).toFixed(2)} %` : 'not run' });
  }
  const compressed = variants.filter((v) => v.role === 'student' && v.precision === 'int8' && ['compress-transfer', 'transfer-compress', 'joint', 'joint-channel'].includes(v.method));
  const teacher = find('teacher', 'fine-tune');
  // deployment choice: the fastest int8 student within 2 points of the teacher; failing that, the most accurate
  const within = teacher ? compressed.filter((v) => v.accuracy >= teacher.accuracy - 0.02 - 1e-12) : [];
  const final = within.length ? within.reduce((b, v) => (v.latencyMs < b.latencyMs ? v : b))
    : compressed.reduce<Variant | null>((b, v) => (!b || v.accuracy > b.accuracy ? v : b), null);
  const teacherInt8 = find('teacher', 'ptq');
  const have = !!(final && teacher);
  const ratio = have ? teacher!.bytes / final!.bytes : null;
  checks.push({ name: 'final student: size vs float teacher', goal: '≥ 8× smaller', value: ratio, unit: '×', met: ratio === null ? null : ratio >= 8,
    detail: have ? `${final!.name} ${final!.bytes} B vs ${teacher!.bytes} B` : 'not run' });
  const gap = have ? 100 * (teacher!.accuracy - final!.accuracy) : null;
  checks.push({ name: 'final student: accuracy vs float teacher', goal: 'within 2 points', value: gap, unit: 'points below', met: gap === null ? null : gap <= 2,
    detail: have ? `${(100 * final!.accuracy).toFixed(2)} % vs ${(100 * teacher!.accuracy).toFixed(2)} %` : 'not run' });
  const speed = have && Number.isFinite(final!.latencyMs) ? teacher!.latencyMs / final!.latencyMs : null;
  checks.push({ name: 'final student: speed vs float teacher', goal: '≥ 3× faster', value: speed, unit: '×', met: speed === null ? null : speed >= 3,
    detail: have ? `${final!.latencyMs.toFixed(3)} ms vs ${teacher!.latencyMs.toFixed(3)} ms per image (batch 1)` : 'not run' });
  if (final && teacherInt8) {
    const s2 = teacherInt8.latencyMs / final.latencyMs;
    checks.push({ name: 'final student: speed vs int8 teacher (PTQ)', goal: '(for reference)', value: s2, unit: '×', met: null,
      detail: `${final.latencyMs.toFixed(3)} ms vs ${teacherInt8.latencyMs.toFixed(3)} ms per image, both on the int8 kernels` });
  }
  return { checks, final };
}

export { METHODS };
