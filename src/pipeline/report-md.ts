// The pipeline report as Markdown: the targets, every variant (accuracy, bytes, latency, sizes and speeds
// relative to the float teacher), training curves as per-epoch numbers, the settings, sources and build.
import type { PipelineResult } from './run.js';
import type { Variant } from './measure.js';

/** What the report says about how it was made. */
export interface ReportMeta { command: string; version: string; commit: string | null }

export const pct = (v: number | null | undefined, d = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : (100 * v).toFixed(d));
export const kb = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);
export const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '–');
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The float (fine-tuned) teacher the sizes and speeds are relative to. */
export const referenceOf = (r: PipelineResult): Variant | undefined => r.variants.find((v) => v.role === 'teacher' && v.method === 'fine-tune');

export function targetValue(t: PipelineResult['targets'][number]): string {
  if (t.value === null) return '–';
  if (t.unit === '×') return `${t.value.toFixed(2)}×`;
  // a student more accurate than its teacher is "above", not "−x below"
  if (t.unit === 'points below' && t.value < 0) return `${(-t.value).toFixed(2)} points above`;
  return `${t.value.toFixed(2)} ${t.unit}`;
}

export function settingsRows(r: PipelineResult): [string, string][] {
  const s = r.settings;
  return [
    ['source', `${s.source} (teacher ${s.teacherFile}, student ${s.studentFile})`],
    ['target', `${r.target.name}: ${r.target.selection}; ${r.target.train} train / ${r.target.test} test images, ${r.target.classes.length} classes`],
    ['methods', s.methods.join(', ')],
    ['fine-tune / scratch', `${s.epochs} epochs, batch ${s.batch}, Adam lr ${s.lr} cosine, discriminative factor ${s.lrFactor}, shifts ±${s.shift} px`],
    ['features', `linear head ${s.headEpochs} epochs on cached backbone features; nearest class mean`],
    ['compression', `${s.compressEpochs} epochs (method 3: ${s.epochs + s.compressEpochs}), lr ${s.compressLr}, sparsity ${s.sparsity}, distillation T = ${s.temperature}, α = ${s.alpha}`],
    ['method 1 on the source', `${s.sourceEpochs} epoch(s) on ${s.sourcePerClass} images per source class`],
    ['latency', `batch 1, ${s.latencyRounds} interleaved rounds × ${s.latencyRuns} runs, median`],
    ['seed', String(s.seed)],
    ...(s.adapt.length ? [['domain adaptation', `${s.adapt.join(', ')} vs source-only to ${s.unlabeled}, ${s.adaptSteps || 'epochs × ⌊train / batch⌋'} steps, SGD momentum 0.9 lr 0.02 annealed, DANN λ max 0.3, CORAL weight 1`] as [string, string]] : []),
  ];
}

/**
 * The adaptation variants beside source-only: accuracy on the target test set, on the unlabelled domain's
 * held-out labelled images (95 % Wilson) and the gain there. Null when no adaptation ran.
 */
export function adaptationTable(r: PipelineResult): { note: string; head: string[]; rows: string[][] } | null {
  if (!r.adaptation) return null;
  type A = { unlabeledTest: { accuracy: number; count: number; ci: { lo: number; hi: number } } | null; gainOverSourceOnly: number | null; steps: number; unlabeledAdaptationSet: { accuracy: number } | null };
  const vs = r.variants.filter((v) => v.method.startsWith('adapt-'));
  const note = `Unlabelled domain: ${r.adaptation.description}. Its labels ${r.adaptation.scored ? 'are used only to score the finished models' : 'do not exist: only the target test set scores'}; `
    + `training and every choice (a fixed schedule, the last step's model) never see them.`;
  const rows = vs.map((v) => {
    const a = v.details.adapt as A;
    const u = a.unlabeledTest;
    return [v.name, pct(v.accuracy), u ? `${pct(u.accuracy)} (${pct(u.ci.lo)}–${pct(u.ci.hi)}, n = ${u.count})` : '–',
      a.gainOverSourceOnly === null || v.method === 'adapt-source-only' ? '—' : `${a.gainOverSourceOnly >= 0 ? '+' : ''}${pct(a.gainOverSourceOnly)}`,
      pct(a.unlabeledAdaptationSet?.accuracy), String(a.steps)];
  });
  return { note, head: ['variant', 'target test %', 'unlabelled domain, held-out % (95 % Wilson)', 'gain over source-only, points', 'unlabelled images themselves % (transductive)', 'steps'], rows };
}

export function renderMarkdown(r: PipelineResult, meta: ReportMeta): string {
  const ref = referenceOf(r);
  const L: string[] = [];
  L.push('# qwasm pipeline report', '');
  L.push(`Transfer learning and compression on a few-shot target, evaluated on qwasm's kernels (int8 variants on the int8 kernels).`, '');
  L.push(`- command: \`${meta.command}\``);
  L.push(`- build: qwasm ${meta.version}${meta.commit ? ` (commit ${meta.commit.slice(0, 12)})` : ''}, WASM build \`${r.build}\`, Node ${r.node}`);
  L.push(`- started ${r.startedAt}, total ${r.seconds.toFixed(1)} s wall clock, ${r.cpuSeconds.toFixed(1)} s of CPU time (the job runs on one thread: on a shared machine the wall time grows, the CPU time does not)`);
  L.push(`- target: ${r.target.name} — ${r.target.selection}; ${r.target.train} train / ${r.target.test} test images`);
  L.push(`- classes: ${r.target.classes.join(', ')}`, '');

  L.push('## Targets', '', '| target | goal | measured | met | detail |', '|---|---|---:|---|---|');
  for (const t of r.targets) L.push(`| ${cell(t.name)} | ${cell(t.goal)} | ${targetValue(t)} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} | ${cell(t.detail)} |`);
  if (r.finalVariant) L.push('', `The final int8 + pruned student (the fastest of methods (1)–(3) within 2 points of the teacher, else the most accurate): **${r.finalVariant}**.`);
  L.push('');

  L.push('## Variants', '');
  L.push(`Sizes and speeds relative to the float fine-tuned teacher${ref ? ` (${kb(ref.bytes)}, ${ms(ref.latencyMs)} ms per image)` : ''}. Bytes: float = the weights-only checkpoint, int8 = the .qwm export.`, '');
  L.push('| variant | precision | accuracy % | bytes | × smaller | ms / image | × faster | params | sparsity | train s |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const v of r.variants) {
    const small = ref ? (ref.bytes / v.bytes).toFixed(1) : '–', fast = ref && Number.isFinite(v.latencyMs) ? (ref.latencyMs / v.latencyMs).toFixed(2) : '–';
    L.push(`| ${cell(v.name)} | ${v.precision} | ${pct(v.accuracy)} | ${v.bytes} | ${small} | ${ms(v.latencyMs)} | ${fast} | ${v.params} | ${pct(v.sparsity, 1)} % | ${v.seconds.toFixed(1)} |`);
  }
  const int8s = r.variants.filter((v) => v.precision === 'int8');
  if (int8s.length) {
    L.push('', 'int8 variants: accuracy of the float weights, the fake-quant model and the int8 kernels.', '', '| variant | float % | fake-quant % | int8 % |', '|---|---:|---:|---:|');
    for (const v of int8s) L.push(`| ${cell(v.name)} | ${pct(v.details.accuracyFloat as number)} | ${pct(v.details.accuracyFakeQuant as number | null)} | ${pct(v.details.accuracyInt8 as number)} |`);
  }
  L.push('');

  const ad = adaptationTable(r);
  if (ad) {
    L.push('## Domain adaptation', '', ad.note, '', `| ${ad.head.join(' | ')} |`, `|${ad.head.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
    for (const row of ad.rows) L.push(`| ${row.map(cell).join(' | ')} |`);
    L.push('');
  }

  L.push('## Training curves', '', 'Per epoch: training loss, and test accuracy % where it was measured during training (fine-tune, scratch, linear head).', '');
  for (const v of r.variants) {
    if (!v.curve.length) continue;
    const loss = v.curve.map((c) => c.trainLoss.toFixed(3)).join(' ');
    const acc = v.curve.some((c) => c.testAccuracy !== undefined) ? v.curve.map((c) => pct(c.testAccuracy, 1)).join(' ') : null;
    L.push(`- **${v.name}** — loss: ${loss}${acc ? `; test %: ${acc}` : ''}`);
  }
  L.push('');

  L.push('## Settings', '', '| setting | value |', '|---|---|');
  for (const [k, v] of settingsRows(r)) L.push(`| ${cell(k)} | ${cell(v)} |`);
  L.push('', '## Source networks', '', '| role | model | params | pretrained on | command |', '|---|---|---:|---|---|');
  for (const s of r.sources) {
    L.push(`| ${s.role} | ${s.model} ${cell(JSON.stringify({ width: s.options.width }))} | ${s.params} | ${s.dataset ?? '?'}${s.classes ? ` (${s.classes} classes)` : ''} | ${s.command ? `\`${cell(s.command)}\`` : '–'} |`);
  }
  L.push('', '## Stages', '', '| stage | seconds | result |', '|---|---:|---|');
  for (const st of r.stages) L.push(`| ${cell(st.name)} | ${st.seconds.toFixed(1)} | ${cell(st.summary)} |`);
  L.push('');
  return L.join('\n');
}
