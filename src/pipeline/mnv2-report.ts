// The MobileNetV2 pipeline's report: the same sections rendered as Markdown and HTML (report.md, report.html),
// and the result as report.json — written atomically into the report directory.
import { fs, path } from '../util/node.js';
import type { Mnv2Result } from './mnv2-run.js';
import type { ReportMeta } from './report-md.js';
import { droppedText } from './mnv2-settings.js';

interface Section { title: string; text: string[]; head?: string[]; rows?: string[][] }

const p = (v: number | null | undefined, d = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : (100 * v).toFixed(d));
const num = (v: number | null | undefined, d = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

export function sections(r: Mnv2Result, meta: ReportMeta): Section[] {
  const s = r.settings;
  const ref = r.variants.find((v) => v.key === r.finalTeacher)!;
  const out: Section[] = [];
  out.push({ title: 'qwasm pipeline report: MobileNetV2 → ' + r.target.name, text: [
    `command: \`${meta.command}\``,
    `build: qwasm ${meta.version}${meta.commit ? ` (commit ${meta.commit.slice(0, 12)})` : ''}, WASM build \`${r.build}\`, ${r.threads} thread(s), Node ${r.node}`,
    `started ${r.startedAt}; ${r.seconds.toFixed(1)} s wall clock, ${r.cpuSeconds.toFixed(1)} s CPU; load average at the end ${r.loadAverage.join(' / ') || '?'} (other jobs on the machine inflate the wall time)`,
    `target: ${r.target.protocol}`,
    `classes (${r.target.classes.length}): ${r.target.classes.join(', ')}`,
    `teacher: ${r.teacher.source} cut at ${r.teacher.cut} (+ GlobalAvgPool + Linear), ${r.teacher.inputSize} px, ${r.teacher.params} parameters, input x/255 (${r.teacher.norm}); the first ${r.teacher.frozenPrefixLayers} top-level layers (up to ${r.teacher.cacheAt}) are ImageNet-frozen and cached`,
    `final teacher (chosen on validation): **${ref.name}**`,
  ] });
  out.push({ title: 'Targets', text: [], head: ['comparison', 'goal', 'measured', 'met', 'detail'],
    rows: r.comparisons.map((c) => [c.name, c.goal, c.value === null ? '–' : `${c.value.toFixed(2)} ${c.unit}`, c.met === null ? '–' : c.met ? 'yes' : '**no**', c.detail]) });
  out.push({ title: 'Variants', text: ['Accuracy: pooled over the splits the variant ran on, with the 95 % Wilson interval over the distinct test images; validation: the mean over those splits (what every choice is made on). Bytes: float = weights-only checkpoint, int8 = the .qwm export. Latency: batch 1, interleaved rounds, median (teacher on the f32 engine, student on the int8 kernels).'],
    head: ['variant', 'precision', 'test accuracy %', '95 % interval', 'splits', 'validation %', 'params', 'bytes', 'ms / image', 'train s'],
    rows: r.variants.map((v) => [v.name, v.precision, p(v.score.accuracy, 2), `${p(v.score.ci.lo)}–${p(v.score.ci.hi)}`, `${v.score.splits} (${v.score.distinct} images)`, p(v.score.valAccuracy), String(v.params), v.bytes === null ? '–' : String(v.bytes), num(v.latencyMs, 3), v.seconds.toFixed(1)]) });
  out.push({ title: 'Per split', text: ['Test and validation accuracy per split, and the epoch kept (the best validation epoch).'],
    head: ['split', ...r.variants.map((v) => v.key)],
    rows: r.target.splits.map((sp) => [sp.name, ...r.variants.map((v) => {
      const x = v.score.perSplit.find((q) => q.split === sp.name);
      return x ? `${p(x.test)} (val ${p(x.val)}${x.epoch !== undefined ? `, ep ${x.epoch}` : ''})` : '–';
    })]) });
  const c = r.cache;
  out.push({ title: 'Frozen-prefix cache', text: [
    `The frozen layers run once per image (eval mode, BatchNorm on running statistics), not once per epoch: ${c.images} images in ${c.seconds.toFixed(1)} s (${c.imagesPerSecond.toFixed(1)} img/s).`,
    `Storage: ${c.storage}; a ${c.shape.join('×')} map = ${c.bytesPerImage} B per image at ${r.teacher.inputSize} px (${c.bytesPerImageAt224} B at 224 px); ranges from ${c.rangeSource}, ${(c.clippedFraction * 100).toFixed(3)} % of the values clipped; largest dequantisation error ${c.maxAbsError.toExponential(2)}.`,
    `Augmentation: ${c.augmentation}.`,
  ] });
  out.push({ title: 'Throughput', text: [`${r.threads} thread(s); images per second of each training stage in this run.`], head: ['stage', 'images / s', 'batch', 'input px', 'layers'],
    rows: r.throughput.map((t) => [t.stage, num(t.imagesPerSecond, 1), String(t.batch), String(t.inputSize), t.note]) });
  const student = r.variants.find((v) => v.key === 'student')!;
  out.push({ title: 'Settings', text: [], head: ['setting', 'value'], rows: [
    ['(a) linear head', `≤ ${s.headEpochs} epochs, Adam lr ${s.headLr} constant, epoch chosen on validation then retrained to it`],
    ['(b) fine-tune', `≤ ${s.epochs} epochs on the cache, batch ${s.batch}, Adam lr ${s.lr} cosine, discriminative factor ${s.lrFactor} per layer group, head initialised from (a) (linear probe, then fine-tune), best validation epoch kept`],
    ['(c) scratch', `≤ ${s.scratchEpochs} epochs on images, every layer, random init (Kaiming), batch ${s.batch}, Adam lr ${s.scratchLr} cosine, shifts + flips, best validation epoch kept; on the first ${r.variants.find((v) => v.key === 'scratch')!.score.splits} split(s) (the budget)`],
    ['(d) student', `teacher layers up to ${s.studentCut}${droppedText(s, 'the residual blocks ')}, channel widths ${s.studentKeep.join(' / ')} by filter L1 norm (validation picks the narrowest within 2 points of the teacher's validation accuracy, else the most accurate), input ${String(student.details.inputSize)} px, ${s.studentEpochs} epochs joint QAT + distillation (T = ${s.temperature}, α = ${s.alpha}) + channel pruning ${s.sparsity}, lr ${s.studentLr}; on the first ${student.score.splits} split(s)`],
    ['(d) transfer set', typeof student.details.transferSet === 'string' ? `${student.details.transferSet}${s.flipCopies ? " (with flipped copies)" : ""}: ${String(student.details.transferImages)} images labelled by each split's teacher (its predictions; its soft outputs are the distillation targets)` : 'none (labelled training images only)'],
    ['latency', `${s.latencyRounds} interleaved rounds × ${s.latencyRuns} runs, batch 1, median`],
    ['seed', String(s.seed)],
  ] });
  out.push({ title: 'Stages', text: [], head: ['stage', 'seconds', 'result'], rows: r.stages.map((st) => [st.name, st.seconds.toFixed(1), st.summary]) });
  return out;
}

const mdCell = (x: string): string => x.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMnv2Markdown(r: Mnv2Result, meta: ReportMeta): string {
  const L: string[] = [];
  sections(r, meta).forEach((sec, i) => {
    L.push(`${i === 0 ? '#' : '##'} ${sec.title}`, '');
    if (i === 0) for (const t of sec.text) L.push(`- ${t}`); else for (const t of sec.text) L.push(t, '');
    if (sec.head && sec.rows) {
      L.push('', `| ${sec.head.map(mdCell).join(' | ')} |`, `|${sec.head.map(() => '---').join('|')}|`);
      for (const row of sec.rows) L.push(`| ${row.map(mdCell).join(' | ')} |`);
    }
    L.push('');
  });
  return L.join('\n');
}

const esc = (x: string): string => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inline = (x: string): string => esc(x).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>').replace(/`(.+?)`/g, '<code>$1</code>');

export function renderMnv2Html(r: Mnv2Result, meta: ReportMeta): string {
  const body = sections(r, meta).map((sec, i) => {
    const text = i === 0 ? `<ul>${sec.text.map((t) => `<li>${inline(t)}</li>`).join('')}</ul>` : sec.text.map((t) => `<p>${inline(t)}</p>`).join('');
    const table = sec.head && sec.rows ? `<table><thead><tr>${sec.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${sec.rows.map((row) => `<tr>${row.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>` : '';
    return `<h${i === 0 ? 1 : 2}>${esc(sec.title)}</h${i === 0 ? 1 : 2}>${text}${table}`;
  }).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>qwasm pipeline: MobileNetV2</title><style>body{font:14px system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}th{background:#f4f4f4}</style></head><body>\n${body}\n</body></html>\n`;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs().writeFileSync(tmp, text);
  fs().renameSync(tmp, file);
}

export function writeMnv2Report(dir: string, r: Mnv2Result, meta: ReportMeta): { markdown: string; html: string; json: string } {
  fs().mkdirSync(dir, { recursive: true });
  const out = { markdown: path().join(dir, 'report.md'), html: path().join(dir, 'report.html'), json: path().join(dir, 'report.json') };
  writeAtomic(out.markdown, renderMnv2Markdown(r, meta));
  writeAtomic(out.html, renderMnv2Html(r, meta));
  writeAtomic(out.json, `${JSON.stringify({ qwasm: meta.version, commit: meta.commit, command: meta.command, ...r }, null, 1)}\n`);
  return out;
}
