// Threads in a browser (docs/THREADS.md, docs/BROWSER.md), in every engine test/browsers.js drives (headless
// Chromium and headless Firefox ESR: one uvu suite each, the same checks). test/threads-page/index.html is opened
// twice — cross-origin isolated (served under /__coi__/ with COOP same-origin + COEP require-corp) and not — and:
//   - the page's main thread settles on 1 thread with the reason (it may not block; or: not isolated), and there
//     predictCodesAsync has the page's Web Workers run every sample, with Node's codes;
//   - in the isolated page's dedicated Worker, int8 batch-64 inference with 2 threads (a pool of one nested Web
//     Worker) gives the codes of 1 thread and of Node, bit for bit, and the nested worker really ran samples;
//   - a short data-parallel fit on 2 threads in that Worker equals Node's 2-thread fit bit for bit (simd build);
//   - fitAsync on the isolated page's main thread has 2 Web Workers run every chunk and equals Node's 2-thread fit
//     bit for bit; without isolation it runs on the main thread (1 thread, with the reason) = Node's 1-thread fit;
//   - in the page that is not isolated, the Worker asked for 2 threads falls back to 1, says why, and still
//     gives the same codes.
// Without an engine its suite skips with a loud line (QWASM_REQUIRE_ENGINES=1 makes that a failure: test/helpers.js).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as qw from '../dist/index.js';
import * as rtEntry from '../dist/runtime-entry.js';
import { needs, rng } from './helpers.js';
import { encode, decode } from './wire.js';
import { openBrowser, ISOLATED, ROOT } from './browsers.js';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inferCodes, fitRefcnn, IMAGE } from './threads-page/scenario.js';

const N = 64, PER = IMAGE.reduce((a, b) => a * b, 1);
const r = rng(1515);

/** A refcnn converted to int8 (random weights, calibrated on random images), as .qwm bytes. */
async function refcnnQwm() {
  const q = await qw.init({ build: 'simd', threads: 1 });
  const data = qw.createDataset({ name: 'random', images: Uint8Array.from(r.i8(64 * PER), (v) => v + 128), labels: Int32Array.from({ length: 64 }, (_, i) => i % 10),
    height: IMAGE[0], width: IMAGE[1], channels: IMAGE[2], classes: '0123456789'.split('') });
  const model = qw.buildModel(new qw.Engine(q.rt), 'refcnn', { seed: 3, input: IMAGE });
  const i8 = qw.convertToInt8(qw.quantizeStatic(model, data, { batches: 2, batchSize: 32 }));
  const bytes = i8.qwm();
  i8.dispose();
  return bytes;
}

/**
 * The repository as the server sees it at BROKEN, minus dist/threads/worker-browser.js (symlinks to everything
 * else): a deployment that left the pool's worker script out.
 */
const BROKEN = '/__broken__/';
function brokenTree() {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-broken-'));
  for (const name of ['build', 'test']) symlinkSync(join(ROOT, name), join(dir, name));
  const link = (from, to) => {
    mkdirSync(to);
    for (const e of readdirSync(from)) if (e !== 'worker-browser.js') symlinkSync(join(from, e), join(to, e));
  };
  link(join(ROOT, 'dist'), join(dir, 'dist'));
  rmSync(join(dir, 'dist', 'threads'));
  link(join(ROOT, 'dist', 'threads'), join(dir, 'dist', 'threads'));
  return dir;
}

const sameCodes = (a, b, where) => {
  assert.is(a.length, b.length, `${where}: length`);
  const i = a.findIndex((v, j) => v !== b[j]);
  assert.is(i, -1, `${where}: first differing code at ${i}`);
};

let qwm = null, codes = null, nodeCodes = null;
async function model() {
  if (!qwm) {
    qwm = await refcnnQwm();
    codes = r.i8(N * PER);
    nodeCodes = (await inferCodes(rtEntry, { qwm, codes, n: N, threads: 1 })).codes;
  }
}

/** The suite of one engine ('chromium', 'firefox'): every check below, in its pages. */
function engineSuite(engine, label) {
  const s = suite(`threads in ${label}`);
  const t = needs(s, engine);
  let session = null, opening = null, broken = null;
  const pages = {};
  function open() {
    opening ??= (async () => {
      broken = brokenTree();
      session = await openBrowser({ engine, mounts: { [BROKEN]: broken } }); // throws "… not found at …" when it is missing
      for (const [key, prefix] of [['isolated', ISOLATED], ['plain', '']]) pages[key] = await session.open(`${prefix}/test/threads-page/index.html`);
    })();
    return opening;
  }
  s.after(async () => {
    if (session) await session.close();
    if (broken) rmSync(broken, { recursive: true, force: true });
  });

  /** Runs scenario[name] in the dedicated Worker of pages[key]; a Worker-side error becomes an error naming it. */
  async function inWorker(key, name, args) {
    const res = await pages[key].evaluate(([name, args]) => window.inWorker(name, args), [name, encode(args)]);
    if (res.error) throw new Error(`${name} in the ${key} page's Worker (${label}): ${res.error}`);
    return decode(res.ok);
  }

  /** The same on the page's main thread. */
  async function onMain(key, name, args) {
    await pages[key].bringToFront();   // the visible tab: its main thread's timers run unthrottled
    const res = await pages[key].evaluate(([name, args]) => window.onMain(name, args), [name, encode(args)]);
    if (res.error) throw new Error(`${name} on the ${key} page's main thread (${label}): ${res.error}`);
    return decode(res.ok);
  }

  t('the page\'s main thread: 1 thread, and the reason (it may not block; or: not cross-origin isolated)', async () => {
    await open();
    const iso = await pages.isolated.evaluate(() => window.mainThread);
    assert.is(iso.isolated, true, 'the /__coi__/ page is crossOriginIsolated');
    for (const [[threads, reason], n] of [[iso.asked, '2'], [iso.dflt, '\\d+']]) {   // default: navigator.hardwareConcurrency
      assert.is(threads, 1);
      assert.match(reason, new RegExp(`main thread may not block.*predictAsync / predictCodesAsync / fitAsync use ${n} Web Workers`));
    }
    const plain = await pages.plain.evaluate(() => window.mainThread);
    assert.is(plain.isolated, false);
    assert.is(plain.asked[0], 1);
    assert.match(plain.asked[1], /not cross-origin isolated/);
  });

  if (engine === 'webkit') {
    t('WebKitGTK without JSC_useSharedArrayBuffer: the isolated page has no SharedArrayBuffer; 1 thread, and qwasm says why', async () => {
      const off = await openBrowser({ engine, env: { JSC_useSharedArrayBuffer: '0' } });
      try {
        const page = await off.open(`${ISOLATED}/test/threads-page/index.html`);
        const got = await page.evaluate(() => window.mainThread);
        assert.is(got.isolated, true);
        assert.is(got.asked[0], 1);
        assert.match(got.asked[1], /cross-origin isolated but this engine gives it no SharedArrayBuffer \(WebKitGTK: .*JSC_useSharedArrayBuffer=1/);
      } finally {
        await off.close();
      }
    });
  }

  t('int8 batch-64 inference in a Worker of an isolated page: 2 threads (a nested Web Worker) = 1 thread = Node, bit for bit', async () => {
    await open();
    await model();
    const one = await inWorker('isolated', 'inferCodes', { qwm, codes, n: N, threads: 1 });
    assert.is(one.threads, 1);
    assert.is(one.reason, 'threads: 1 was asked');
    sameCodes(one.codes, nodeCodes, '1 thread in the Worker vs Node');
    const two = await inWorker('isolated', 'inferCodes', { qwm, codes, n: N, threads: 2, calls: 4 });
    assert.is(two.threads, 2, `2 threads (reason: ${two.reason})`);
    assert.is(two.reason, null);
    sameCodes(two.codes, nodeCodes, '2 threads in the Worker vs Node');
    assert.is(two.work.length, 1, 'one nested worker');
    assert.ok(two.work[0] > 0 && two.work[0] < 4 * N, `the nested worker ran ${two.work[0]} of ${4 * N} samples`);
    console.log(`  the nested Web Worker ran ${two.work[0]} of ${4 * N} samples`);
  });

  t('predictCodesAsync on the isolated page\'s main thread: 2 Web Workers run every sample, codes = Node\'s; overlapping calls agree', async () => {
    await open();
    await model();
    const x = r.f32(N * PER, 2);
    const got = await onMain('isolated', 'inferCodesAsync', { qwm, codes, n: N, threads: 2, calls: 3, x });
    assert.is(got.threads, 1, 'the synchronous APIs stay on one thread');
    sameCodes(got.codes, nodeCodes, 'predictCodesAsync on the main thread vs Node');
    sameCodes(new Uint8Array(got.logits.async.buffer), new Uint8Array(got.logits.sync.buffer), 'predictAsync vs predict (float input), logits');
    assert.is(got.work.length, 2, 'two Web Workers');
    assert.is(got.work[0] + got.work[1], 4 * N, `the workers ran every sample (the main thread none): ${got.work}`);
    // not isolated: no workers, predictCodesAsync is predictCodes
    const plain = await onMain('plain', 'inferCodesAsync', { qwm, codes, n: N, threads: 2, calls: 2 });
    assert.equal([plain.threads, plain.work], [1, []]);
    sameCodes(plain.codes, nodeCodes, 'predictCodesAsync on a main thread without isolation vs Node');
  });

  t('data-parallel fit in a Worker of an isolated page: 2 threads equal Node\'s 2-thread fit bit for bit', async () => {
    await open();
    const n = 64, images = Uint8Array.from(r.i8(n * PER), (v) => v + 128), labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 4);
    const args = { build: 'simd', threads: 2, images, labels, steps: 3, batchSize: 32 };
    const web = await inWorker('isolated', 'fitRefcnn', args);
    const node = await fitRefcnn(qw, args);
    assert.is(web.threads, 2);
    assert.ok(web.work[0] > 0, `the nested worker ran ${web.work[0]} chunks`);
    assert.ok(web.losses.every(Number.isFinite), `losses ${web.losses}`);
    assert.equal(web.losses, node.losses, `losses, ${label} Worker vs Node`);
    for (const k of Object.keys(node.weights)) sameCodes(new Uint8Array(web.weights[k].buffer), new Uint8Array(node.weights[k].buffer), `weights ${k}`);
  });

  t('fitAsync on the isolated page\'s main thread: 2 Web Workers run every chunk, = Node\'s 2-thread fit bit for bit; not isolated: 1 thread, says why', async () => {
    await open();
    const n = 64, images = Uint8Array.from(r.i8(n * PER), (v) => v + 128), labels = Int32Array.from({ length: n }, (_, i) => (i * 5) % 4);
    const args = { build: 'simd', threads: 2, images, labels, steps: 3, batchSize: 32 };
    const main = await onMain('isolated', 'fitRefcnn', { ...args, async: true });
    const node = await fitRefcnn(qw, args);
    assert.is(main.threads, 2, `the steps ran on 2 threads (${main.reason})`);
    assert.is(main.work.length, 2, 'two Web Workers');
    assert.is(main.work[0] + main.work[1], 2 * args.steps, `the workers ran every chunk (the main thread none): ${main.work}`);
    assert.ok(main.losses.every(Number.isFinite), `losses ${main.losses}`);
    assert.equal(main.losses, node.losses, 'losses, main thread vs Node');
    for (const k of Object.keys(node.weights)) sameCodes(new Uint8Array(main.weights[k].buffer), new Uint8Array(node.weights[k].buffer), `weights ${k}`);
    console.log(`  fitAsync: the workers ran ${main.work} chunks; the main thread's event loop was held up ${main.stallMs.toFixed(1)} ms at most`);
    // not isolated: the steps run on the main thread, as Node's 1-thread fit
    const plain = await onMain('plain', 'fitRefcnn', { ...args, async: true });
    const node1 = await fitRefcnn(qw, { ...args, threads: 1 });
    assert.equal([plain.threads, plain.work], [1, []]);
    assert.match(plain.reason, /not cross-origin isolated/);
    assert.equal(plain.losses, node1.losses, 'losses, main thread without isolation vs Node 1 thread');
    for (const k of Object.keys(node1.weights)) sameCodes(new Uint8Array(plain.weights[k].buffer), new Uint8Array(node1.weights[k].buffer), `weights ${k} (1 thread)`);
  });

  t('a page that is not cross-origin isolated: the Worker asked for 2 threads runs 1, says why, same codes', async () => {
    await open();
    await model();
    const got = await inWorker('plain', 'inferCodes', { qwm, codes, n: N, threads: 2 });
    assert.is(got.threads, 1);
    assert.match(got.reason, /not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
    sameCodes(got.codes, nodeCodes, 'not isolated, 1 thread in the Worker vs Node');
    assert.equal(session.errors, [], 'page errors');
  });

  t('an isolated page whose pool worker script is missing: init() / predictCodesAsync fall back to 1 thread with the error; asked for 2 threads, they fail', async () => {
    await open();
    const page = pages.broken = await session.open(`${ISOLATED}${BROKEN}test/threads-page/index.html`);
    const got = await inWorker('broken', 'startFailure', {});
    assert.is(got.dflt[0], 1);
    assert.match(got.dflt[1], /^the Web Workers did not start: thread 1 failed to start: .*worker-browser\.js must be served next to pool\.js/);
    assert.match(got.asked, /^QwasmError: thread 1 failed to start/);
    // its main thread: predictCodesAsync with the default count runs on this thread and says why; asked for 2, it fails
    await model();
    const main = await onMain('broken', 'inferCodesAsync', { qwm, codes, n: N, calls: 2 });
    assert.equal([main.threads, main.work], [1, []]);
    assert.match(main.reason, /^the Web Workers did not start: thread 1 failed to start/);
    sameCodes(main.codes, nodeCodes, 'main thread, workers not started, vs Node');
    let err = 'no error';
    try { await onMain('broken', 'inferCodesAsync', { qwm, codes, n: N, threads: 2 }); } catch (e) { err = e.message; }
    assert.match(err, /QwasmError: thread 1 failed to start/);
    await page.close();
  });
  s.run();
}

engineSuite('chromium', 'Chromium');
engineSuite('firefox', 'Firefox');
engineSuite('webkit', 'WebKitGTK');
