#!/usr/bin/env node
// Threads in a browser: batch-64 int8 inference with 1 vs 2 threads inside a dedicated Worker of a
// cross-origin-isolated page in headless Chromium, or Firefox (--browser firefox; test/browsers.js drives both;
// the pool's threads are nested Web Workers: src/threads/transport-browser.ts), next to the same models with 1 vs
// 2 threads in Node (worker_threads) and the spin reference of the machine's parallel capacity
// (bench/parallel-capacity.js), in the same interleaved rounds.
//   node bench/threads-chromium.js [--browser chromium|firefox] [--rounds 7] [--calls 20] [--skip-mnet]
// Models: the reference CNN (28×28×1) and the built-in MobileNet (width 32, 96×96×3), random weights calibrated
// on random images and converted to int8 (timing does not depend on the weights' values); the same .qwm bytes on
// both sides. Each round: the browser's Worker (1 and 2 threads alternating per block of --calls calls), its
// main thread (predictCodes vs predictCodesAsync with 2 Web Workers), Node (same as the Worker), spin reference;
// order flipped every round. Reports per round the ratio of the 1-thread to the 2-thread time per
// call, and the median over rounds; the CPU and the 1-minute load. (Needs `npm run build` and the browser.)
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as qw from '../dist/index.js';
import * as rtEntry from '../dist/runtime-entry.js';
import { openBrowser, ENGINES, ISOLATED } from '../test/browsers.js';
import { encode, decode } from '../test/wire.js';
import { timeInference, pingPool } from '../test/threads-page/scenario.js';
import { parallelCapacity } from './parallel-capacity.js';

const { values: a } = parseArgs({ options: {
  browser: { type: 'string', default: 'chromium' }, rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '20' }, 'skip-mnet': { type: 'boolean', default: false },
} });
const rounds = +a.rounds, calls = +a.calls;
if (!ENGINES[a.browser]) throw new Error(`--browser must be one of ${Object.keys(ENGINES).join(', ')}, got ${a.browser}`);
const B = ENGINES[a.browser].label;
for (const k of ['rounds', 'calls']) if (!(Number.isInteger(+a[k]) && +a[k] >= 1)) throw new Error(`--${k} must be a positive integer, got ${a[k]}`);
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
const N = 64;
let s0 = 99;
const codesOf = (n) => Int8Array.from({ length: n }, () => { s0 = (s0 * 1103515245 + 12345) >>> 0; return (s0 >>> 24) - 128; });

async function int8Qwm(name, input, opts) {
  const q = await qw.init({ build: 'simd', threads: 1 });
  const per = input.reduce((x, y) => x * y, 1);
  const data = qw.createDataset({ name: 'random', images: Uint8Array.from(codesOf(16 * per), (v) => v + 128), labels: Int32Array.from({ length: 16 }, (_, i) => i % 10),
    height: input[0], width: input[1], channels: input[2], classes: '0123456789'.split('') });
  const i8 = qw.convertToInt8(qw.quantizeStatic(qw.buildModel(new qw.Engine(q.rt), name, { seed: 1, input, ...opts }), data, { batches: 2, batchSize: 8 }));
  const bytes = i8.qwm();
  i8.dispose();
  return { name: `${name} ${input.join('×')}`, qwm: bytes, codes: codesOf(N * per) };
}

const models = [await int8Qwm('refcnn', [28, 28, 1], {})];
if (!a['skip-mnet']) models.push(await int8Qwm('mobilenet', [96, 96, 3], { width: 32 }));

const session = await openBrowser({ engine: a.browser });
const page = await session.open(`${ISOLATED}/test/threads-page/index.html`);
const inPage = (where) => async (name, args) => {
  const res = await page.evaluate(([where, name, args]) => window[where](name, args), [where, name, encode(args)]);
  if (res.error) throw new Error(res.error);
  return decode(res.ok);
};
const SIDES = {
  browser: { what: `${B} Worker + nested Web Worker`, run: inPage('inWorker') },
  main: { what: `${B} main thread, predictCodesAsync (2 Web Workers) vs predictCodes`, run: (n, args) => inPage('onMain')(n, { ...args, async: true }) },
  node: { what: 'Node worker_threads', run: (n, args) => timeInference(rtEntry, args) },
};
const cap = parallelCapacity(2);
let capIters = 1e6;
{ cap.run(1, capIters); const s = Math.min(...[0, 1, 2].map(() => cap.run(1, capIters))); capIters = Math.round(capIters * 0.01 / s); }
const capacity = () => {
  const t = { 1: [], 2: [] };
  for (let i = 0; i < 10; i++) for (const k of i % 2 ? [2, 1] : [1, 2]) t[k].push(cap.run(k, capIters));
  const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
  return med(t[1]) / med(t[2]);
};

const load0 = os.loadavg()[0];
const rows = Object.fromEntries(models.map((m) => [m.name, Object.fromEntries(Object.keys(SIDES).map((k) => [k, { ratio: [], ips: [[], []] }]))]));
const spin = [], loads = [];
for (let r = 0; r < rounds; r++) {
  for (const m of models) {
    const mc = m.name.startsWith('mobilenet') ? Math.max(2, Math.round(calls / 10)) : calls;
    const args = { qwm: m.qwm, codes: m.codes, n: N, threads: [1, 2], rounds: 2, calls: mc };
    const sides = Object.keys(SIDES);
    if (r % 2) sides.reverse();
    for (const side of sides) {
      const res = await SIDES[side].run('timeInference', args);
      if (res.threads[1] !== 2) throw new Error(`${side}: the 2-thread runtime has ${res.threads[1]} threads`);
      const t1 = Math.min(...res.secs[0]), t2 = Math.min(...res.secs[1]), row = rows[m.name][side];
      row.ratio.push(t1 / t2);
      row.ips[0].push(N / t1); row.ips[1].push(N / t2);
    }
  }
  spin.push(capacity());
  loads.push(os.loadavg()[0]);
  console.error(`round ${r + 1}/${rounds}: load ${loads.at(-1).toFixed(1)}, spin ${spin.at(-1).toFixed(2)}×, ` +
    models.map((m) => `${m.name} ${Object.keys(SIDES).map((k) => `${k} ${rows[m.name][k].ratio.at(-1).toFixed(2)}×`).join(' ')}`).join(', '));
}
// the protocol's own cost: round trips of an empty request, in the Worker (nested Web Worker) and in Node
const pings = { browser: await SIDES.browser.run('pingPool', { calls: 2000 }), node: await pingPool(qw, { calls: 2000 }) };
await session.close();
cap.close();

const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
const f = (v) => v.map((x) => x.toFixed(2)).join(' ');
console.log(`CPU ${cpu}, ${os.availableParallelism?.() ?? os.cpus().length} cores, ${B} ${session.version}, ${new Date().toISOString()}, load ${load0.toFixed(1)} → ${loads.at(-1).toFixed(1)}`);
console.log(`2 vs 1 thread, batch ${N}, ratio of the faster of 2 blocks per thread count, per round; median over ${rounds} rounds`);
console.log(`| pair | median | per round | images/s 1 → 2 threads (medians) |\n|---|---|---|---|`);
console.log(`| spin reference (Node worker_threads) | ${med(spin).toFixed(2)}× | ${f(spin)} | — |`);
console.log(`empty request round trip, µs p10 / p50 / p90: ${B} Worker → nested Web Worker ${pings.browser.map((x) => x.toFixed(1)).join(' / ')}, ` +
  `Node → worker_threads ${pings.node.map((x) => x.toFixed(1)).join(' / ')} (load ${os.loadavg()[0].toFixed(1)})`);
for (const m of models) {
  for (const [side, { what }] of Object.entries(SIDES)) {
    const row = rows[m.name][side];
    console.log(`| int8 ${m.name}, ${what} | ${med(row.ratio).toFixed(2)}× | ${f(row.ratio)} | ${Math.round(med(row.ips[0]))} → ${Math.round(med(row.ips[1]))} |`);
  }
}
