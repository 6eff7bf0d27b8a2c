// Pruned k×k convolutions on the sparse kernels: im2col_s8 (assembly/conv_s8.ts) + SparseMatrixS8, wrapped as
// SparseConv2dS8 (src/kernels/conv_s8.ts). The oracle is the dense path: for the same weights the sparse conv's
// int8 output must equal PackedConv2dS8's and conv2d_s8_ref's bit for bit (any kernel, stride, padding, dilation,
// zero points, clamps; csr, N:M and block formats; batches spanning several im2col chunks), in every build.
// Then the deployment chain: convertToInt8 puts a 90 %-pruned refcnn's 3×3 convs on the sparse kernels with the
// same output codes as the dense conversion; .qwm round trip (JS and the pure-WASM reader); grouped convs stay dense.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, PackedConv2dS8, SparseConv2dS8, im2colS8, Engine, buildModel, loadDataset, quantizeStatic, convertToInt8, encodeQwm, decodeQwm, Int8Runner, validateGraph,
  prunedWeights, Pruner, nmMask, layers, InitRng, QwasmError,
} from '../dist/index.js';
import { conv2dS8Reference } from '../dist/kernels/conv_s8.js';
import { builds, rng, eq } from './helpers.js';

/** Plain-JS im2col: row p = (b, oy, ox), column (ky·kw + kx)·c + ci; padding = zp. */
function im2colJs(x, [n, h, w, c], kh, kw, [sh, sw], [pt, pl], [dh, dw], oh, ow, zp) {
  const k = kh * kw * c, out = new Int8Array(n * oh * ow * k);
  let p = 0;
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++, p++) {
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let ci = 0; ci < c; ci++) {
      const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
      out[p * k + (ky * kw + kx) * c + ci] = iy < 0 || iy >= h || ix < 0 || ix >= w ? zp : x[((b * h + iy) * w + ix) * c + ci];
    }
  }
  return out;
}

/** A random ungrouped conv case: shapes, geometry, sparse int8 OHWI weights, requantisation. */
function randomCase(r, big = false) {
  for (;;) {
    const n = big ? r.int(2, 4) : r.int(1, 3), h = big ? r.int(20, 30) : r.int(1, 12), w = big ? r.int(20, 30) : r.int(1, 12);
    const c = big ? r.int(8, 24) : r.int(1, 20), oc = r.int(1, big ? 40 : 20);
    const kh = r.int(1, 5), kw = r.int(1, 5);
    const stride = big ? [r.int(1, 2), 1] : [r.int(1, 3), r.int(1, 3)], dilation = r.int(0, 3) ? [1, 1] : [r.int(1, 2), r.int(1, 2)];
    const padding = r.int(0, 4) === 0 ? 'same' : r.int(0, 3) === 0 ? 'valid' : [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)];
    const ekh = (kh - 1) * dilation[0] + 1, ekw = (kw - 1) * dilation[1] + 1;
    const [pt, pl, pb, pr] = Array.isArray(padding) ? padding : [0, 0, 0, 0];
    if (padding !== 'same' && (h + pt + pb < ekh || w + pl + pr < ekw)) continue;
    const k = kh * kw * c, density = [0.05, 0.1, 0.3, 0.6][r.int(0, 3)];
    const wts = Int8Array.from({ length: oc * k }, () => (r.float() < density ? (r.int(-127, 127) || 1) : 0));
    const scale = Float32Array.from({ length: oc }, () => Math.fround(0.0005 + r.float() * 0.01));
    const bias = Int32Array.from({ length: oc }, () => r.int(-20000, 20000));
    const act = ['none', 'relu', 'relu6'][r.int(0, 2)];
    return {
      input: r.i8(n * h * w * c), inShape: [n, h, w, c], wShape: [oc, kh, kw, c], wts, k,
      opts: { stride, padding, dilation, inZeroPoint: r.int(-128, 127), bias, scale, outZeroPoint: r.int(-128, 127), activation: act, outScale: 0.05 },
    };
  }
}

/** K×N view of OHWI weights (W[k][o] = w[o][k]). */
function toKN(wts, k, oc) {
  const t = new Int8Array(k * oc);
  for (let o = 0; o < oc; o++) for (let kk = 0; kk < k; kk++) t[kk * oc + o] = wts[o * k + kk];
  return t;
}

test('im2col_s8 writes the patch matrix of the plain-JS reference in every build (padding = input zero point)', async () => {
  const qs = await builds();
  const r = rng(11);
  for (let t = 0; t < 120; t++) {
    const cs = randomCase(r, t % 20 === 0);
    const [n, h, w, c] = cs.inShape, [, kh, kw] = cs.wShape;
    const want = [];
    for (const q of qs) {
      const packed = new PackedConv2dS8(q.rt, cs.wts, cs.wShape, cs.opts);
      const g = packed.geometry(h, w);
      packed.dispose();
      const ref = im2colJs(cs.input, cs.inShape, kh, kw, [g.sh, g.sw], [g.pt, g.pl], [g.dh, g.dw], g.oh, g.ow, cs.opts.inZeroPoint);
      const got = im2colS8(q.rt, cs.input, cs.inShape, [kh, kw], cs.opts);
      assert.is(got.rows, n * g.oh * g.ow);
      assert.is(got.k, kh * kw * c);
      assert.is(eq(got.data, ref), null, `case ${t} (${q.build}) ${JSON.stringify({ shape: cs.inShape, wShape: cs.wShape, ...cs.opts, bias: 0, scale: 0 })}`);
      want.push(got.data);
    }
    for (let i = 1; i < want.length; i++) assert.is(eq(want[i], want[0]), null, `case ${t}: ${qs[i].build} vs ${qs[0].build}`);
  }
});

test('SparseConv2dS8 (csr, N:M, block) equals PackedConv2dS8 and conv2d_s8_ref bit for bit in every build', async () => {
  const qs = await builds();
  const r = rng(5);
  const outs = new Map();
  let chunked = 0;
  for (let t = 0; t < 90; t++) {
    const cs = randomCase(r, t % 15 === 0);
    const oc = cs.wShape[0], k = cs.k;
    const fmt = ['csr', 'nm', 'block'][t % 3];
    const sopts = { ...cs.opts };
    let wts = cs.wts;
    if (fmt === 'nm') {
      // keep ≤ 2 of every 4 consecutive k per output channel (the K×N view's columns)
      const kn = toKN(wts, k, oc), m = nmMask(kn, k, oc, 2, 4);
      wts = Int8Array.from(wts, (v, i) => (m[(i % k) * oc + Math.floor(i / k)] ? v : 0));
      Object.assign(sopts, { format: 'nm', nm: [2, 4] });
    } else if (fmt === 'block') {
      // every 2×4 block of the K×N view holding a nonzero is kept (kept zeros add nothing)
      const kn = toKN(wts, k, oc), mask = new Uint8Array(k * oc);
      for (let k0 = 0; k0 < k; k0 += 2) for (let n0 = 0; n0 < oc; n0 += 4) {
        let any = false;
        for (let kk = k0; kk < Math.min(k, k0 + 2); kk++) for (let j = n0; j < Math.min(oc, n0 + 4); j++) if (kn[kk * oc + j]) any = true;
        if (any) for (let kk = k0; kk < Math.min(k, k0 + 2); kk++) for (let j = n0; j < Math.min(oc, n0 + 4); j++) mask[kk * oc + j] = 1;
      }
      Object.assign(sopts, { format: 'block', block: [2, 4], mask });
    }
    const per = [];
    for (const q of qs) {
      const ref = conv2dS8Reference(q.rt, cs.input, cs.inShape, wts, cs.wShape, cs.opts);
      const dense = new PackedConv2dS8(q.rt, wts, cs.wShape, cs.opts);
      const sparse = new SparseConv2dS8(q.rt, wts, cs.wShape, sopts);
      const a = dense.apply(cs.input, cs.inShape), b = sparse.apply(cs.input, cs.inShape);
      const tag = `case ${t} ${fmt} (${q.build}) ${JSON.stringify({ shape: cs.inShape, wShape: cs.wShape, stride: cs.opts.stride, padding: cs.opts.padding, dilation: cs.opts.dilation })}`;
      assert.equal(b.shape, ref.shape, tag);
      assert.is(eq(a.data, ref.data), null, `dense vs ref: ${tag}`);
      assert.is(eq(b.data, ref.data), null, `sparse vs ref: ${tag}`);
      if (cs.inShape[0] * b.shape[1] * b.shape[2] * k > (1 << 17)) chunked++;
      dense.dispose(); sparse.dispose();
      per.push(b.data);
    }
    outs.set(t, per);
    for (let i = 1; i < per.length; i++) assert.is(eq(per[i], per[0]), null, `case ${t}: ${qs[i].build} vs ${qs[0].build}`);
  }
  assert.ok(chunked >= 2, `only ${chunked} cases spanned several im2col chunks`);
});

test('SparseConv2dS8: argument errors name the argument; pointer runs; use after dispose', async () => {
  const [q] = await builds();
  const w = new Int8Array(4 * 3 * 3 * 2);
  w[5] = 7;
  assert.throws(() => new SparseConv2dS8(q.rt, new Int8Array(4 * 9), [4, 3, 3, 1], { groups: 2, scale: 0.01 }), /groups/);
  assert.throws(() => new SparseConv2dS8(q.rt, w, [4, 3, 3, 2], { scale: 0.01, format: 'nm', nm: [1, 4], mask: new Uint8Array(18 * 4).fill(1) }), /mask is not 1:4/);
  assert.throws(() => new SparseConv2dS8(q.rt, w, [4, 3, 3, 2], { scale: 0.01, mask: new Uint8Array(3) }), /mask/);
  const s = new SparseConv2dS8(q.rt, w, [4, 3, 3, 2], { scale: 0.01, padding: 1, stride: 2 });
  assert.equal(s.outputShape(2, 5, 5), [2, 3, 3, 4]);
  assert.throws(() => s.apply(new Int8Array(2 * 5 * 5 * 3), [2, 5, 5, 3]), /inShape\[3\]/);
  assert.throws(() => s.run(0, 1, 5, 5, 8), /inputPtr/);
  s.dispose();
  assert.throws(() => s.apply(new Int8Array(50), [1, 5, 5, 2]), /after dispose/);
  assert.throws(() => im2colS8(q.rt, new Int8Array(4), [1, 2, 2, 1], [3, 3]), /does not fit/);
});

// ------------------------------------------------------------------------------------------ deployment

let cache = null;
async function prunedRefcnn() {
  if (cache) return cache;
  const [q] = await builds();
  const e = new Engine(q.rt);
  const { train, test: testSet } = loadDataset('mnist');
  const m = buildModel(e, 'refcnn', { seed: 4 });
  // 90 % unstructured magnitude pruning of every conv and linear weight
  new Pruner(m, { sparsity: 0.9 }).dispose(); // one-shot magnitude pruning, each layer to 90 %
  const qat = quantizeStatic(m, train, { batches: 2, batchSize: 32, seed: 3 });
  qat.eval();
  const x = Float32Array.from(testSet.images.subarray(0, 24 * 784), (v) => (v / 255 - 0.1307) / 0.3081);
  cache = { q, e, m, qat, x, train };
  return cache;
}

test('convertToInt8: a 90 %-pruned refcnn runs its 3×3 convs sparse with the dense conversion\'s output codes; .qwm round trip', async () => {
  const { q, m, qat, x } = await prunedRefcnn();
  const pruned = prunedWeights(m);
  const auto = convertToInt8(qat, undefined, { pruned });
  const dense = convertToInt8(qat, undefined, { backend: 'dense' });
  const byName = (i8) => Object.fromEntries(i8.layers().map((l) => [l.name, l.backend]));
  const ba = byName(auto), bd = byName(dense);
  assert.is(ba['0'], 'sparse'); assert.is(ba['3'], 'sparse'); assert.is(ba['7'], 'sparse');
  assert.is(bd['0'], 'conv'); assert.is(bd['3'], 'conv');
  const convs = auto.graph.nodes.filter((nd) => nd.kind === 'conv');
  // prunedWeights reports 'nm' 2:4 for a weight whose zeros happen to fit it (the 9-tap stem), else 'csr'
  assert.ok(convs.every((nd) => nd.kh === 3 && nd.sparse && (nd.sparse.format === 'csr' || nd.sparse.format === 'nm')), `convs carry a sparse spec: ${JSON.stringify(convs.map((nd) => nd.sparse))}`);
  // no mask: 'auto' picks sparse from the int8 density alone
  const byDensity = convertToInt8(qat);
  assert.is(byName(byDensity)['3'], 'sparse');
  const codes = (i8) => i8.predictCodes(Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / i8.input.scale) + i8.input.zeroPoint))), 24);
  const want = codes(dense);
  assert.is(eq(codes(auto), want), null, 'auto (sparse convs) vs dense');
  assert.is(eq(codes(byDensity), want), null, 'density-picked sparse vs dense');
  assert.equal(auto.predict(x, 24), dense.predict(x, 24));
  // explicit 'sparse' for every layer equals too; the file keeps the specs and runs the same
  const all = convertToInt8(qat, undefined, { backend: 'sparse' });
  assert.ok(all.layers().filter((l) => l.kind === 'conv').every((l) => l.backend === 'sparse'));
  assert.is(eq(codes(all), want), null, 'backend sparse vs dense');
  const bytes = encodeQwm(auto.graph), g = decodeQwm(bytes);
  assert.equal(g.nodes.filter((nd) => nd.kind === 'conv').map((nd) => nd.sparse), convs.map((nd) => nd.sparse));
  const rt = new Int8Runner(q.rt, g);
  const xc = Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v * 20))));
  assert.is(eq(rt.predictCodes(xc, 24), dense.predictCodes(xc, 24)), null, 'decoded .qwm vs dense');
  // the tensors are gap-coded either way (writers pick the smaller encoding): only the 3 spec bytes per layer differ
  assert.is(bytes.length, encodeQwm(dense.graph).length);
  // the pure-WASM reader of every build loads and runs it with the same codes
  for (const b of await builds()) {
    const k = b.kernels, p = b.rt.put(bytes);
    try { assert.is(k.qwm_load(p, bytes.length), 0, `${b.build}: qwm_load`); } finally { b.rt.free(p); }
    const got = b.rt.scoped((s) => { const ip = s.put(xc), op = s.alloc(24 * 10); assert.is(k.qwm_run(ip, 24, op), 0); return b.rt.i8(op, 240).slice(); });
    assert.is(eq(got, dense.predictCodes(xc, 24)), null, `${b.build}: qwm_run vs dense`);
  }
  rt.dispose(); all.dispose(); byDensity.dispose(); auto.dispose(); dense.dispose();
});

test('sparse convs in a fresh instance: memory grows during the run (scratch re-derived), traces equal the dense ones layer by layer', async () => {
  const { q, m, qat } = await prunedRefcnn();
  const auto = convertToInt8(qat, undefined, { pruned: prunedWeights(m) });
  const dense = convertToInt8(qat, undefined, { backend: 'dense' });
  const bytes = encodeQwm(auto.graph);
  const r = rng(21), n = 96, xc = r.i8(n * 784);
  const want = dense.predictCodes(xc, n);
  for (const build of (await builds()).map((b) => b.build)) {
    const fresh = await init({ build });
    const runner = new Int8Runner(fresh.rt, decodeQwm(bytes));
    const before = fresh.rt.memory.buffer.byteLength;
    const got = runner.predictCodes(xc, n);
    assert.ok(fresh.rt.memory.buffer.byteLength > before, `${build}: the run grew memory (${before} B before)`);
    assert.is(eq(got, want), null, `${build}: fresh-instance sparse runner vs dense`);
    runner.dispose();
  }
  const xf = Float32Array.from({ length: 6 * 784 }, (_, i) => Math.sin(i * 0.37) * 2);
  const ta = auto.trace(xf, 6), td = dense.trace(xf, 6);
  assert.equal([...ta.keys()], [...td.keys()]);
  for (const [name, t] of ta) assert.is(eq(t.data, td.get(name).data), null, `trace of layer '${name}'`);
  auto.dispose(); dense.dispose();
  void q;
});

test('grouped / depthwise convs stay dense: \'sparse\' for one is an error naming it; the readers reject a grouped sparse spec', async () => {
  const { q, train } = await prunedRefcnn();
  const e = new Engine(q.rt), L = layers, R = new InitRng(2);
  const m = new L.Sequential(e, [
    new L.Conv2d(e, { inChannels: 1, outChannels: 8, kernel: 3, padding: 1, stride: 2 }, R), new L.ReLU(e),
    new L.Conv2d(e, { inChannels: 8, outChannels: 8, kernel: 3, padding: 1, groups: 8 }, R), new L.ReLU(e),
    new L.Conv2d(e, { inChannels: 8, outChannels: 16, kernel: 5, padding: [1, 2, 0, 1], dilation: 2 }, R), new L.ReLU(e),
    new L.Flatten(e), new L.Linear(e, 16 * 7 * 9, 10, R),   // 14×14 → (14 + 1 − 9) + 1 = 7 by (14 + 3 − 9) + 1 = 9
  ]);
  const qat = quantizeStatic(m, train, { batches: 1, batchSize: 16, seed: 1 });
  qat.eval();
  assert.throws(() => convertToInt8(qat, undefined, { backend: 'sparse' }), (err) => err instanceof QwasmError && /'2'/.test(err.message) && /groups = 8/.test(err.message));
  assert.throws(() => convertToInt8(qat, undefined, { backend: (i) => (i.kind === 'conv' && i.groups > 1 ? 'sparse' : undefined) }), /'2'.*groups = 8/);
  // a dilated, asymmetrically padded 5×5 conv and a strided 3×3 on the sparse kernels (dense weights): same codes
  const sp = convertToInt8(qat, undefined, { backend: (i) => (i.kind === 'conv' && i.groups === 1 ? 'sparse' : undefined) });
  const dn = convertToInt8(qat, undefined, { backend: 'dense' });
  assert.equal(sp.layers().filter((l) => l.kind === 'conv').map((l) => l.backend), ['sparse', 'conv', 'sparse']);
  const r = rng(3), xc = r.i8(5 * 784);
  assert.is(eq(sp.predictCodes(xc, 5), dn.predictCodes(xc, 5)), null);
  // a sparse spec on the depthwise conv: validateGraph, decodeQwm and qwm_load all reject it
  const g = decodeQwm(encodeQwm(dn.graph));
  const dw = g.nodes.find((nd) => nd.kind === 'conv' && nd.groups > 1);
  dw.sparse = { format: 'csr' };
  assert.throws(() => validateGraph(g), /ungrouped/);
  assert.throws(() => encodeQwm(g), /ungrouped/);
  sp.dispose(); dn.dispose(); m.dispose();
});

test.run();
