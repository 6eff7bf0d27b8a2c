import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
const require = createRequire('/work/main/package.json');
setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/'); setThreadsCount(1);
await tf.setBackend('wasm'); await tf.ready();
const files = process.argv.slice(2);
const mods = [];
for (const f of files) { const { instance } = await WebAssembly.instantiate(readFileSync(f), {}); mods.push(instance.exports); }
function rnd(n) { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1; return a; }
for (const s of [256, 512, 1024]) {
  const A = rnd(s*s), B = rnd(s*s);
  const runs = mods.map((e) => { const ap = e.qw_alloc(s*s*4), bp = e.qw_alloc(s*s*4), cp = e.qw_alloc(s*s*4);
    new Float32Array(e.memory.buffer, ap, s*s).set(A); new Float32Array(e.memory.buffer, bp, s*s).set(B);
    return () => e.gemm_f32(s,s,s,1,ap,s,0,bp,s,0,0,cp,s,0); });
  const ta = tf.tensor2d(A,[s,s]), tb = tf.tensor2d(B,[s,s]);
  runs.push(() => { const c = tf.matMul(ta,tb); c.dataSync(); c.dispose(); });
  const reps = Math.max(1, Math.round(3e8/(2*s*s*s)));
  const best = runs.map(() => 1e9);
  for (let r = 0; r < 7; r++) runs.forEach((fn, i) => { const t0 = performance.now(); for (let j = 0; j < reps; j++) fn(); best[i] = Math.min(best[i], (performance.now()-t0)/reps); });
  console.log(s, best.map((b, i) => (i < files.length ? path.basename(files[i]) : 'tfjs') + ' ' + (2*s*s*s/b/1e6).toFixed(2)).join('  '));
}
