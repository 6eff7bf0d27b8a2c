// How much parallel speed-up the machine offers right now: the same fixed amount of work (no synchronisation
// inside) done by 1 worker thread, or split evenly over N. On an idle N-core machine the ratio is ~N×; on a
// shared one it is what any N-thread program could get at that moment, so bench/threads.js measures it in the
// same interleaved rounds as the real contestants and reports both. Two kinds of work:
//   'spin'  a dependent integer multiply chain: latency-bound, registers only — the plain core count;
//   'gemm'  qwasm's packed int8 GEMM (64×576×128, L2-resident, the kernels of the int8 and conv layers): SIMD
//           throughput-bound — what the cores give SIMD work when both run it at once (two vCPUs that share a
//           physical core's SIMD units, or a shared cache, show here and not in 'spin').
import { Worker } from 'node:worker_threads';

const SPIN = `
const { workerData } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.ctrl);   // [request seq, done seq, iterations, ready]
let seen = 0, sink = 0;
Atomics.store(ctrl, 3, 1);
Atomics.notify(ctrl, 3);
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  let x = seen | 0;
  for (let i = ctrl[2]; i > 0; i--) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink ^= x;
  Atomics.store(ctrl, 1, seen + (sink & 0));
  Atomics.notify(ctrl, 1);
}`;

/** An ES module (a data: URL: an eval'd CommonJS worker cannot import() while the caller blocks in Atomics.wait). */
const gemm = (dist) => `
import { workerData } from 'node:worker_threads';
import { init } from ${JSON.stringify(dist)};
const ctrl = new Int32Array(workerData.ctrl);   // [request seq, done seq, GEMM calls, ready]
const q = await init({ threads: 1 });
const M = 64, K = 576, N = 128, b = new Int8Array(K * N);
let s = 7;
for (let i = 0; i < b.length; i++) { s = (Math.imul(s, 1103515245) + 12345) | 0; b[i] = s >> 25; }   // [-64, 63]: int8 weights stay in [-127, 127]
const h = q.packGemmS8(b, K, N), a = q.rt.alloc(M * K), c = q.rt.alloc(4 * M * N);
q.rt.i8(a, M * K).fill(3);
let seen = 0;
Atomics.store(ctrl, 3, 1);
Atomics.notify(ctrl, 3);
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  for (let i = ctrl[2]; i > 0; i--) h.runInt32(a, M, c);
  Atomics.store(ctrl, 1, seen);
  Atomics.notify(ctrl, 1);
}`;

/**
 * Starts `threads` workers doing `kind` work; run(t, units) splits the units (spin: multiply steps, gemm: GEMM
 * calls) over t of them (synchronous). `unit` is a first guess of the units in ~1 ms, for calibration.
 */
export function parallelCapacity(threads, kind = 'spin') {
  if (kind !== 'spin' && kind !== 'gemm') throw new Error(`kind must be 'spin' or 'gemm', got ${kind}`);
  const dist = new URL('../dist/index.js', import.meta.url).href;
  const ws = Array.from({ length: threads }, () => {
    const ctrl = new SharedArrayBuffer(16);
    const w = kind === 'spin' ? new Worker(SPIN, { eval: true, workerData: { ctrl } })
      : new Worker(new URL('data:text/javascript,' + encodeURIComponent(gemm(dist))), { workerData: { ctrl } });
    w.unref();
    return { w, ctrl: new Int32Array(ctrl), seq: 0 };
  });
  for (const h of ws) {
    const t0 = Date.now();
    while (Atomics.load(h.ctrl, 3) === 0) {
      Atomics.wait(h.ctrl, 3, 0, 100);
      if (Date.now() - t0 > 60_000) throw new Error(`the ${kind} capacity worker did not start within 60 s`);
    }
  }
  return {
    unit: kind === 'spin' ? 1e6 : 4,
    /** Seconds for `units` of work split over t threads. */
    run(t, units) {
      const t0 = performance.now();
      const use = ws.slice(0, t);
      for (const h of use) {
        h.ctrl[2] = Math.ceil(units / t);
        Atomics.store(h.ctrl, 0, ++h.seq);
        Atomics.notify(h.ctrl, 0);
      }
      for (const h of use) while (Atomics.load(h.ctrl, 1) !== h.seq) Atomics.wait(h.ctrl, 1, Atomics.load(h.ctrl, 1), 1000);
      return (performance.now() - t0) / 1000;
    },
    close() { for (const h of ws) void h.w.terminate(); },
  };
}
