// What the MobileNetV2 pipeline's steps share: the settings, the engine, the stage runner (progress hooks,
// per-stage wall time and summary) and the objects to dispose at the end.
import type { Engine } from '../autograd/tensor.js';
import type { Mnv2Settings } from './mnv2-settings.js';
import type { PipelineHooks } from './run.js';

export const MNV2_STAGES = {
  load: 'load MobileNetV2 and the target', cache: 'frozen prefix: computed once per image', features: '(a) features + linear head',
  finetune: '(b) fine-tune the top blocks on the cache', scratch: '(c) same architecture from scratch',
  student: '(d) student: truncated + narrowed (L1 filter pruning), distilled, QAT int8', latency: 'latency (interleaved, batch 1)',
} as const;
export type Mnv2StageKey = keyof typeof MNV2_STAGES;

export interface Mnv2Context {
  s: Mnv2Settings;
  engine: Engine;
  /** Runs one stage: its body returns [result, one-line summary]; `ts` is the stage's start (performance.now()). */
  stage<T>(key: Mnv2StageKey, fn: (ts: number) => Promise<[T, string]> | [T, string]): Promise<T>;
  /** Progress inside the current stage. */
  progress(step: number, total: number, fields: Record<string, string>, seconds: number): void;
  stages: { name: string; seconds: number; summary: string }[];
  /** Disposed when the pipeline ends (also on an error). */
  owned: { dispose(): void }[];
}

/** Seconds since `ts` (a performance.now() value). */
export const since = (ts: number): number => (performance.now() - ts) / 1000;

export function mnv2Context(s: Mnv2Settings, engine: Engine, hooks: PipelineHooks): Mnv2Context {
  const keys = Object.keys(MNV2_STAGES) as Mnv2StageKey[];
  let current = '';
  const stages: Mnv2Context['stages'] = [];
  return {
    s, engine, stages, owned: [],
    progress: (step, total, fields, seconds) => hooks.onProgress?.(current, { step, total, fields, seconds }),
    async stage(key, fn) {
      current = MNV2_STAGES[key];
      hooks.onStage?.(current, keys.indexOf(key) + 1, keys.length);
      const ts = performance.now();
      const [res, summary] = await fn(ts);
      const secs = since(ts);
      stages.push({ name: current, seconds: secs, summary });
      hooks.onStageDone?.(current, summary, secs);
      return res;
    },
  };
}
