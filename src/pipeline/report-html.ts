// The pipeline report as one self-contained HTML page: the same tables as the Markdown report, plus inline SVG
// plots (training curves; accuracy vs bytes and accuracy vs latency for every variant). No scripts, no
// external files.
import type { PipelineResult } from './run.js';
import { esc, lineChart, scatterChart, PALETTE, type ScatterPoint, type Series } from './svg.js';
import { adaptationTable, kb, ms, pct, referenceOf, settingsRows, targetValue, type ReportMeta } from './report-md.js';

const table = (head: string[], rows: string[][], numeric: boolean[] = []): string =>
  `<table><thead><tr>${head.map((h, i) => `<th${numeric[i] ? ' class="n"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

export function renderHtml(r: PipelineResult, meta: ReportMeta): string {
  const ref = referenceOf(r);
  const color = new Map(r.variants.map((v, i) => [v.name, PALETTE[i % PALETTE.length]]));
  const pts = (y: (v: PipelineResult['variants'][number]) => number): ScatterPoint[] => r.variants.map((v) => ({
    label: v.name, x: y(v), y: 100 * v.accuracy, color: color.get(v.name), shape: v.precision === 'int8' ? 'square' : 'circle',
  }));
  const accPlot = scatterChart({ title: 'Accuracy vs model bytes (log scale; squares: int8)', xLabel: 'bytes on disk', yLabel: 'test accuracy %', logX: true, points: pts((v) => v.bytes) });
  const latPlot = scatterChart({ title: 'Accuracy vs latency per image (batch 1; squares: int8)', xLabel: 'ms per image', yLabel: 'test accuracy %', logX: true, points: pts((v) => v.latencyMs) });
  const withTest = r.variants.filter((v) => v.curve.some((c) => c.testAccuracy !== undefined) && v.method !== 'features-linear');
  const testSeries: Series[] = withTest.map((v) => ({ name: v.name, color: color.get(v.name), dashed: v.method === 'scratch', points: v.curve.map((c) => [c.epoch, 100 * (c.testAccuracy ?? NaN)]) }));
  const lossSeries: Series[] = r.variants.filter((v) => v.curve.length && v.method !== 'features-linear').map((v) => ({
    name: v.name, color: color.get(v.name), dashed: v.method === 'scratch', points: v.curve.map((c) => [c.epoch, c.trainLoss]),
  }));
  const head = r.variants.filter((v) => v.method === 'features-linear');
  const headSeries: Series[] = head.map((v) => ({ name: `${v.name} (test %)`, color: color.get(v.name), points: v.curve.map((c) => [c.epoch, 100 * (c.testAccuracy ?? NaN)]) }));

  const targets = table(['target', 'goal', 'measured', 'met', 'detail'], r.targets.map((t) => [
    esc(t.name), esc(t.goal), esc(targetValue(t)), t.met === null ? '–' : t.met ? '<b class="ok">yes</b>' : '<b class="no">no</b>', esc(t.detail),
  ]), [false, false, true]);
  const variants = table(['variant', 'precision', 'accuracy %', 'bytes', '× smaller', 'ms / image', '× faster', 'params', 'sparsity %', 'train s'], r.variants.map((v) => [
    `<span class="sw" style="background:${color.get(v.name)}"></span>${esc(v.name)}`, v.precision, pct(v.accuracy), String(v.bytes),
    ref ? (ref.bytes / v.bytes).toFixed(1) : '–', ms(v.latencyMs), ref && Number.isFinite(v.latencyMs) ? (ref.latencyMs / v.latencyMs).toFixed(2) : '–',
    String(v.params), pct(v.sparsity, 1), v.seconds.toFixed(1),
  ]), [false, false, true, true, true, true, true, true, true, true]);
  const int8s = r.variants.filter((v) => v.precision === 'int8');
  const int8Table = int8s.length ? table(['variant', 'float %', 'fake-quant %', 'int8 %'], int8s.map((v) => [
    esc(v.name), pct(v.details.accuracyFloat as number), pct(v.details.accuracyFakeQuant as number | null), pct(v.details.accuracyInt8 as number),
  ]), [false, true, true, true]) : '';
  const ad = adaptationTable(r);
  const adaptation = ad ? `<h2>Domain adaptation</h2>\n<p>${esc(ad.note)}</p>\n${table(ad.head, ad.rows.map((row) => row.map(esc)), ad.head.map((_, i) => i > 0))}` : '';
  const settings = table(['setting', 'value'], settingsRows(r).map(([k, v]) => [esc(k), esc(v)]));
  const sources = table(['role', 'model', 'params', 'pretrained on', 'command'], r.sources.map((s) => [
    s.role, esc(`${s.model} ${JSON.stringify(s.options)}`), String(s.params), esc(`${s.dataset ?? '?'}${s.classes ? ` (${s.classes} classes)` : ''}`), s.command ? `<code>${esc(s.command)}</code>` : '–',
  ]));
  const stages = table(['stage', 'seconds', 'result'], r.stages.map((s) => [esc(s.name), s.seconds.toFixed(1), esc(s.summary)]), [false, true]);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qwasm pipeline report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#f3f3f3}.n{text-align:right}.ok{color:#2a7d2a}.no{color:#b22}code{font-size:12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}.plots svg{margin:.4em .4em .4em 0;border:1px solid #ddd}
</style></head><body>
<h1>qwasm pipeline report</h1>
<p>Transfer learning and compression on a few-shot target, evaluated on qwasm's kernels (int8 variants on the int8 kernels).</p>
<ul>
<li>command: <code>${esc(meta.command)}</code></li>
<li>build: qwasm ${esc(meta.version)}${meta.commit ? ` (commit ${esc(meta.commit.slice(0, 12))})` : ''}, WASM build <code>${esc(r.build)}</code>, Node ${esc(r.node)}</li>
<li>started ${esc(r.startedAt)}, total ${r.seconds.toFixed(1)} s wall clock, ${r.cpuSeconds.toFixed(1)} s of CPU time (the job runs on one thread: on a shared machine the wall time grows, the CPU time does not)</li>
<li>target: ${esc(r.target.name)} — ${esc(r.target.selection)}; ${r.target.train} train / ${r.target.test} test images</li>
<li>classes: ${esc(r.target.classes.join(', '))}</li>
</ul>
<h2>Targets</h2>
${targets}
${r.finalVariant ? `<p>The final int8 + pruned student (the fastest of methods (1)–(3) within 2 points of the teacher, else the most accurate): <b>${esc(r.finalVariant)}</b>.</p>` : ''}
<h2>Variants</h2>
<p>Sizes and speeds relative to the float fine-tuned teacher${ref ? ` (${esc(kb(ref.bytes))}, ${esc(ms(ref.latencyMs))} ms per image)` : ''}. Bytes: float = the weights-only checkpoint, int8 = the .qwm export.</p>
${variants}
${int8Table}
<div class="plots">${accPlot}${latPlot}</div>
${adaptation}
<h2>Training curves</h2>
<div class="plots">
${testSeries.length ? lineChart({ title: 'Test accuracy per epoch (dashed: from scratch)', xLabel: 'epoch', yLabel: 'test accuracy %', series: testSeries }) : ''}
${lossSeries.length ? lineChart({ title: 'Training loss per epoch (compression: total objective)', xLabel: 'epoch', yLabel: 'loss', series: lossSeries }) : ''}
${headSeries.length ? lineChart({ title: 'Linear head on cached features', xLabel: 'epoch', yLabel: 'test accuracy %', series: headSeries }) : ''}
</div>
<h2>Settings</h2>
${settings}
<h2>Source networks</h2>
${sources}
<h2>Stages</h2>
${stages}
</body></html>
`;
}
