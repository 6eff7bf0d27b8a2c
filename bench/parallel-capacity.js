// How much parallel speed-up the machine offers right now: the same fixed amount of pure integer work (no
// memory traffic, no synchronisation inside) done by 1 worker thread, or split evenly over N. On an idle N-core
// machine the ratio is ~N×; on a shared one it is what any N-thread program could get at that moment, so
// bench/threads.js measures it in the same interleaved rounds as the real contestants and reports both.
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { workerData } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.ctrl);   // [request seq, done seq, iterations]
let seen = 0, sink = 0;
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  let x = seen | 0;
  for (let i = ctrl[2]; i > 0; i--) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink ^= x;
  Atomics.store(ctrl, 1, seen + (sink & 0));
  Atomics.notify(ctrl, 1);
}`;

/** Starts `threads` spinning workers; run(t, iterations) splits the iterations over t of them (synchronous). */
export function parallelCapacity(threads) {
  const ws = Array.from({ length: threads }, () => {
    const ctrl = new SharedArrayBuffer(12);
    const w = new Worker(SOURCE, { eval: true, workerData: { ctrl } });
    w.unref();
    return { w, ctrl: new Int32Array(ctrl), seq: 0 };
  });
  return {
    /** Seconds for `iterations` LCG steps split over t threads. */
    run(t, iterations) {
      const t0 = performance.now();
      const use = ws.slice(0, t);
      for (const h of use) {
        h.ctrl[2] = Math.ceil(iterations / t);
        Atomics.store(h.ctrl, 0, ++h.seq);
        Atomics.notify(h.ctrl, 0);
      }
      for (const h of use) while (Atomics.load(h.ctrl, 1) !== h.seq) Atomics.wait(h.ctrl, 1, Atomics.load(h.ctrl, 1), 1000);
      return (performance.now() - t0) / 1000;
    },
    close() { for (const h of ws) void h.w.terminate(); },
  };
}
