// The typed-array conveniences vs the packed handle vs onnxruntime-web (1 thread each), interleaved rounds,
// median µs per call: what a user calling q.gemmS8(a, b, m, k, n) in a loop pays now that the packed B is cached
// (src/kernels/pack-cache.ts), and the worst case (b mutated before every call: repack every time).
//   node bench/gemm-convenience.js [--rounds N]
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { init } from '../dist/index.js';
import { matMulIntegerModel } from './onnx-model.js';

const { values: a } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const require = createRequire(import.meta.url);
const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = path.dirname(require.resolve('onnxruntime-web')) + path.sep;
ort.env.logLevel = 'error';
const q = await init({ build: 'simd', threads: 1 });
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
const med = (v) => { const s = [...v].sort((x, y) => x - y); return s[s.length >> 1]; };
const s8 = (n, seed) => { let s = seed; return Int8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24) % 255 - 127); };

async function timeIt(fn, minMs = 150) {
  await fn();
  let n = 0; const t0 = performance.now();
  while (performance.now() - t0 < minMs) { await fn(); n++; }
  return (performance.now() - t0) * 1000 / n;
}

console.log(`${new Date().toISOString()}  ${cpu}  load ${os.loadavg()[0].toFixed(1)}`);
for (const [m, k, n] of [[1, 1024, 1024], [1, 576, 128], [64, 576, 128], [256, 256, 256]]) {
  const A = s8(m * k, 3), B = s8(k * n, 7), Au = Uint8Array.from(A, (v) => v + 128);
  const packed = q.packGemmS8(B, k, n);
  const ap = q.rt.put(A), cp = q.rt.alloc(4 * m * n);
  const session = await ort.InferenceSession.create(matMulIntegerModel(m, k, n, B), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feeds = { a: new ort.Tensor('uint8', Au, [m, k]) };
  const Bm = B.slice();
  const cands = {
    'packed runInt32': () => packed.runInt32(ap, m, cp),
    'q.gemmS8 (cached)': () => q.gemmS8(A, B, m, k, n),
    'q.gemmS8 (b mutated every call)': () => { Bm[0] = Bm[0] === 1 ? 2 : 1; q.gemmS8(A, Bm, m, k, n); },
    'ORT MatMulInteger': () => session.run(feeds),
  };
  const names = Object.keys(cands), rows = [];
  for (let r = 0; r < +a.rounds; r++) {
    const row = {};
    for (let i = 0; i < names.length; i++) { const nm = names[(i + r) % names.length]; row[nm] = await timeIt(cands[nm]); }
    rows.push(row);
  }
  console.log(`M=${m} K=${k} N=${n}:`);
  for (const nm of names) {
    const us = med(rows.map((r) => r[nm])), vsOrt = med(rows.map((r) => r['ORT MatMulInteger'] / r[nm]));
    console.log(`  ${nm.padEnd(34)} ${us.toFixed(1).padStart(9)} µs   ${vsOrt.toFixed(2)}× ORT`);
  }
  packed.dispose(); q.rt.free(ap); q.rt.free(cp); await session.release();
}
