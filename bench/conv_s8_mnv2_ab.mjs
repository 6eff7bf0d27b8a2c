// A/B of the int8 conv fast path on the MobileNetV2 student's layer shapes (batch 1), this checkout against
// another one (e.g. a worktree of main), both loaded in the same process and timed interleaved (median of
// rounds), with the outputs of both checked equal byte for byte (same weights, same input).
//   node bench/conv_s8_mnv2_ab.mjs --base /path/to/other/checkout [--build simd] [--px 96] [--rounds 21] [--only 1,2]
//     [--set odd]  (odd: depthwise 3×3 over channel counts that are no multiple of 16, a width-0.9 MobileNetV2
//     without rounding: 29, 86, 173 channels at 48/24/12 px (scaled by --px), stride 1 and 2)
// AB_NOCHECK=1 skips the output check (timing experiments with a deliberately wrong kernel). Prints per layer:
// base µs, this µs (medians), the median of the per-round base / this ratios, and this checkout's GMAC/s.
// Not a test (timings).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({ options: {
  base: { type: 'string' }, build: { type: 'string', default: 'simd' }, px: { type: 'string', default: '96' },
  rounds: { type: 'string', default: '21' }, only: { type: 'string' }, set: { type: 'string', default: 'mnv2' },
} });
if (!o.base) throw new Error('--base: the other checkout (its dist/ and build/ must be built) is required');
const load = async (dir) => (await import(pathToFileURL(path.join(dir, 'dist', 'index.js')).href)).init({ build: o.build, threads: 1 });
const impls = [['base', await load(path.resolve(o.base))], ['this', await load(path.join(here, '..'))]];

// The 96 px student (width 0.9, 16-channel first block): [name, h, c, oc, k, groups, stride, padding]
const s = Number(o.px) / 96;
const r = (v) => Math.round(v * s);
const keras2 = [0, 0, 1, 1]; // Keras stride-2 'same' on an even size: bottom / right only
const layers = [
  ['stem 3x3 3->32 s2', r(96), 3, 32, 3, 1, 2, keras2],
  ['dw 32 s1', r(48), 32, 32, 3, 32, 1, 1],
  ['1x1 32->16', r(48), 32, 16, 1, 1, 1, 0],
  ['1x1 16->80', r(48), 16, 80, 1, 1, 1, 0],
  ['dw 80 s2', r(48), 80, 80, 3, 80, 2, keras2],
  ['1x1 80->24', r(24), 80, 24, 1, 1, 1, 0],
  ['1x1 24->128', r(24), 24, 128, 1, 1, 1, 0],
  ['dw 128 s1', r(24), 128, 128, 3, 128, 1, 1],
  ['1x1 128->24', r(24), 128, 24, 1, 1, 1, 0],
  ['dw 128 s2', r(24), 128, 128, 3, 128, 2, keras2],
  ['1x1 128->32', r(12), 128, 32, 1, 1, 1, 0],
  ['1x1 32->176', r(12), 32, 176, 1, 1, 1, 0],
  ['dw 176 s1', r(12), 176, 176, 3, 176, 1, 1],
  ['1x1 176->32', r(12), 176, 32, 1, 1, 1, 0],
  ['dw 176 s2', r(12), 176, 176, 3, 176, 2, keras2],
  ['1x1 176->64', r(6), 176, 64, 1, 1, 1, 0],
  ['1x1 64->352', r(6), 64, 352, 1, 1, 1, 0],
  ['dw 352 s1', r(6), 352, 352, 3, 352, 1, 1],
  ['1x1 352->64', r(6), 352, 64, 1, 1, 1, 0],
];
const oddLayers = [];
for (const [c, px] of [[29, 48], [86, 24], [173, 12]]) {
  for (const st of [1, 2]) oddLayers.push([`dw ${c} s${st}`, r(px), c, c, 3, c, st, st === 1 ? 1 : keras2]);
}
if (!['mnv2', 'odd'].includes(o.set)) throw new Error(`--set: 'mnv2' or 'odd', not '${o.set}'`);
if (o.set === 'odd') layers.splice(0, layers.length, ...oddLayers);
const only = o.only ? new Set(o.only.split(',').map(Number)) : null;
let seed = 5;
const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296; };
const rows = [];
for (let li = 0; li < layers.length; li++) {
  if (only && !only.has(li)) continue;
  const [name, h, c, oc, k, groups, stride, padding] = layers[li];
  const cg = c / groups;
  const wts = Int8Array.from({ length: oc * k * k * cg }, () => Math.floor(rnd() * 255) - 127);
  const bias = Int32Array.from({ length: oc }, () => Math.floor(rnd() * 4000) - 2000);
  const scale = Float32Array.from({ length: oc }, () => 0.002 + rnd() * 0.004);
  const x = Int8Array.from({ length: h * h * c }, () => Math.floor(rnd() * 256) - 128);
  const opts = { stride, padding, groups, inZeroPoint: -5, bias, scale, outZeroPoint: 3, activation: 'relu6', outScale: 0.03 };
  const runs = impls.map(([tag, q]) => {
    const p = q.packConv2dS8(wts, [oc, k, k, cg], opts);
    const [, oh, ow] = p.outputShape(1, h, h);
    const ip = q.rt.put(x), op = q.rt.alloc(oh * ow * oc);
    return { tag, q, p, ip, op, len: oh * ow * oc, oh, ow, t: [] };
  });
  for (const u of runs) u.p.run(u.ip, 1, h, h, u.op);
  const [a, b] = runs.map((u) => u.q.rt.i8(u.op, u.len));
  if (!process.env.AB_NOCHECK) for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${name}: outputs differ at ${i} (${a[i]} vs ${b[i]})`);
  const macs = runs[0].oh * runs[0].ow * oc * k * k * cg;
  const iters = Math.max(5, Math.round(4e6 / macs));
  rows.push({ name, h, macs, iters, runs });
}
for (let round = 0; round < Number(o.rounds); round++) {
  for (const row of rows) {
    const order = round & 1 ? [1, 0] : [0, 1];
    for (const j of order) {
      const u = row.runs[j];
      const t0 = performance.now();
      for (let i = 0; i < row.iters; i++) u.p.run(u.ip, 1, row.h, row.h, u.op);
      u.t.push((performance.now() - t0) / row.iters * 1000);
    }
  }
}
const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
let tb = 0, tt = 0;
console.log(`build ${o.build}, ${o.px} px, ${o.rounds} rounds (median µs per call)`);
for (const row of rows) {
  const [b, t] = row.runs.map((u) => med(u.t));
  const paired = med(row.runs[0].t.map((v, i) => v / row.runs[1].t[i])); // per-round ratio: robust to load swings
  tb += b; tt += t;
  console.log(`${row.name.padEnd(20)} base ${b.toFixed(1).padStart(7)}  this ${t.toFixed(1).padStart(7)}  ×${paired.toFixed(2)}  ${(row.macs / t / 1e3).toFixed(1)} GMAC/s`);
}
console.log(`${'sum'.padEnd(20)} base ${tb.toFixed(1).padStart(7)}  this ${tt.toFixed(1).padStart(7)}  ×${(tb / tt).toFixed(2)}`);
