// A/B of Int8Runner.predict between this checkout's dist/ and another checkout's (e.g. main's in a worktree), in
// ONE process: both sides load their own dist/ and build, run the same .qwm on the same input, are checked to give
// the same logits, then alternate rounds (order flipped each round); the figure is the median of round medians.
// On a shared machine the ratio is what to read.
//   node bench/int8-ab.mjs --base /tmp/main-worktree/dist --qwm model.qwm [--batch 1] [--threads 1]
//        [--build simd] [--rounds 9] [--runs 40]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({ options: {
  base: { type: 'string' }, qwm: { type: 'string' }, batch: { type: 'string', default: '1' }, threads: { type: 'string', default: '1' },
  build: { type: 'string', default: 'simd' }, rounds: { type: 'string', default: '9' }, runs: { type: 'string', default: '40' },
} });
if (!v.base || !v.qwm) throw new Error('usage: node bench/int8-ab.mjs --base <other dist/> --qwm <model.qwm> [--batch N] [--threads N] [--build B]');
const batch = Number(v.batch), rounds = Number(v.rounds), runs = Number(v.runs);
const here = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const sides = [];
for (const [name, dir] of [['base', path.resolve(v.base)], ['this', here]]) {
  const m = await import(pathToFileURL(path.join(dir, 'index.js')).href);
  const q = await m.init({ build: v.build, threads: Number(v.threads) });
  const r = m.Int8Runner.fromGraph(q.rt, m.decodeQwm(readFileSync(v.qwm)));
  const x = new Float32Array(batch * r.inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37));
  sides.push({ name, r, x, out: r.predict(x, batch), t: [] });
}
if (sides[0].out.some((y, i) => y !== sides[1].out[i])) throw new Error('the two sides give different logits');
for (const s of sides) for (let i = 0; i < 3; i++) s.r.predict(s.x, batch);
for (let round = 0; round < rounds; round++) {
  for (const s of round % 2 ? [...sides].reverse() : sides) {
    const t = [];
    for (let i = 0; i < runs; i++) { const t0 = performance.now(); s.r.predict(s.x, batch); t.push(performance.now() - t0); }
    s.t.push(med(t));
  }
}
const [b, t] = sides.map((s) => med(s.t));
console.log(`${cpus()[0]?.model ?? '?'}; build ${v.build}; ${v.threads} thread(s); batch ${batch}; load ${loadavg()[0].toFixed(2)}`);
console.log(`base ${b.toFixed(3)} ms, this ${t.toFixed(3)} ms: this is ${(b / t).toFixed(3)}× as fast`);
process.exit(0); // the pools' workers
