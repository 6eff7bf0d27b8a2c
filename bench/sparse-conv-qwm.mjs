// A .qwm with sparse convs: batch-B int8 latency of the file as is (convs sparse: im2col + SparseMatrixS8) vs the
// same graph with the convs' sparse specs removed (PackedConv2dS8); identical outputs checked. Interleaved rounds.
//   node bench/sparse-conv-qwm.mjs FILE.qwm [--rounds N] [--runs N] [--batch B]
import fs from 'node:fs';
import { init, decodeQwm, Int8Runner } from '../dist/index.js';
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? Number(args[i + 1]) : d; };
const rounds = opt('--rounds', 9), runs = opt('--runs', 50), batch = opt('--batch', 1);
const file = args.find((a) => a.endsWith('.qwm'));
const q = await init({ build: process.env.QWASM_BUILD ?? 'auto' });
const bytes = fs.readFileSync(file);
const gs = decodeQwm(bytes), gd = decodeQwm(bytes);
const walk = (nodes, f) => nodes.forEach((n) => { f(n); if (n.kind === 'residual') { walk(n.body, f); if (n.shortcut) walk(n.shortcut, f); } });
walk(gd.nodes, (n) => { if (n.kind === 'conv') n.sparse = null; });
const gm = decodeQwm(bytes);
walk(gm.nodes, (n) => { if (n.kind === 'conv') { let z = 0; for (const v of n.w) z += v !== 0; if (z / n.w.length > 0.5) n.sparse = null; } });
const sparse = Int8Runner.fromGraph(q.rt, gs), dense = Int8Runner.fromGraph(q.rt, gd), mixed = Int8Runner.fromGraph(q.rt, gm);
const dens = [];
walk(gs.nodes, (n) => { if (n.kind === 'conv' || n.kind === 'linear') { let z = 0; for (const v of n.w) z += v !== 0; dens.push(`${n.name}:${n.kind}${n.kind === 'conv' ? `${n.kh}x${n.kw}` : ''} ${(100 * z / n.w.length).toFixed(1)}% ${n.sparse ? n.sparse.format : 'dense'}`); } });
console.log(`build ${q.build}, batch ${batch}, ${file}\n  ${dens.join('\n  ')}`);
const per = gs.inputShape.reduce((a, b) => a * b, 1);
const xc = Int8Array.from({ length: batch * per }, (_, i) => ((i * 37) % 255) - 128);
const a = sparse.predictCodes(xc, batch), b = dense.predictCodes(xc, batch);
if (a.some((v, i) => v !== b[i])) throw new Error('sparse and dense outputs differ');
const t = { sparse: [], dense: [], mixed: [] }, R = { sparse, dense, mixed };
const orders = [['sparse', 'dense', 'mixed'], ['dense', 'mixed', 'sparse'], ['mixed', 'sparse', 'dense']];
for (let r = 0; r < rounds; r++) for (const k of orders[r % 3]) t[k].push(R[k].latencyMs(batch, runs));
const med = (v) => [...v].sort((p, r) => p - r)[v.length >> 1];
const ratios = t.sparse.map((v, i) => t.dense[i] / v);
const rm = t.mixed.map((v, i) => t.dense[i] / v);
console.log(`convs > 50 % dense kept dense: median ${med(t.mixed).toFixed(4)} ms, dense/mixed ${(med(t.dense) / med(t.mixed)).toFixed(2)}× (median of ratios ${med(rm).toFixed(2)}×)`);
console.log(`median ms: sparse ${med(t.sparse).toFixed(4)}  dense ${med(t.dense).toFixed(4)}  dense/sparse ${(med(t.dense) / med(t.sparse)).toFixed(2)}×  (per-round ${ratios.map((v) => v.toFixed(2)).join(' ')}; median of ratios ${med(ratios).toFixed(2)}×)`);
