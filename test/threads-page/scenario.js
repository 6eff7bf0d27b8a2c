// The threads scenario of test/threads-browsers.test.js and bench/threads-chromium.js, one source for both sides:
// Node runs it on ../../dist/, the page's dedicated Worker (test/threads-page/worker.js) on the same modules.
// Each function takes the library's namespaces and plain data and returns plain data (compared through
// test/wire.js).

export const IMAGE = [28, 28, 1];

/**
 * A .qwm model loaded with `threads` (qwasm/runtime's loadQwm: it starts the Web Workers in a browser), run on
 * the same batch of int8 codes `calls` times. Returns the thread count the runtime settled on and why, the
 * output codes, and the work (samples) each pool worker reported.
 */
export async function inferCodes(rtEntry, { qwm, codes, n, threads, calls = 1 }) {
  const m = await rtEntry.loadQwm(qwm, { threads });
  try {
    let out = null;
    for (let i = 0; i < calls; i++) out = m.predictCodes(codes, n);
    const rt = m.runner.rt;
    return { threads: rt.threads, reason: rt.threadsReason, codes: out, work: rt.pool ? [...rt.pool.work] : [] };
  } finally {
    m.dispose();
  }
}

/**
 * inferCodes through predictCodesAsync: on a browser main thread the runtime's Web Workers run every sample
 * (`work` then sums to calls × n), elsewhere it is predictCodes.
 */
export async function inferCodesAsync(rtEntry, { qwm, codes, n, threads, calls = 1, x = null }) {
  const m = await rtEntry.loadQwm(qwm, { threads });
  try {
    const outs = await Promise.all(Array.from({ length: calls }, () => m.predictCodesAsync(codes, n))); // overlapping calls
    if (outs.some((o) => o.some((v, i) => v !== outs[0][i]))) throw new Error('overlapping predictCodesAsync calls disagree');
    // floats (quantised by whichever thread claims them): predictAsync's logits and predict's on this thread
    const logits = x ? { async: await m.predictAsync(x, n), sync: m.predict(x, n) } : null;
    const rt = m.runner.rt;
    return { threads: rt.threads, reason: rt.threadsReason, codes: outs[0], logits, work: rt.pool ? [...rt.pool.work] : [] };
  } finally {
    m.dispose();
  }
}

/**
 * Times `rounds` interleaved rounds of `calls` predictCodes each on one model loaded with every thread count in
 * `threads` (order flipped every round); returns seconds per call, per thread count and round. `async`: awaits
 * predictCodesAsync instead (a browser main thread: the Web Workers run the batch).
 */
export async function timeInference(rtEntry, { qwm, codes, n, threads, rounds, calls, async = false }) {
  const models = [];
  for (const t of threads) models.push(await rtEntry.loadQwm(qwm, { threads: t }));
  try {
    // warm-up and check (async: also starts a main thread's workers and loads their replicas before the timing)
    const ref = models[0].predictCodes(codes, n);
    for (const m of models) {
      const got = async ? await m.predictCodesAsync(codes, n) : m.predictCodes(codes, n);
      if (got.some((v, i) => v !== ref[i])) throw new Error(`codes differ with ${m.runner.rt.threads} threads`);
    }
    const secs = threads.map(() => []);
    for (let r = 0; r < rounds; r++) {
      const order = threads.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) {
        const t0 = performance.now();
        for (let c = 0; c < calls; c++) {
          if (async) await models[i].predictCodesAsync(codes, n);
          else models[i].predictCodes(codes, n);
        }
        secs[i].push((performance.now() - t0) / 1000 / calls);
      }
    }
    return { threads: models.map((m) => (async ? m.runner.rt.threading?.threads ?? 1 : m.runner.rt.threads)), secs, hardwareConcurrency: globalThis.navigator?.hardwareConcurrency ?? null };
  } finally {
    for (const m of models) m.dispose();
  }
}

/** The scenarios that need the whole library (dist/index.js); the others run on qwasm/runtime (dist/runtime-entry.js). */
export const FULL_LIBRARY = ['fitRefcnn', 'startFailure', 'pingPool'];

/**
 * A seeded refcnn trained `steps` Adam steps of batch `batchSize` with `threads` (data-parallel fit; `async`:
 * fitAsync, which on a browser main thread has the page's Web Workers run the steps). Returns the thread count
 * the steps ran on and the runtime's reason for 1, the losses, the trained weights, the work (chunks) each pool
 * worker did in this training (pools are shared by runtimes of one build and thread count), and (async) the
 * longest the calling thread's event loop was held up during the training (ms).
 */
export async function fitRefcnn(qw, { build, threads, images, labels, steps, batchSize, async = false }) {
  const q = await qw.init({ build, threads });
  const ds = qw.createDataset({ name: 'random', images, labels, height: IMAGE[0], width: IMAGE[1], channels: IMAGE[2], classes: ['a', 'b', 'c', 'd'] });
  const model = qw.buildModel(new qw.Engine(q.rt), 'refcnn', { seed: 5, input: IMAGE, classes: 4 });
  const losses = [], o = { epochs: 100, maxSteps: steps, batchSize, lr: 1e-3, seed: 5, onStep: (s) => losses.push(s.loss) };
  // the pool the steps will use, started now (fitAsync would start it): its work so far is not this training's
  const { backgroundPool } = await import('../../dist/threads/transport-browser.js');
  const pool0 = (async ? await backgroundPool(q.rt) : null) ?? q.rt.pool, before = pool0 ? [...pool0.work] : [];
  let stall = 0, last = performance.now();
  const timer = async ? setInterval(() => { const t = performance.now(); stall = Math.max(stall, t - last); last = t; }, 2) : null;
  let res;
  try {
    res = async ? await qw.fitAsync(model, ds, o) : qw.fit(model, ds, o);
  } finally {
    if (timer) clearInterval(timer);
  }
  res.optimizer.dispose();
  const weights = {};
  for (const [k, v] of Object.entries(model.stateDict())) weights[k] = v.data;
  model.dispose();
  const work = q.rt.pool ? q.rt.pool.work.map((w, i) => w - (before[i] ?? 0)) : [];
  return { threads: res.threads, reason: q.threadsReason, losses, weights, work, stallMs: async ? Math.max(stall, performance.now() - last) : null };
}

/**
 * init() where the pool's workers cannot start (the test makes the server drop worker-browser.js): the default
 * thread count falls back to 1 with the error as threadsReason; an explicit `threads` fails.
 */
export async function startFailure(qw) {
  const dflt = await qw.init();
  let asked = 'no error';
  try { await qw.init({ threads: 2 }); } catch (e) { asked = `${e.name}: ${e.message}`; }
  return { dflt: [dflt.threads, dflt.threadsReason], asked };
}

/**
 * Round trips of an empty request ('infer.free' of no graph: a no-op) to the pool's one worker, `calls` times:
 * the protocol's own cost (request message, reply, wake-ups). Returns the microseconds at p10, p50, p90.
 */
export async function pingPool(qw, { calls }) {
  const q = await qw.init({ threads: 2 });
  const { ThreadPool } = await import('../../dist/threads/pool.js'); // the module instance qwasm uses (same URL)
  const pool = ThreadPool.of(q.rt);
  if (!pool) throw new Error(`no pool (threads ${q.threads}: ${q.threadsReason})`);
  const us = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    pool.broadcast({ task: 'infer.free', id: -1 });
    us.push((performance.now() - t0) * 1000);
  }
  us.sort((a, b) => a - b);
  return [0.1, 0.5, 0.9].map((p) => us[Math.floor(p * (us.length - 1))]);
}
