// qwasm in a browser, in every engine test/browsers.js drives (headless Debian Chromium through playwright-core,
// headless Debian Firefox ESR through puppeteer-core: one uvu suite each, the same checks):
// each opens test/browser-page/index.html, which imports the library as 'qwasm' through a one-line import map (no
// bundler; the .wasm files are fetched from build/ next to dist/). In the page:
//   (a) int8 kernels (GEMM, requantised GEMM, conv2d incl. grouped / depthwise / 1×1 / packed) on seeded inputs
//       in the scalar, simd and — when it passes its probe there — relaxed builds equal Node's, bit for bit;
//   (b) a refcnn trains a few Adam steps on real MNIST images sent from Node: finite losses that fall;
//   (c) it is QAT-calibrated and converted to int8; its int8 codes on a probe batch (every layer) equal those of
//       the int8 model Node converts from the same float weights and quantisation state, and vice versa; in the
//       scalar and simd builds the whole run (losses, weights, quantisation, codes, .qwm bytes) equals Node's;
//   (d) the .qwm file of Node's int8 model, loaded in the page by the deployment-only entry 'qwasm/runtime'
//       (loadQwm), gives Node's output codes and logits — imported from dist/ and as a minified esbuild bundle.
// Shared pipeline code: test/browser-page/scenario.js (runs on both sides). Data crosses with test/wire.js.
// Without an engine its suite skips with a loud line; .ci/run installs both and sets QWASM_REQUIRE_ENGINES=1, which
// makes a missing engine a failure (test/helpers.js `needs`).
import { test, suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as qw from '../dist/index.js';
import { needs, rng } from './helpers.js';
import { encode, decode, runBattery } from './wire.js';
import { openBrowser, ROOT } from './browsers.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { trainCalibrateConvert, convertGiven, IMAGE } from './browser-page/scenario.js';

// --- (a) the kernel battery: {method, args} entries run by wire.runBattery on a Qwasm on either side ---
const r = rng(6060);
const i8 = (n) => r.i8(n);
const w8 = (n) => r.i8(n, -127, 127);
const i32 = (n, lo, hi) => Int32Array.from({ length: n }, () => r.int(lo, hi));
const scales = (n) => Float32Array.from({ length: n }, () => r.float() * 0.003 + 1e-5);
const numel = (s) => s.reduce((a, b) => a * b, 1);

const GEMM_SHAPES = [[1, 1, 1], [1, 784, 128], [3, 5, 7], [4, 16, 8], [13, 33, 31], [64, 64, 64], [7, 129, 10]];
// [input NHWC, weights OHWI, options]: MNIST's first conv (1 channel), strided, padded, dilated, grouped,
// depthwise, 1×1 (the GEMM path), zero points at both ends
const CONV_CASES = [
  [[2, 28, 28, 1], [32, 3, 3, 1], { inZeroPoint: -128, outZeroPoint: -128, activation: 'relu' }],
  [[1, 13, 13, 32], [64, 3, 3, 32], { inZeroPoint: -128, outZeroPoint: -7, activation: 'relu' }],
  [[2, 9, 7, 5], [9, 3, 3, 5], { stride: 2, padding: 'same', inZeroPoint: 127, outZeroPoint: 3 }],
  [[1, 10, 9, 4], [6, 3, 3, 4], { dilation: 2, padding: [2, 1, 0, 2], activation: 'relu6', outScale: 0.05 }],
  [[1, 6, 6, 8], [12, 3, 3, 2], { groups: 4, padding: 1, inZeroPoint: -7 }],
  [[1, 7, 7, 11], [11, 3, 3, 1], { groups: 11, padding: 'same', inZeroPoint: 20, outZeroPoint: -20 }],
  [[3, 4, 5, 16], [17, 1, 1, 16], { inZeroPoint: 5 }],
];

function battery() {
  const out = [];
  for (const [m, k, n] of GEMM_SHAPES) {
    out.push({ method: 'gemmS8', args: [i8(m * k), w8(k * n), m, k, n] });
    out.push({ method: 'gemmS8Requant', args: [i8(m * k), w8(k * n), m, k, n,
      { aZeroPoint: r.int(-128, 127), outZeroPoint: r.int(-128, 127), bias: i32(n, -40000, 40000), scale: scales(n), activation: ['none', 'relu', 'relu6'][m % 3], outScale: 0.05 }] });
  }
  out.push({ method: 'gemmS8', args: [new Int8Array(9 * 70).fill(-128), new Int8Array(70 * 11).fill(-127), 9, 70, 11] });
  for (const [inShape, wShape, o] of CONV_CASES) {
    const opts = { ...o, scale: scales(wShape[0]), bias: i32(wShape[0], -20000, 20000) };
    out.push({ method: 'conv2dS8', args: [i8(numel(inShape)), inShape, w8(numel(wShape)), wShape, opts] });
  }
  // packed weights, applied to two batches (the handle is built and disposed inside each engine)
  const ws = [16, 3, 3, 8];
  out.push({ method: 'packConv2dS8', args: [w8(numel(ws)), ws, { padding: 1, inZeroPoint: -3, outZeroPoint: 4, scale: scales(16), bias: i32(16, -9000, 9000) }],
    then: [[1, 9, 9, 8], [2, 5, 7, 8]].map((s) => ({ method: 'apply', args: [i8(numel(s)), s] })) });
  return out.map((e) => ({ ...e, args: encode(e.args), then: e.then?.map((t) => ({ ...t, args: encode(t.args) })) }));
}

function sameBits(a, b, where) {
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    assert.ok(ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && a.constructor === b.constructor, `${where}: ${a?.constructor?.name} vs ${b?.constructor?.name}`);
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    assert.is(x.length, y.length, `${where}: length`);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.unreachable(`${where}: first differing byte ${i} of ${x.length}`);
    return;
  }
  if (a && typeof a === 'object') {
    assert.equal(Object.keys(a).sort(), Object.keys(b ?? {}).sort(), `${where}: keys`);
    for (const k of Object.keys(a)) sameBits(a[k], b[k], `${where}.${k}`);
    return;
  }
  assert.ok(Object.is(a, b), `${where}: ${a} vs ${b}`);
}

// --- (b, c) data: real MNIST training images and a test-split probe batch, from Node ---
const N_TRAIN = 640, BATCH = 32, STEPS = 20, CALIB = 2, N_PROBE = 16;
function mnistSample() {
  const { train, test } = qw.loadDataset('mnist');
  const per = numel(IMAGE);
  const sample = { images: train.images.slice(0, N_TRAIN * per), labels: train.labels.slice(0, N_TRAIN), norm: train.norm };
  const it = new qw.BatchIterator(test, { batchSize: N_PROBE, shuffle: false });
  const probe = new Float32Array(N_PROBE * per);
  assert.is(it.next(probe, new Int32Array(N_PROBE)), N_PROBE);
  return { sample, probe };
}

/** For a failed import: the static imports under dist/ reachable from the entries that a browser cannot resolve. */
function bareImports() {
  const seen = new Set(), bad = [];
  const visit = (file) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/gm)) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec));
      else bad.push(`${relative(ROOT, file)} imports '${spec}'`);
    }
  };
  for (const entry of ['dist/index.js', 'dist/runtime-entry.js']) visit(join(ROOT, entry));
  return bad.length ? `\nstatic imports a browser cannot resolve (make them lazy: src/util/node.ts): ${bad.join('; ')}` : '';
}

test('init({ wasm }) in Node: a file URL (object or string), bytes, a Module; bad values throw naming wasm', async () => {
  const url = new URL('../build/qwasm.scalar.wasm', import.meta.url), bytes = readFileSync(url);
  const a = r.i8(3 * 20), b = r.i8(20 * 4, -127, 127);
  const want = (await qw.init({ build: 'scalar' })).gemmS8(a, b, 3, 20, 4);
  for (const wasm of [url, url.href, bytes, new WebAssembly.Module(bytes)]) {
    sameBits((await qw.init({ build: 'scalar', wasm })).gemmS8(a, b, 3, 20, 4), want, `init({ wasm: ${wasm?.constructor?.name} })`);
  }
  const msg = async (wasm) => { try { await qw.init({ build: 'scalar', wasm }); return 'no error'; } catch (e) { return `${e.name}: ${e.message}`; } };
  assert.match(await msg(42), /^TypeError: wasm must be a URL, bytes, a WebAssembly.Module or a Response, got/);
  assert.match(await msg('not a url'), /^TypeError: wasm must be .*cannot parse "not a url" as a URL/);
  assert.match(await msg(new URL('file:///no/such.wasm')), /^QwasmError: cannot read \/no\/such\.wasm/);
  assert.match(await msg(new Uint8Array(16)), /^QwasmError: cannot instantiate the wasm module/);
  assert.match(await msg(Promise.reject(new Error('offline'))), /^QwasmError: wasm: the promise given was rejected \(offline\)/);
});

// Shared by the engines' suites: the kernel battery and the MNIST sample (made once).
let battery0 = null, data = null;

/** The page's checks in one engine ('chromium', 'firefox'). */
function engineSuite(engine, label) {
  const s = suite(`the page in ${label}`);
  const t = needs(s, engine);
  let page = null, session = null, opening = null, support = null, pageBuilds = null, bundleDir = null;

  // Opened by the first test that needs it (not in test.before: uvu reports a throwing before-hook as 0 passed,
  // 0 failed, so a missing browser would go unnoticed); every test then fails with the same message.
  function open() {
    opening ??= (async () => {
      bundleDir = mkdtempSync(join(tmpdir(), 'qwasm-bundle-'));
      session = await openBrowser({ engine, mounts: { '/__bundle__/': bundleDir } }); // throws "… not found at …" when it is missing
      try {
        page = await session.open('/test/browser-page/index.html');
      } catch (e) {
        throw new Error(`import('qwasm') failed in ${label}: ${e.message}${bareImports()}`);
      }
      support = await inPage('detect', {});
      pageBuilds = ['scalar', 'simd', ...(support.relaxed ? ['relaxed'] : [])];
      battery0 ??= battery();
      data ??= mnistSample();
      // qwasm/runtime as an application would ship it: one minified ESM file (esbuild, as scripts/size.mjs
      // measures it), served at /__bundle__/ so that its '../build/…wasm' URLs reach build/
      let esbuild;
      try { esbuild = await import('esbuild'); } catch (e) { throw new Error(`esbuild (a devDependency: npm ci installs it) is needed to bundle qwasm/runtime: ${e.message}`); }
      const out = await esbuild.build({ entryPoints: [new URL('../dist/runtime-entry.js', import.meta.url).pathname], bundle: true, minify: true,
        format: 'esm', platform: 'browser', target: 'es2022', write: false, external: ['node:*'], logLevel: 'silent' });
      writeFileSync(join(bundleDir, 'qwasm-runtime.min.js'), out.outputFiles[0].contents);
    })();
    return opening;
  }
  s.after(async () => {
    if (session) await session.close();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  /**
   * Runs scenario[name](qwasm, args) in the page ('battery': wire.runBattery on init({ build: args.build }), the
   * battery already encoded; 'detect': engine support and the auto build). Arguments go encoded, the result
   * comes back decoded (a battery's results stay encoded); a page-side error becomes an error naming it.
   */
  async function inPage(name, args, encodedBattery = null) {
    const res = await page.evaluate(async ([name, args, encodedBattery]) => {
      try {
        const { wire, scenario, qwasm } = window;
        const a = wire.decode(args);
        if (name === 'battery') return { ok: await wire.runBattery(await qwasm.init({ build: a.build }), encodedBattery) };
        if (name === 'detect') return { ok: wire.encode({ ...(await qwasm.detect()), auto: (await qwasm.init()).build }) };
        if (name === 'wasmOption') {
          // init({ wasm }) in its browser forms: a URL string, a URL, a Response promise, bytes; then a bad value
          const forms = {
            string: '/build/qwasm.scalar.wasm',
            url: new URL('/build/qwasm.scalar.wasm', location.href),
            response: fetch('/build/qwasm.scalar.wasm'),
            bytes: new Uint8Array(await (await fetch('/build/qwasm.scalar.wasm')).arrayBuffer()),
          };
          const out = {};
          for (const [k, wasm] of Object.entries(forms)) {
            const q = await qwasm.init({ build: 'scalar', wasm });
            out[k] = q.gemmS8(a.a, a.b, a.m, a.k, a.n);
          }
          // a Node-only function (reads files) fails when called, with a message, not when imported
          try { qwasm.loadDataset('mnist'); out.nodeOnly = 'no error'; } catch (e) { out.nodeOnly = `${e.name}: ${e.message}`; }
          for (const [k, wasm] of [['number', 42], ['missing', '/build/no-such.wasm']]) {
            try { await qwasm.init({ build: 'scalar', wasm }); out[k] = 'no error'; } catch (e) { out[k] = `${e.name}: ${e.message}`; }
          }
          return { ok: wire.encode(out) };
        }
        if (name === 'runQwmBundled') return { ok: wire.encode(await scenario.runQwm(await import('/__bundle__/qwasm-runtime.min.js'), a)) };
        return { ok: wire.encode(await scenario[name](name === 'runQwm' ? window.qwasmRuntime : qwasm, a)) };
      } catch (e) {
        return { error: `${e?.name}: ${e?.message}\n${e?.stack}` };
      }
    }, [name, encode(args), encodedBattery]);
    if (res.error) throw new Error(`in the page, ${name} failed: ${res.error}`);
    return name === 'battery' ? res.ok : decode(res.ok);
  }

  t('the page imports qwasm without a bundler; auto picks relaxed where its probe passes', async () => {
    await open();
    const d = support;
    assert.ok(d.simd, `${label} runs SIMD128`);
    assert.is(d.auto, d.relaxed ? 'relaxed' : 'simd');
    console.log(`  ${label} ${session.version}: builds ${pageBuilds.join(', ')}; auto = ${d.auto}`);
    // init({ wasm }) given the module as a URL string, URL, fetch Response or bytes: the same GEMM as Node
    const [m, k, n] = [5, 37, 9], a = r.i8(m * k), b = r.i8(k * n, -127, 127);
    const want = (await qw.init({ build: 'scalar' })).gemmS8(a, b, m, k, n);
    const got = await inPage('wasmOption', { a, b, m, k, n });
    for (const form of ['string', 'url', 'response', 'bytes']) sameBits(got[form], want, `init({ wasm: ${form} })`);
    assert.match(got.number, /^TypeError: wasm must be/);
    assert.match(got.nodeOnly, /^QwasmError: node:\w+ is needed here: this function runs only in Node/);
    assert.match(got.missing, /^QwasmError: cannot fetch .*no-such\.wasm: HTTP 404/);
    // the browser logs that 404 too: expected, every other page error is not
    const others = session.errors.filter((e) => !/404/.test(e));
    session.errors.length = 0;
    assert.equal(others, [], 'page errors');
  });

  t('(a) int8 kernels in the page equal Node bit for bit (scalar, simd, relaxed)', async () => {
    await open();
    const nodeRes = {};
    for (const build of ['scalar', 'simd']) nodeRes[build] = await runBattery(await qw.init({ build }), battery0);
    sameBits(nodeRes.simd, nodeRes.scalar, 'Node simd vs scalar');
    const errors = nodeRes.scalar.filter((x) => x.error);
    assert.equal(errors, [], 'Node battery errors');
    for (const build of pageBuilds) {
      const got = await inPage('battery', { build }, battery0);
      got.forEach((g, i) => {
        const where = `${build} in ${label}, ${battery0[i].method} #${i}`;
        assert.not.ok(g.error, `${where}: ${g.error}`);
        sameBits(decode(g.value), decode(nodeRes.scalar[i].value), where);
      });
    }
  });

  t('(b, c, d) training in the page: losses fall; int8 codes equal Node\'s; Node\'s .qwm runs identically under qwasm/runtime', async () => {
    await open();
    const { sample, probe } = data;
    const nodeRuns = {};
    for (const build of pageBuilds) {
      const web = await inPage('trainCalibrateConvert', { build, sample, steps: STEPS, batchSize: BATCH, calib: CALIB, probe });
      assert.is(web.build, build);
      assert.is(web.losses.length, STEPS);
      assert.ok(web.losses.every(Number.isFinite), `${build}: non-finite loss in ${web.losses}`);
      const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(web.losses.slice(0, 5)), last = mean(web.losses.slice(-5));
      assert.ok(last < 0.75 * first, `${build}: loss did not fall (first 5 steps ${first.toFixed(3)}, last 5 ${last.toFixed(3)})`);
      // Node converts the page's float weights with the page's quantisation state: same int8 model, same codes
      const nodeBuild = build === 'relaxed' ? 'simd' : build;
      const node = await convertGiven(qw, { build: nodeBuild, weights: web.weights, quantState: web.quantState, probe });
      assert.equal(Object.keys(web.codes), Object.keys(node.codes));
      for (const k of Object.keys(node.codes)) sameBits(web.codes[k], node.codes[k], `${build}: int8 codes of layer ${k}`);
      sameBits(web.logits, node.logits, `${build}: dequantised logits`);
      // and the page converting Node's result the same way agrees too (the int8 half alone, both directions)
      nodeRuns[nodeBuild] ??= await trainCalibrateConvert(qw, { build: nodeBuild, sample, steps: STEPS, batchSize: BATCH, calib: CALIB, probe });
      const nodeRun = nodeRuns[nodeBuild];
      const back = await inPage('convertGiven', { build, weights: nodeRun.weights, quantState: nodeRun.quantState, probe });
      for (const k of Object.keys(nodeRun.codes)) sameBits(back.codes[k], nodeRun.codes[k], `${build}: Node's model in the page, layer ${k}`);
      // (d) Node's model as a .qwm file, loaded by the deployment-only entry qwasm/runtime in the page
      const std = await inPage('runQwm', { build, qwm: nodeRun.qwm, inputCodes: nodeRun.inputCodes, probe });
      assert.is(std.build, build);
      sameBits(std.outputCodes, nodeRun.outputCodes, `${build}: qwasm/runtime in the page running Node's .qwm, output codes`);
      sameBits(std.logits, nodeRun.logits, `${build}: qwasm/runtime in the page running Node's .qwm, logits`);
      const bundled = await inPage('runQwmBundled', { build, qwm: nodeRun.qwm, inputCodes: nodeRun.inputCodes, probe });
      sameBits(bundled.outputCodes, nodeRun.outputCodes, `${build}: the minified qwasm/runtime bundle in the page running Node's .qwm, output codes`);
      // Same build on both sides: the whole pipeline — seeded init, 20 Adam steps, calibration, conversion, the
      // .qwm file — is plain IEEE f32 wasm arithmetic, so the browser reproduces Node's run bit for bit. The relaxed
      // build's f32 GEMM uses relaxed_madd (may fuse), so only its int8 half is compared (above).
      if (build !== 'relaxed') {
        sameBits(web.qwm, nodeRun.qwm, `${build}: .qwm file written in ${label} vs in Node`);
        sameBits(web.losses, nodeRun.losses, `${build}: training losses, ${label} vs Node`);
        sameBits(web.weights, nodeRun.weights, `${build}: trained weights, ${label} vs Node`);
        assert.is(web.quantState, nodeRun.quantState, `${build}: quantisation state, ${label} vs Node`);
        for (const k of Object.keys(nodeRun.codes)) sameBits(web.codes[k], nodeRun.codes[k], `${build}: int8 codes of layer ${k}, ${label} vs Node`);
      }
      console.log(`  ${build}: loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${label}${build !== 'relaxed' ? ', whole pipeline bit-identical to Node' : ''}`);
    }
    assert.equal(session.errors, [], 'page errors');
  });
  s.run();
}

engineSuite('chromium', 'Chromium');
engineSuite('firefox', 'Firefox');
engineSuite('webkit', 'WebKitGTK');
test.run();
