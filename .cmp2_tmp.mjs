import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { init } from './dist/index.js';
setWasmPaths(process.cwd() + '/node_modules/@tensorflow/tfjs-backend-wasm/dist/'); setThreadsCount(1);
await tf.setBackend('wasm'); await tf.ready();
const q = await init({ build: 'simd' });
for (const s of [256, 1024]) {
  const a = q.rt.put(new Float32Array(s*s).fill(0.5)), b = q.rt.put(new Float32Array(s*s).fill(0.25)), c = q.rt.alloc(s*s*4);
  const ta = tf.randomUniform([s,s]), tb = tf.randomUniform([s,s]);
  const fns = [() => q.gemmF32Ptr(s,s,s,a,b,c), () => tf.matMul(ta,tb).dispose()];
  const reps = Math.max(1, Math.round(2e8/(2*s*s*s)));
  const rs = [];
  for (let r = 0; r < 9; r++) { const t = fns.map((fn) => { const t0 = performance.now(); for (let i = 0; i < reps; i++) fn(); return (performance.now()-t0)/reps; }); rs.push(t); }
  const g = (t) => (2*s*s*s/t/1e6).toFixed(1);
  console.log(s, rs.map(([x,y]) => `${g(x)}/${g(y)}`).join(' '), 'best', g(Math.min(...rs.map(r=>r[0]))), g(Math.min(...rs.map(r=>r[1]))));
}
