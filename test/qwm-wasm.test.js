// The pure-WASM .qwm runner (assembly/qwm_run.ts) and the standalone bundle (src/deploy/wasm-bundle.ts).
// For every model, the int8 output codes of four runs must be identical:
//   (a) Node: Int8Runner / Int8Model on the JS kernel handles (sparse layers there run on SparseMatrixS8);
//   (b) the builds' qwm_load / qwm_run called from JS (scalar, and simd where the engine runs it);
//   (c) the bundled .wasm (scalar build + model + input) under wabt's spectest-interp (assert_return on every
//       output code) and under wasm-interp --run-all-exports (qwm_main's checksum) — no JavaScript at all.
// Models: refcnn and a small resnet (quantizeStatic on MNIST), refcnn pruned 90 % (its 3×3 convs and linears on the
// sparse kernels in Node), a model with every node kind (grouped / strided / padded convs, ReLU6, padded max pool,
// identity and projection residuals, avg pool, flatten, low-rank linear), a sparse variant of it (csr, 2:4 and
// block linears, a sparse pointwise conv, csr / 2:4 / block 3×3 convs, padded and strided), random small graphs reaching the
// corners (flat pools, empty branches, nested residuals, extreme zero points and clamps) and the .qwm fixtures
// in test/fixtures. Sparse linears (kept as per-column nonzero lists, not decoded to dense): the pruned refcnn and
// random csr / block / N:M stacks run identically with and without their sparse specs, and the pruned refcnn's
// bundle needs ≥ 4 fewer 64 KiB pages. Then the reader's share of the fuzzing: mutated files (with and without a fixed-up CRC) and
// truncations never trap and are rejected exactly when decodeQwm rejects them; accepted ones run identically.
// A missing wabt is a failure, not a skip (.ci/run installs it: apt-get install wabt).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  init, Engine, buildModel, loadDataset, quantizeStatic, convertToInt8, encodeQwm, decodeQwm, Int8Runner, layers, InitRng,
  LowRankLinear, bundleWasm, bundleChecksum, qwmWasmError, QwasmError, quantizeInput, prunedWeights, Pruner,
} from '../dist/index.js';
import { builds, needs, rng } from './helpers.js';
import { crc32 } from '../dist/util/crc32.js';
import { withLuts } from './qwm-graphs.js';

const SCALAR = fileURLToPath(new URL('../build/qwasm.scalar.wasm', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const FEATURES = ['--disable-simd', '--disable-bulk-memory', '--disable-reference-types', '--disable-multi-value'];
const E = { ARG: -1, CRC: -5, NOMEM: -11, NOMODEL: -12, EMBED: -13 };
const NO_OUTPUT = -1000;

function run(tool, args, cwd) {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 120000 });
  if (r.error && r.error.code === 'ENOENT') {
    throw new Error(`${tool} not found on PATH: this test needs wabt (Debian/Ubuntu: apt-get install wabt; .ci/run installs it)`);
  }
  if (r.error) throw r.error;
  return r;
}

// ------------------------------------------------------------------------------------------------ models

const normalise = (images, n, per) => Float32Array.from(images.subarray(0, n * per), (v) => (v / 255 - 0.1307) / 0.3081);

/** Zeroes weights of a linear / ungrouped conv so it is genuinely sparse in the given format; kept = nonzeros. */
function sparsify(node, format, r) {
  const kc = node.kind === 'conv' ? node.kh * node.kw * node.cg : 0; // a conv's K×N view: W[k][o] = w[o][k]
  const w = node.w, [k, n, at] = node.kind === 'linear' ? [node.k, node.n, (kk, j) => kk * node.n + j] : [kc, node.oc, (kk, j) => j * kc + kk];
  if (format === 'nm') {
    for (let j = 0; j < n; j++) for (let k0 = 0; k0 < k; k0 += 4) {
      const idx = []; for (let kk = k0; kk < Math.min(k, k0 + 4); kk++) idx.push(at(kk, j));
      idx.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a])).slice(2).forEach((i) => { w[i] = 0; });
    }
    node.sparse = { format: 'nm', nm: [2, 4] };
  } else {
    for (let i = 0; i < w.length; i++) if (r.float() < 0.85) w[i] = 0;
    node.sparse = format === 'block' ? { format: 'block', block: [2, 4] } : { format: 'csr' };
  }
}

let cache = null;
async function models() {
  if (cache) return cache;
  const q = await init({ build: 'scalar' });
  const e = new Engine(q.rt), L = layers, R = new InitRng(9);
  const { train, test: testSet } = loadDataset('mnist');
  const conv = (cin, cout, k, o = {}) => new L.Conv2d(e, { inChannels: cin, outChannels: cout, kernel: k, ...o }, R);
  const mixed = () => new L.Sequential(e, [
    conv(1, 8, 3, { padding: 1 }), new L.ReLU6(e), conv(8, 8, 3, { padding: [0, 1, 2, 1], groups: 4 }), new L.ReLU(e),
    new L.MaxPool2d(e, { kernel: 3, stride: 2, padding: 1 }), conv(8, 8, 1), new L.ReLU(e),
    new L.Residual(e, new L.Sequential(e, [conv(8, 8, 3, { padding: 1 }), new L.ReLU(e), conv(8, 8, 3, { padding: 1, groups: 8 })]), null, new L.ReLU(e)),
    new L.Residual(e, new L.Sequential(e, [conv(8, 12, 3, { padding: 1, stride: 2 }), new L.BatchNorm2d(e, 12)]), new L.Sequential(e, [conv(8, 12, 1, { stride: 2 })]), null),
    new L.AvgPool2d(e, { kernel: 2 }), new L.Flatten(e), new LowRankLinear(e, 12 * 3 * 3, 24, 6, R), new L.ReLU(e),
    new L.Linear(e, 24, 32, R), new L.ReLU(e), new L.Linear(e, 32, 10, R),
  ]);
  const specs = [
    { name: 'refcnn', make: () => buildModel(e, 'refcnn', { seed: 1 }), n: 8, interpN: 2 },
    { name: 'resnet', make: () => buildModel(e, 'resnet', { width: 8, seed: 2 }), n: 8, interpN: 3 },
    { name: 'mixed', make: mixed, n: 16, interpN: 6 },
  ];
  const out = [];
  for (const s of specs) {
    const m = s.make();
    if (s.name === 'refcnn') {
      // the same net pruned 90 % (magnitude, every layer): Node runs its 3×3 convs with im2col + the sparse GEMM
      const p = buildModel(e, 'refcnn', { seed: 5 });
      new Pruner(p, { sparsity: 0.9 }).dispose(); // one-shot magnitude pruning, each layer to 90 %
      const pq = quantizeStatic(p, train, { batches: 2, batchSize: 32, seed: 3 });
      pq.eval();
      const pi8 = convertToInt8(pq, undefined, { pruned: prunedWeights(p) });
      assert.ok(pi8.layers().filter((l) => l.kind === 'conv').every((l) => l.backend === 'sparse'), 'pruned refcnn: convs on the sparse kernels');
      out.push({ name: 'refcnn-pruned', graph: pi8.graph, int8: pi8, x: normalise(testSet.images, 8, 784), n: 8, interpN: 2 });
    }
    const qat = quantizeStatic(m, train, { batches: 2, batchSize: 32, seed: 3 });
    qat.eval();
    const i8 = convertToInt8(qat);
    const x = normalise(testSet.images, s.n, 784);
    out.push({ name: s.name, graph: i8.graph, int8: i8, x, n: s.n, interpN: s.interpN });
    if (s.name === 'mixed') {
      // the same graph with sparse layers in every format (a fresh copy: decode(encode(g)))
      const g = decodeQwm(encodeQwm(i8.graph));
      const r = rng(77);
      const flat = [];
      const walk = (nodes) => nodes.forEach((nd) => { flat.push(nd); if (nd.kind === 'residual') { walk(nd.body); if (nd.shortcut) walk(nd.shortcut); } });
      walk(g.nodes);
      const pw = flat.find((nd) => nd.kind === 'conv' && nd.kh === 1 && nd.kw === 1 && nd.stride[0] === 1 && nd.groups === 1);
      const lin = flat.filter((nd) => nd.kind === 'linear');
      sparsify(pw, 'csr', r); sparsify(lin[0], 'nm', r); sparsify(lin[1], 'block', r);
      // k×k convs: the padded stem (csr), the 3×3 of the identity residual (2:4), the strided 3×3 (block)
      const kxk = flat.filter((nd) => nd.kind === 'conv' && nd.kh === 3 && nd.groups === 1);
      assert.ok(kxk.length >= 3 && kxk.some((nd) => nd.stride[0] === 2), 'mixed has padded and strided 3×3 convs');
      sparsify(kxk[0], 'csr', r); sparsify(kxk[1], 'nm', r); sparsify(kxk[2], 'block', r);
      out.push({ name: 'mixed-sparse', graph: g, int8: null, x, n: s.n, interpN: s.interpN });
    }
  }
  // the .qwm fixtures (scripts/make-qwm-fixture.mjs) with the input and output codes recorded next to them
  for (const f of readdirSync(FIXTURES).filter((f) => f.endsWith('.qwm')).sort()) {
    const g = decodeQwm(new Uint8Array(readFileSync(join(FIXTURES, f))));
    const j = JSON.parse(readFileSync(join(FIXTURES, `${f}.json`), 'utf8'));
    out.push({ name: `fixture ${f}`, graph: g, int8: null, codes: Int8Array.from(j.inputCodes), n: j.n, interpN: j.n, expect: Int8Array.from(j.outputCodes) });
  }
  assert.ok(out.length > 4, 'no .qwm fixtures in test/fixtures');
  cache = { q, list: out };
  return cache;
}

/** Loads `bytes` into build q with qwm_load; returns the code (and frees the copy). */
function load(q, bytes) {
  const p = q.rt.put(bytes);
  try { return q.kernels.qwm_load(p, bytes.length); } finally { q.rt.free(p); }
}

/** Output codes of qwm_run on build q (model already loaded). */
function runCodes(q, codes, n, classes) {
  const rt = q.rt, k = q.kernels;
  return rt.scoped((s) => {
    const ip = s.put(codes), op = s.alloc(n * classes);
    const r = k.qwm_run(ip, n, op);
    if (r !== 0) throw new Error(`qwm_run returned ${qwmWasmError(r)}`);
    return rt.i8(op, n * classes).slice();
  });
}

function firstDiff(a, b) {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

// ------------------------------------------------------------------------------------------------ (a) + (b)

test('qwm_load / qwm_run (scalar and simd builds, called from JS) equal Int8Runner and Int8Model bit for bit', async () => {
  const { q, list } = await models();
  const qs = await builds();
  for (const m of list) {
    const bytes = encodeQwm(m.graph);
    const runner = new Int8Runner(q.rt, m.graph);
    const codes = m.codes ?? quantizeInput(m.x, m.graph.input);
    const want = runner.predictCodes(codes, m.n);
    if (m.expect) assert.is(firstDiff(want, m.expect), null, `${m.name}: Int8Runner vs the fixture's recorded output codes`);
    const classes = m.graph.classes;
    for (const b of qs) {
      const r = load(b, bytes);
      assert.is(r, 0, `${m.name}: qwm_load on ${b.build} returned ${qwmWasmError(r)} at byte ${b.kernels.qwm_error_offset()}`);
      assert.is(b.kernels.qwm_input_size(), codes.length / m.n);
      assert.is(b.kernels.qwm_output_size(), classes);
      assert.is(b.kernels.qwm_input_zp(), m.graph.input.zeroPoint);
      assert.is(b.kernels.qwm_input_scale(), m.graph.input.scale);
      const got = runCodes(b, codes, m.n, classes);
      assert.is(firstDiff(got, want), null, `${m.name}: ${b.build} qwm_run vs Int8Runner`);
      if (m.x) {
        // f32 in → quantised inside WASM exactly like quantizeArray, logits out as Int8Model.predict
        const logits = b.rt.scoped((s) => {
          const xp = s.put(m.x), op = s.alloc(m.n * classes * 4);
          assert.is(b.kernels.qwm_run_f32(xp, m.n, op), 0);
          return b.rt.f32(op, m.n * classes).slice();
        });
        assert.is(firstDiff(logits, runner.predict(m.x, m.n)), null, `${m.name}: ${b.build} qwm_run_f32 vs Int8Runner.predict`);
        if (m.int8) assert.is(firstDiff(logits, m.int8.predict(m.x, m.n)), null, `${m.name}: ${b.build} qwm_run_f32 vs Int8Model.predict`);
      }
      b.kernels.qwm_free();
      assert.is(b.kernels.qwm_output_size(), E.NOMODEL);
    }
    runner.dispose();
  }
});

// Random small graphs: corners the trained models do not reach.
function randomGraph(r) {
  const f32 = Math.fround, zp = () => r.int(-128, 127), pos = () => f32(0.002 + r.float() * 0.05);
  const clampFor = (z) => { const lo = r.int(-128, z), hi = r.int(z, 127); return r.float() < 0.5 ? [-128, 127] : [lo, hi]; };
  const qp = () => ({ scale: pos(), zeroPoint: zp() });
  const wts = (count, density) => Int8Array.from({ length: count }, () => (r.float() < density ? r.int(-127, 127) : 0));
  let id = 0;
  const h0 = r.int(3, 9), w0 = r.int(3, 9), c0 = r.int(1, 6);
  // shape: [h, w, c] or [k]
  // keep: the output has the input's shape (a residual branch)
  const node = (shape, depth, budget, keep = false) => {
    const name = `n${id++}`, out = qp();
    const [cmin, cmax] = clampFor(out.zeroPoint);
    const rq = (len) => ({ mult: Float32Array.from({ length: len }, () => f32(r.float() < 0.2 ? 0.5 : 0.001 + r.float() * 0.02)), outZp: out.zeroPoint, qmin: cmin, qmax: cmax });
    const img = shape.length === 3;
    const choices = img ? ['conv', 'conv', 'maxpool', 'avgpool', ...(keep ? [] : ['gap', 'flatten']), 'residual'] : ['linear', 'linear', 'lowrank', 'avgpool', 'maxpool', 'residual'];
    let kind = choices[r.int(0, choices.length - 1)];
    if (kind === 'residual' && (depth > 2 || budget < 2)) kind = img ? 'conv' : 'linear';
    const size = shape.reduce((a, b) => a * b, 1);
    switch (kind) {
      case 'conv': {
        const [h, w, c] = shape;
        const groups = c % 2 === 0 && r.float() < 0.3 ? 2 : r.float() < 0.2 ? c : 1;
        let oc = groups * r.int(1, 4), kh = Math.min(h, r.int(1, 3)), kw = Math.min(w, r.int(1, 3));
        let pad = [r.int(0, 1), r.int(0, 1), r.int(0, 1), r.int(0, 1)], st = [r.int(1, 2), r.int(1, 2)];
        if (keep) { oc = c; kh = kw = r.float() < 0.5 ? 1 : 3; pad = Array(4).fill((kh - 1) / 2); st = [1, 1]; }
        // any ungrouped conv may be sparse (Node: im2col + sparse GEMM unless 1×1 / stride 1 / unpadded)
        const sparse = groups === 1 && r.float() < 0.5 ? { format: 'csr' } : null;
        const nd = { kind, name, out, oc, kh, kw, cg: c / groups, groups, stride: st, dilation: [1, 1], padding: pad, inZp: zp(),
          bias: Int32Array.from({ length: oc }, () => r.int(-3000, 3000)), wScale: Float32Array.from({ length: oc }, pos), rq: rq(oc), sparse };
        nd.w = wts(oc * kh * kw * nd.cg, sparse ? 0.2 : 0.9);
        const oh = Math.floor((h + pad[0] + pad[2] - kh) / st[0]) + 1, ow = Math.floor((w + pad[1] + pad[3] - kw) / st[1]) + 1;
        return [nd, [oh, ow, oc]];
      }
      case 'linear': {
        const n = keep ? size : r.int(1, 12), sparse = r.float() < 0.4 ? (r.float() < 0.5 ? { format: 'csr' } : { format: 'block', block: [1, 8] }) : null;
        return [{ kind, name, out, k: size, n, inZp: zp(), bias: Int32Array.from({ length: n }, () => r.int(-3000, 3000)),
          wScale: Float32Array.from({ length: n }, pos), rq: rq(n), sparse, w: wts(size * n, sparse ? 0.15 : 0.9) }, [n]];
      }
      case 'lowrank': {
        const rk = r.int(1, 4), n = keep ? size : r.int(1, 10), mid = qp();
        return [{ kind, name, out, k: size, r: rk, n, inZp: zp(), pScale: Float32Array.from({ length: rk }, pos), qScale: Float32Array.from({ length: n }, pos),
          midRq: { mult: Float32Array.from({ length: rk }, () => f32(0.001 + r.float() * 0.02)), outZp: mid.zeroPoint, qmin: -128, qmax: 127 }, mid,
          bias: Int32Array.from({ length: n }, () => r.int(-3000, 3000)), rq: rq(n), p: wts(size * rk, 0.9), q: wts(rk * n, 0.9) }, [n]];
      }
      case 'maxpool': case 'avgpool': {
        const [h, w, c] = img ? shape : [1, 1, shape[0]];
        let kh = r.int(1, 3), kw = r.int(1, 3), st = [r.int(1, 2), r.int(1, 2)];
        let pad = [r.int(0, kh - 1), r.int(0, kw - 1), r.int(0, kh - 1), r.int(0, kw - 1)];
        if (keep) { kh = kw = img && r.float() < 0.5 ? 3 : 1; pad = Array(4).fill((kh - 1) / 2); st = [1, 1]; }
        if (h + pad[0] + pad[2] < kh || w + pad[1] + pad[3] < kw) return node(shape, depth, budget, keep);
        const oh = Math.floor((h + pad[0] + pad[2] - kh) / st[0]) + 1, ow = Math.floor((w + pad[1] + pad[3] - kw) / st[1]) + 1;
        const nd = { kind, name, kh, kw, stride: st, padding: pad, out: kind === 'maxpool' ? undefined : out };
        if (kind === 'avgpool') Object.assign(nd, { inZp: zp(), ratio: f32(0.2 + r.float() * 3), outZp: out.zeroPoint, qmin: cmin, qmax: cmax });
        return [nd, !img && oh === 1 && ow === 1 ? [c] : [oh, ow, c]];
      }
      case 'gap': return [{ kind, name, out, inZp: zp(), ratio: f32(0.2 + r.float() * 3), outZp: out.zeroPoint, qmin: cmin, qmax: cmax }, [shape[2]]];
      case 'flatten': return [{ kind, name, out }, [size]];
      case 'residual': {
        // a branch that keeps the size: shape-preserving nodes only (1×1 stride-1 convs, 'same' pools, linears)
        const branch = (len) => {
          const list = [];
          let s = shape;
          for (let i = 0; i < len; i++) {
            const [nd, s2] = node(s, depth + 1, 3, true);
            if (s2.join() !== s.join()) throw new Error(`generator: branch node ${nd.kind} changed [${s}] to [${s2}]`);
            list.push(nd); s = s2;
          }
          return list;
        };
        const body = branch(r.int(0, 3)), shortcut = r.float() < 0.5 ? branch(r.int(0, 2)) : null;
        return [{ kind, name, out, body, shortcut, za: zp(), ma: f32(pos() * 20), zb: zp(), mb: f32(pos() * 20), outZp: out.zeroPoint, qmin: cmin, qmax: cmax }, shape];
      }
    }
    throw new Error(kind);
  };
  const nodes = [];
  let shape = [h0, w0, c0];
  let last = null;
  for (let i = r.int(1, 6); i > 0; i--) { const [nd, s] = node(shape, 0, i); nodes.push(nd); shape = s; last = nd; }
  // maxpool nodes carry their input's quantisation; resolve it now
  const prev = { scale: f32(0.02), zeroPoint: -3 };
  const fixOut = (list, q0) => { let qq = q0; for (const nd of list) { if (nd.kind === 'maxpool' || nd.kind === 'flatten') nd.out = qq; if (nd.kind === 'residual') { fixOut(nd.body, qq); if (nd.shortcut) fixOut(nd.shortcut, qq); } qq = nd.out; } return qq; };
  fixOut(nodes, prev);
  return { input: prev, inputShape: [h0, w0, c0], output: last.out, classes: shape.reduce((a, b) => a * b, 1), nodes, meta: { source: 'random' } };
}

test('100 random graphs (flat pools, empty branches, nested residuals, clamps): WASM reader equals Int8Runner', async () => {
  const { q } = await models();
  // QWM_RANDOM_GRAPHS / QWM_RANDOM_SEED widen the search by hand (the suite runs the default 100 of seed 2024)
  const r = rng(Number(process.env.QWM_RANDOM_SEED ?? 2024)), total = Number(process.env.QWM_RANDOM_GRAPHS ?? 100);
  const kinds = new Set();
  let branches = 0, nested = 0;
  const count = (nodes, d) => nodes.forEach((nd) => {
    if (nd.kind !== 'residual') return;
    if (nd.body.length && nd.shortcut?.length) branches++;
    if (d > 0) nested++;
    count(nd.body, d + 1); if (nd.shortcut) count(nd.shortcut, d + 1);
  });
  for (let t = 0; t < total; t++) {
    const g = randomGraph(r);
    count(g.nodes, 0);
    const bytes = encodeQwm(g);
    const runner = new Int8Runner(q.rt, g);
    const n = r.int(1, 3), per = g.inputShape[0] * g.inputShape[1] * g.inputShape[2];
    const codes = r.i8(n * per);
    const want = runner.predictCodes(codes, n);
    const res = load(q, bytes);
    assert.is(res, 0, `graph ${t}: qwm_load returned ${qwmWasmError(res)} at byte ${q.kernels.qwm_error_offset()}`);
    assert.is(firstDiff(runCodes(q, codes, n, g.classes), want), null, `graph ${t}`);
    runner.dispose();
    JSON.stringify(g, (k, v) => { if (k === 'kind') kinds.add(v); return ArrayBuffer.isView(v) ? undefined : v; });
  }
  for (const k of ['conv', 'linear', 'lowrank', 'maxpool', 'avgpool', 'gap', 'flatten', 'residual']) assert.ok(kinds.has(k), `no random graph had a ${k}`);
  assert.ok(branches >= 10 && nested >= 10, `residuals with both branches: ${branches}, nested: ${nested}`);
});

// lut nodes (an element-wise activation as a 256-entry int8 table, e.g. HardSwish): inserted after random nodes of
// random graphs, at the top level and inside residual branches, with the quantisation of the node before them.
test('lut nodes (HardSwish tables) at the top level and in residual branches: WASM reader equals Int8Runner; an empty op is refused by both readers', async () => {
  const { q } = await models();
  const r = rng(77);
  let luts = 0;
  for (let t = 0; t < 30; t++) {
    const g = withLuts(r, randomGraph(r));
    JSON.stringify(g, (k, v) => { if (k === 'kind' && v === 'lut') luts++; return ArrayBuffer.isView(v) ? undefined : v; });
    const bytes = encodeQwm(g);
    const runner = new Int8Runner(q.rt, g);
    const n = r.int(1, 3), per = g.inputShape[0] * g.inputShape[1] * g.inputShape[2];
    const codes = r.i8(n * per);
    const want = runner.predictCodes(codes, n);
    runner.dispose();
    const res = load(q, bytes);
    assert.is(res, 0, `graph ${t}: qwm_load returned ${qwmWasmError(res)} at byte ${q.kernels.qwm_error_offset()}`);
    assert.is(firstDiff(runCodes(q, codes, n, g.classes), want), null, `graph ${t}`);
  }
  assert.ok(luts >= 20, `only ${luts} lut nodes`);
  // the op names the function: an empty one is a malformed file for both readers
  const g = withLuts(rng(5), randomGraph(rng(5)));
  const lut = (function find(nodes) { for (const nd of nodes) { if (nd.kind === 'lut') return nd; if (nd.kind === 'residual') { const f = find(nd.body) ?? (nd.shortcut && find(nd.shortcut)); if (f) return f; } } return null; })(g.nodes);
  assert.ok(lut, 'the seed-5 graph has a lut node');
  const marker = 'qwasm-lut-op-marker';
  lut.op = marker;
  const bytes = encodeQwm(g);
  // patch the op to an empty one: drop its bytes and zero its u16 length, then fix the file length and the CRC
  const at = findBytes(bytes, [marker.length, 0, ...new TextEncoder().encode(marker)]);
  const bad = new Uint8Array(bytes.length - marker.length);
  bad.set(bytes.subarray(0, at)); bad.set(bytes.subarray(at + 2 + marker.length), at + 2);
  new DataView(bad.buffer).setUint32(8, bad.length, true);
  new DataView(bad.buffer).setUint32(12, crc32(bad.subarray(16)), true);
  assert.throws(() => decodeQwm(bad), /op/);
  assert.ok(load(q, bad) < 0, 'qwm_load accepted a lut node with an empty op');
});

/** Offset of the first occurrence of `pat` in `bytes` (the test's own patching helper). */
function findBytes(bytes, pat) {
  for (let i = 0; i + pat.length <= bytes.length; i++) if (pat.every((b, j) => bytes[i + j] === b)) return i;
  throw new Error(`pattern ${pat} not found`);
}

// ------------------------------------------------------------------------------------------------ sparse linears

/** The same graph with every linear's sparse spec dropped: qwm_run.ts then decodes and packs it dense. */
function denseLinears(g) {
  const d = decodeQwm(encodeQwm(g));
  const walk = (nodes) => nodes.forEach((nd) => { if (nd.kind === 'linear') nd.sparse = null; if (nd.kind === 'residual') { walk(nd.body); if (nd.shortcut) walk(nd.shortcut); } });
  walk(d.nodes);
  return d;
}

/** Smallest maxPages a bundle of `qwm` (+ input) loads and runs in, with the checksum it must return there. */
async function minPages(scalar, qwm, input, sum) {
  const tight = bundleWasm(scalar, qwm, { input });
  let lo = tight.pages, hi = tight.pages + 64;
  const ok = async (pages) => {
    const ex = (await WebAssembly.instantiate(bundleWasm(scalar, qwm, { input, maxPages: pages }).wasm)).instance.exports;
    const r = ex.qwm_main();
    if (r !== E.NOMEM) assert.is(r, sum, `bundle at ${pages} pages: ${qwmWasmError(r)}`);
    return r === sum;
  };
  assert.ok(await ok(hi), `the bundle does not run in ${hi} pages`);
  while (lo < hi) { const mid = (lo + hi) >> 1; if (await ok(mid)) hi = mid; else lo = mid + 1; }
  return lo;
}

// gemm_s8_packed_size (assembly/gemm_s8.ts: the blocks and a 16-byte tail) and the column lists of qwm_run.ts's sparse linears, 16-byte aligned
const a16 = (v) => (v + 15) & ~15;
const packedBytes = (k, n) => a16(Math.ceil(n / 8) * (32 + ((k + 1) & ~1) * 8) + 16);
const listBytes = (k, n, nnz) => a16(4 * (n + 1)) + a16(nnz * (k > 65536 ? 4 : 2)) + a16(nnz) + a16(4 * n);

test('sparse linears keep only their nonzeros: pruned refcnn runs bit-identical to its dense decode in far less memory', async () => {
  const { q, list } = await models();
  const qs = await builds();
  const m = list.find((x) => x.name === 'refcnn-pruned');
  const lin = m.graph.nodes.filter((nd) => nd.kind === 'linear');
  assert.ok(lin.length === 2 && lin.every((nd) => nd.sparse?.format === 'csr'), 'pruned refcnn: csr linears');
  const sparseQwm = encodeQwm(m.graph), denseQwm = encodeQwm(denseLinears(m.graph));
  const codes = quantizeInput(m.x, m.graph.input);
  const runner = new Int8Runner(q.rt, m.graph);
  const want = runner.predictCodes(codes, m.n);
  runner.dispose();
  const modelBytes = {};
  for (const b of qs) {
    for (const [label, bytes] of [['sparse', sparseQwm], ['dense', denseQwm]]) {
      const r = load(b, bytes);
      assert.is(r, 0, `${label} on ${b.build}: ${qwmWasmError(r)}`);
      assert.is(firstDiff(runCodes(b, codes, m.n, m.graph.classes), want), null, `${label} linears on ${b.build} vs Int8Runner`);
      if (typeof b.kernels.qwm_model_bytes === 'function') modelBytes[label] = b.kernels.qwm_model_bytes();
    }
  }
  // the model region: each linear's packed dense K × N is replaced by its column lists (the rest is identical),
  // checked to the byte when the build exports qwm_model_bytes (assembly/index.ts re-exports the runner's API)
  const nnz = lin.map((nd) => nd.w.reduce((s, v) => s + (v !== 0), 0));
  const saved = lin.reduce((s, nd, i) => s + packedBytes(nd.k, nd.n) - listBytes(nd.k, nd.n, nnz[i]), 0);
  assert.ok(nnz[0] < 0.11 * lin[0].w.length, `fc1 keeps ${nnz[0]} of ${lin[0].w.length}`);
  if (modelBytes.dense !== undefined) {
    assert.is(modelBytes.dense - modelBytes.sparse, saved, `model region ${modelBytes.dense} B dense vs ${modelBytes.sparse} B sparse`);
  }
  // the whole memory a bundle needs (pages of 64 KiB): the model region shrinks and the load no longer decodes fc1
  // (K × N = 204 800 bytes of the work region) to dense
  const scalar = new Uint8Array(readFileSync(SCALAR));
  const input = codes.subarray(0, 784 * 2);
  const sum = bundleChecksum(want.subarray(0, 2 * m.graph.classes));
  const pSparse = await minPages(scalar, sparseQwm, input, sum), pDense = await minPages(scalar, denseQwm, input, sum);
  // saved ≈ 144 KB of model + 186 KB of decode buffer (fc1's 204 800 B → the 3×3 conv's 18 432 B) ≈ 5 pages, ± rounding
  assert.ok(pDense - pSparse >= 4, `bundle pages: ${pDense} dense, ${pSparse} sparse (saved ${saved} B of model)`);
  console.log(`  pruned refcnn: fc1 keeps ${nnz[0]} / ${lin[0].w.length}; model region ${modelBytes.dense ?? '?'} B dense-decoded vs ${modelBytes.sparse ?? '?'} B sparse `
    + `(−${saved} B); smallest bundle ${pDense} vs ${pSparse} pages of 64 KiB`);
});

test('sparse linears: csr / block / N:M, empty columns, dense-coded tensors and u32 row indices equal Int8Runner and the dense decode', async () => {
  const { q } = await models();
  const qs = await builds();
  const r = rng(31337), f32 = Math.fround;
  const pos = () => f32(0.002 + r.float() * 0.05);
  const specs = [{ format: 'csr' }, { format: 'block', block: [2, 4] }, { format: 'block', block: [1, 8] }, { format: 'nm', nm: [2, 4] }, { format: 'nm', nm: [1, 3] }, { format: 'nm', nm: [3, 16] }];
  const linear = (k, n, spec, density, inZp) => {
    const w = Int8Array.from({ length: k * n }, () => (r.float() < density ? r.int(-127, 127) : 0));
    if (spec.format === 'nm') {
      const [keep, group] = spec.nm;
      for (let j = 0; j < n; j++) for (let k0 = 0; k0 < k; k0 += group) {
        let c = 0;
        for (let kk = k0; kk < Math.min(k, k0 + group); kk++) if (w[kk * n + j] !== 0 && ++c > keep) w[kk * n + j] = 0;
      }
    }
    if (n > 2) for (let kk = 0; kk < k; kk++) w[kk * n + 1] = 0;       // an empty column: acc = bias
    const out = { scale: pos(), zeroPoint: r.int(-128, 127) };
    const lo = r.int(-128, out.zeroPoint), hi = r.int(out.zeroPoint, 127);
    return { kind: 'linear', name: `fc${k}x${n}`, out, k, n, inZp, bias: Int32Array.from({ length: n }, () => r.int(-30000, 30000)),
      wScale: Float32Array.from({ length: n }, pos), rq: { mult: Float32Array.from({ length: n }, () => f32(0.0005 + r.float() * 0.01)), outZp: out.zeroPoint, qmin: lo, qmax: hi },
      sparse: spec, w };
  };
  const graphs = [];
  for (let t = 0; t < 24; t++) {
    const shape = [r.int(1, 4), r.int(1, 4), r.int(1, 8)];
    let k = shape[0] * shape[1] * shape[2];
    const nodes = [{ kind: 'flatten', name: 'flat' }];
    // density 1 codes the tensor dense (encoding 0) even though the layer is sparse
    for (let i = r.int(1, 3); i > 0; i--) {
      const n = r.int(1, 40), nd = linear(k, n, specs[r.int(0, specs.length - 1)], [0.05, 0.3, 1][r.int(0, 2)], r.int(-128, 127));
      nodes.push(nd); k = n;
    }
    graphs.push({ shape, nodes });
  }
  // one or two fully dense columns: the tensor is coded dense (encoding 0), and the lists still beat the packed
  // form (which pads N to 8 columns), so the lists are built from the dense-coded bytes
  graphs.push({ shape: [2, 3, 4], nodes: [{ kind: 'flatten', name: 'flat' }, linear(24, 2, { format: 'csr' }, 1, -7), linear(2, 1, { format: 'nm', nm: [1, 2] }, 1, 3)] });
  graphs.push({ shape: [1, 1, 40], nodes: [{ kind: 'flatten', name: 'flat' }, linear(40, 1, { format: 'block', block: [4, 8] }, 1, 100)] });
  // K = 70 000 > 65 536: u32 row indices
  graphs.push({ shape: [70, 1000, 1], nodes: [{ kind: 'flatten', name: 'flat' }, linear(70000, 3, { format: 'csr' }, 0.01, 5)] });
  let covered = 0;
  for (const [i, { shape, nodes }] of graphs.entries()) {
    const input = { scale: f32(0.02), zeroPoint: r.int(-128, 127) };
    nodes[0].out = input;
    const last = nodes[nodes.length - 1];
    const g = { input, inputShape: shape, output: last.out, classes: last.n, nodes, meta: {} };
    const bytes = encodeQwm(g);
    const dense = encodeQwm(denseLinears(g));
    const n = r.int(1, 5), codes = r.i8(n * shape[0] * shape[1] * shape[2]);
    const runner = new Int8Runner(q.rt, g);
    const want = runner.predictCodes(codes, n);
    runner.dispose();
    for (const b of qs) {
      for (const [label, file] of [['sparse', bytes], ['dense', dense]]) {
        const res = load(b, file);
        assert.is(res, 0, `graph ${i} ${label} on ${b.build}: ${qwmWasmError(res)} at byte ${b.kernels.qwm_error_offset()}`);
        assert.is(firstDiff(runCodes(b, codes, n, g.classes), want), null, `graph ${i} ${label} on ${b.build}`);
      }
    }
    covered += nodes.length - 1;
  }
  assert.ok(covered > 40, `${covered} sparse linears`);
  // a broken N:M promise (a csr file whose spec byte now says 1:4) is rejected by both readers, at the spec
  const g = { input: { scale: f32(0.02), zeroPoint: 0 }, inputShape: [1, 1, 8], classes: 2, meta: {}, nodes: [
    { ...linear(8, 2, { format: 'csr' }, 0, 0), w: Int8Array.of(1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3) }] };
  g.output = g.nodes[0].out;
  const good = encodeQwm(g);
  assert.is(load(q, good), 0);
  const spAt = 52 + 1 + 2 + g.nodes[0].name.length + 5 + 8 + 4;   // kind, name, out, k, n, inZp + clamp
  assert.is(good[spAt], 1, 'layout: the sparse spec byte');
  const bad = good.slice();
  bad.set([3, 1, 4], spAt);
  new DataView(bad.buffer).setUint32(12, crc32(bad, 0, 16, bad.length), true);
  assert.throws(() => decodeQwm(bad), (e) => e instanceof QwasmError);
  assert.is(load(q, bad), -9, 'E_TENSOR');
  assert.is(q.kernels.qwm_error_offset(), spAt);
  bad.set([3, 2, 4], spAt);          // 2:4 holds (column 0 keeps rows 0, 1; column 1 row 7)
  new DataView(bad.buffer).setUint32(12, crc32(bad, 0, 16, bad.length), true);
  assert.is(load(q, bad), 0);
});

// ------------------------------------------------------------------------------------------------ (c)

needs(test, 'wabt')('bundled .wasm runs without JS: spectest-interp asserts every output code, wasm-interp prints the checksum', async () => {
  const { q, list: trained } = await models();
  const r = rng(99);
  const list = [...trained, ...Array.from({ length: 6 }, (_, i) => {
    const graph = randomGraph(r), per = graph.inputShape[0] * graph.inputShape[1] * graph.inputShape[2];
    return { name: `random ${i}`, graph, codes: r.i8(3 * per), n: 3, interpN: 3 };
  })];
  const scalar = new Uint8Array(readFileSync(SCALAR));
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-qwm-'));
  try {
    const commands = [];
    const report = [];
    let line = 1;
    for (const [i, m] of list.entries()) {
      const n = m.interpN, per = m.graph.inputShape.reduce((a, b) => a * b, 1);
      const qwm = encodeQwm(m.graph);
      const b = bundleWasm(scalar, qwm, { input: m.codes ? m.codes.subarray(0, n * per) : m.x.subarray(0, n * per) });
      assert.is(b.samples, n);
      assert.ok(WebAssembly.validate(b.wasm), `${m.name}: bundle does not validate`);
      const runner = new Int8Runner(q.rt, m.graph);
      const want = runner.predictCodes(b.inputCodes, n);
      runner.dispose();
      if (m.expect) assert.is(firstDiff(want, m.expect), null, `${m.name}: recorded output codes`);
      const sum = bundleChecksum(want);
      // the bundle in Node first (same module, a JS engine)
      const { instance } = await WebAssembly.instantiate(b.wasm);
      assert.is(instance.exports.qwm_main(), sum, `${m.name}: qwm_main in Node`);
      assert.is(firstDiff(Int8Array.from({ length: want.length }, (_, j) => instance.exports.qwm_out(j)), want), null, `${m.name}: qwm_out in Node`);
      const file = `m${i}.wasm`;
      writeFileSync(join(dir, file), b.wasm);
      commands.push({ type: 'module', line: line++, filename: file });
      const ret = (field, args, value) => commands.push({
        type: 'assert_return', line: line++, action: { type: 'invoke', field, args: args.map((v) => ({ type: 'i32', value: String(v >>> 0) })) },
        expected: [{ type: 'i32', value: String(value >>> 0) }],
      });
      ret('qwm_main', [], sum);
      ret('qwm_out_count', [], want.length);
      want.forEach((v, j) => ret('qwm_out', [j], v));
      ret('qwm_out', [want.length], NO_OUTPUT);
      // wasm-interp: qwm_main is the first argument-free export
      const t0 = performance.now();
      const r = run('wasm-interp', [...FEATURES, join(dir, file), '--run-all-exports']);
      const secs = (performance.now() - t0) / 1000;
      assert.is(r.status, 0, `${m.name}: wasm-interp exited with ${r.status}: ${r.stderr}${r.stdout}`);
      const mt = /^qwm_main\(\) => i32:(\d+)$/m.exec(r.stdout);
      assert.ok(mt, `${m.name}: wasm-interp printed no qwm_main result:\n${r.stdout}${r.stderr}`);
      assert.is(Number(mt[1]), sum, `${m.name}: wasm-interp checksum`);
      report.push(`${m.name}: .qwm ${qwm.length} B, bundle ${b.wasm.length} B, wasm-interp ${n} samples in ${secs.toFixed(2)} s`);
    }
    writeFileSync(join(dir, 'bundles.json'), JSON.stringify({ source_filename: 'bundles.wast', commands }));
    const t0 = performance.now();
    const r = run('spectest-interp', [...FEATURES, 'bundles.json'], dir);
    const asserts = commands.length; // spectest-interp counts each module instantiation as a test too
    assert.is(r.status, 0, `spectest-interp exited with ${r.status}:\n${r.stdout.split('\n').slice(0, 20).join('\n')}${r.stderr}`);
    assert.ok(r.stdout.includes(`${asserts}/${asserts} tests passed`), `spectest-interp ran ${asserts} assertions: ${r.stdout}`);
    report.push(`spectest-interp: ${asserts - list.length} assertions over ${list.length} bundles in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    console.log(`  ${report.join('\n  ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bundles: no input → qwm_main 0 after a good load; a corrupted payload or too small a memory budget → an error code, not a trap; bad arguments throw', async () => {
  const { list } = await models();
  const scalar = new Uint8Array(readFileSync(SCALAR));
  const m = list.find((x) => x.name === 'resnet');
  const qwm = encodeQwm(m.graph);
  const plain = bundleWasm(scalar, qwm);
  let ex = (await WebAssembly.instantiate(plain.wasm)).instance.exports;
  assert.is(ex.qwm_main(), 0);
  assert.is(ex.qwm_out(0), NO_OUTPUT);
  assert.is(ex.qwm_input_size(), 784);
  // the plain scalar build has no embedded model
  ex = (await WebAssembly.instantiate(scalar)).instance.exports;
  assert.is(ex.qwm_main(), E.EMBED);
  // one flipped byte inside the embedded model: the CRC catches it
  const bad = plain.wasm.slice();
  const head = (i) => qwm.subarray(0, 16).every((v, j) => bad[i + j] === v);
  let start = bad.length - qwm.length;
  while (start > 0 && !head(start)) start--;           // the model bytes inside the payload segment
  assert.ok(start > 0 && bad.subarray(start, start + qwm.length).every((v, j) => v === qwm[j]), 'payload not found in the bundle');
  bad[start + 100] ^= 0x40;
  ex = (await WebAssembly.instantiate(bad)).instance.exports;
  assert.is(ex.qwm_main(), E.CRC);
  // a memory budget the model does not fit: an error code, never a trap (the copy of the payload, then the model)
  const refcnn = encodeQwm(list.find((x) => x.name === 'refcnn').graph);
  const tight = bundleWasm(scalar, refcnn, { input: new Int8Array(784) });
  ex = (await WebAssembly.instantiate(bundleWasm(scalar, refcnn, { maxPages: tight.pages }).wasm)).instance.exports;
  assert.is(ex.qwm_main(), E.NOMEM, 'no room to copy the payload');
  ex = (await WebAssembly.instantiate(bundleWasm(scalar, refcnn, { maxPages: tight.pages + 5 }).wasm)).instance.exports;
  assert.is(ex.qwm_main(), E.NOMEM, 'no room for the packed model');
  assert.is(ex.qwm_error_offset(), 0);
  ex = (await WebAssembly.instantiate(bundleWasm(scalar, refcnn, { maxPages: tight.pages + 40 }).wasm)).instance.exports;
  assert.is(ex.qwm_main(), 0, 'a budget the model fits');
  assert.throws(() => bundleWasm(scalar, refcnn, { maxPages: tight.pages - 1 }), /maxPages/);
  assert.throws(() => bundleWasm(scalar, qwm.subarray(0, 100)), (e) => e instanceof QwasmError && /bundleWasm: qwm/.test(e.message));
  assert.throws(() => bundleWasm(scalar, qwm, { input: new Int8Array(785) }), /784/);
  assert.throws(() => bundleWasm(new Uint8Array(10), qwm), /WebAssembly/);
  assert.throws(() => bundleWasm(scalar, 'x'), TypeError);
});

// ------------------------------------------------------------------------------------------------ fuzzing

test('corrupted files: qwm_load never traps, rejects exactly what decodeQwm rejects, and runs what both accept identically', async () => {
  const { q, list } = await models();
  const k = q.kernels, r = rng(4242);
  let rejectedCrc = 0, agreeReject = 0, agreeAccept = 0;
  for (const name of ['mixed', 'mixed-sparse', 'fixture mixed.qwm']) {
    const m = list.find((x) => x.name === name);
    const good = encodeQwm(m.graph);
    const metaLen = new DataView(good.buffer).getUint32(20, true), nodeEnd = good.length - metaLen;
    // (1) random bytes without fixing the CRC: always rejected (the CRC, or an earlier header check)
    for (let t = 0; t < 100; t++) {
      const b = good.slice();
      const pos = r.int(0, b.length - 1), v = r.int(0, 255);
      if (b[pos] === v) continue;
      b[pos] = v;
      const res = load(q, b);
      assert.ok(res < 0, `${name}: byte ${pos} = ${v} was accepted`);
      if (res === E.CRC) rejectedCrc++;
    }
    // (2) mutations with a recomputed CRC, so they reach the field checks; (3) truncations with a patched length
    // (QWM_FUZZ_ROUNDS widens the search by hand; the suite runs 200 per model)
    for (let t = 0, rounds = Number(process.env.QWM_FUZZ_ROUNDS ?? 200); t < rounds; t++) {
      let b;
      if (t % 5 === 4) {
        b = good.slice(0, r.int(0, good.length - 1));
        if (b.length >= 16) { new DataView(b.buffer).setUint32(8, b.length, true); new DataView(b.buffer).setUint32(12, crc32(b, 0, 16, b.length), true); }
      } else {
        b = good.slice();
        for (let j = r.int(1, 3); j > 0; j--) {
          const pos = r.float() < 0.3 ? r.int(16, 60) : r.int(16, nodeEnd - 1);
          const mode = r.int(0, 3);
          b[pos] = mode === 0 ? r.int(0, 255) : mode === 1 ? b[pos] + 1 : mode === 2 ? b[pos] - 1 : (r.float() < 0.5 ? 0 : 255);
        }
        new DataView(b.buffer).setUint32(12, crc32(b, 0, 16, b.length), true);
      }
      const res = load(q, b);   // a trap would throw a WebAssembly.RuntimeError here
      let g = null, why = '';
      try { g = decodeQwm(b); } catch (e) { why = e.message; }
      const label = `${name} mutation ${t}`;
      if (!g) {
        assert.ok(res < 0, `${label}: qwm_load accepted a file decodeQwm rejects (${why})`);
        agreeReject++;
        continue;
      }
      assert.is(res, 0, `${label}: qwm_load returned ${qwmWasmError(res)} at byte ${k.qwm_error_offset()}, decodeQwm accepts the file`);
      const runner = new Int8Runner(q.rt, g);
      const n = 2, codes = r.i8(n * g.inputShape[0] * g.inputShape[1] * g.inputShape[2]);
      const want = runner.predictCodes(codes, n);
      runner.dispose();
      assert.is(firstDiff(runCodes(q, codes, n, g.classes), want), null, label);
      agreeAccept++;
    }
  }
  assert.ok(rejectedCrc > 250, `only ${rejectedCrc} unfixed mutations hit the CRC check`);
  assert.ok(agreeReject > 300 && agreeAccept > 10, `rejected ${agreeReject}, accepted ${agreeAccept}`);
  if (process.env.QWM_FUZZ_ROUNDS) console.log(`  fuzz: ${agreeReject} rejected by both readers, ${agreeAccept} accepted by both and run identically`);
});

test('error codes and qwm_error_offset point at the bad field', async () => {
  const { q } = await models();
  const f32 = Math.fround, n = 3, k = 4;
  // one linear: header 32 + graph header 20, then kind, name "fc", out, k, n, zero points / clamp, sparse spec,
  // wScale[n], mult[n], bias[n], encoding, K×N weights
  const g = {
    input: { scale: f32(0.05), zeroPoint: 1 }, inputShape: [1, 1, k], output: { scale: f32(0.1), zeroPoint: -2 }, classes: n, meta: {},
    nodes: [{ kind: 'linear', name: 'fc', out: { scale: f32(0.1), zeroPoint: -2 }, k, n, inZp: 1, bias: Int32Array.of(5, -6, 7),
      wScale: Float32Array.of(f32(0.01), f32(0.02), f32(0.03)), rq: { mult: Float32Array.of(f32(0.005), f32(0.01), f32(0.015)), outZp: -2, qmin: -128, qmax: 127 },
      sparse: null, w: Int8Array.from({ length: k * n }, (_, i) => i * 9 - 50) }],
  };
  const good = encodeQwm(g);
  const node = 52, mult = node + 1 + 2 + 2 + 5 + 8 + 4 + 3 + 4 * n, weights = mult + 8 * n + 1;
  assert.is(good[node], 2, 'layout of the hand-computed offsets');
  const codes = [];
  const check = (label, patch, code, offset, fixCrc = true) => {
    const b = good.slice();
    patch(new DataView(b.buffer));
    if (fixCrc) new DataView(b.buffer).setUint32(12, crc32(b, 0, 16, b.length), true);
    const r = load(q, b);
    assert.is(r, code, `${label}: ${qwmWasmError(r)}`);
    assert.is(q.kernels.qwm_error_offset(), offset, `${label}: offset`);
    assert.throws(() => decodeQwm(b), (e) => e instanceof QwasmError, `${label}: decodeQwm accepts it`);
    codes.push(r);
  };
  assert.is(load(q, good), 0);
  check('magic', (d) => d.setUint8(1, 0), -2, 0, false);
  check('version', (d) => d.setUint16(4, 3, true), -3, 4);
  check('flags', (d) => d.setUint16(6, 1, true), -4, 6);
  check('length', (d) => d.setUint32(8, good.length + 1, true), -4, 8);
  check('crc', (d) => d.setUint8(good.length - 1, 0x20), -5, 12, false);
  check('node count', (d) => d.setUint32(16, 0, true), -4, 16);
  check('meta length', (d) => d.setUint32(20, good.length, true), -4, 20);
  check('reserved', (d) => d.setUint8(29, 1), -4, 29);
  check('input dim', (d) => d.setUint16(34, 5000, true), -7, 32);
  check('node kind', (d) => d.setUint8(node, 10), -7, node);   // 9 is lut, the last kind
  check('mult = 0', (d) => d.setFloat32(mult + 4, 0, true), -7, mult + 4);
  check('mult NaN', (d) => d.setFloat32(mult, NaN, true), -7, mult);
  check('weight -128', (d) => d.setInt8(weights + 5, -128), -9, weights + 5);
  check('tensor encoding', (d) => d.setUint8(weights - 1, 2), -9, weights - 1);
  check('more nodes than present', (d) => d.setUint32(16, 2, true), -6, good.length - 2);
  check('classes', (d) => d.setUint32(48, 4, true), -8, 48);
  assert.ok(codes.length === 16);
});

test('host errors are codes, not traps: bad pointers and sample counts, runs without a model, memory reuse', async () => {
  const { q, list } = await models();
  const k = q.kernels, rt = q.rt;
  k.qwm_free();
  const buf = rt.alloc(64);
  assert.is(k.qwm_run(buf, 1, buf), E.NOMODEL);
  assert.is(k.qwm_run_f32(buf, 1, buf), E.NOMODEL);
  assert.is(k.qwm_load(0, 100), E.ARG);
  assert.is(k.qwm_load(buf, 0x7fffffff), E.ARG);
  assert.is(k.qwm_load(buf, 10) < 0, true);
  const m = list.find((x) => x.name === 'resnet');
  const bytes = encodeQwm(m.graph);
  assert.is(load(q, bytes), 0);
  assert.is(k.qwm_run(buf, 0, buf), E.ARG);
  assert.is(k.qwm_run(buf, 1, 0x7ffffff0), E.ARG);
  assert.is(k.qwm_run(buf, 1 << 30, buf), E.ARG);
  // loading and running again and again reuses the same memory regions: memory stops growing
  const codes = rng(3).i8(784 * 4);
  const sizes = [];
  for (let i = 0; i < 30; i++) {
    assert.is(load(q, bytes), 0);
    runCodes(q, codes, 4, 10);
    sizes.push(k.qw_memory_bytes());
  }
  assert.is(sizes[29], sizes[2], `memory grew: ${sizes.join(', ')}`);
  rt.free(buf);
});

test.run();
