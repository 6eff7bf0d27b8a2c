// The .qwm model file (src/deploy/qwm.ts, docs/QWM.md): round trips of random graphs and converted models,
// bit-identical predictions from the decoded file, the fixtures of scripts/make-qwm-fixture.mjs, and error
// messages that name the node, the field and the byte offset.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync } from 'node:fs';
import { encodeQwm, decodeQwm, Int8Runner, Int8Model, crc32, quantizeInput, walkGraph, magnitudeMask } from '../dist/index.js';
import { builds, rng } from './helpers.js';
import { randomGraph, plain, smallConverted } from './qwm-graphs.js';

const fixtures = new URL('./fixtures/', import.meta.url);

/** Recomputes the CRC of a (mutated) file so the structural checks are reached. */
function reseal(b) {
  new DataView(b.buffer, b.byteOffset).setUint32(12, crc32(b, 0, 16, b.length), true);
  return b;
}

function codesOf(r, n, per) { return Int8Array.from({ length: n * per }, () => r.int(-128, 127)); }

test('random graphs: encode → decode is the identity; decoded graphs run bit-identically (every build)', async () => {
  const qs = await builds();
  const r = rng(1234);
  const kinds = new Set(), formats = new Set();
  for (let t = 0; t < 60; t++) {
    const g = randomGraph(r);
    walkGraph(g.nodes, (n) => { kinds.add(n.kind); if (n.sparse) formats.add(n.sparse.format); });
    const bytes = encodeQwm(g);
    const back = decodeQwm(bytes);
    assert.equal(plain(back), plain(g), `graph ${t}`);
    assert.equal(encodeQwm(back), bytes, `graph ${t}: re-encoding differs`);
    const per = g.inputShape[0] * g.inputShape[1] * g.inputShape[2], n = r.int(1, 3), x = codesOf(r, n, per);
    let ref = null;
    for (const q of qs) {
      const a = Int8Runner.fromGraph(q.rt, g), b = Int8Runner.fromGraph(q.rt, back);
      const ya = a.predictCodes(x, n), yb = b.predictCodes(x, n);
      assert.is(ya.length, n * g.classes);
      assert.equal(yb, ya, `graph ${t} (${q.build}): decoded model differs`);
      if (ref) assert.equal(ya, ref, `graph ${t}: ${q.build} differs from scalar`);
      ref = ya;
      a.dispose(); b.dispose();
    }
  }
  for (const k of ['conv', 'linear', 'lowrank', 'maxpool', 'avgpool', 'gap', 'flatten', 'residual']) assert.ok(kinds.has(k), `no ${k} node generated`);
  for (const f of ['csr', 'block', 'nm']) assert.ok(formats.has(f), `no ${f} sparse spec generated`);
});

test('converted refcnn / resnet: the decoded .qwm predicts bit-identically; bytes() is the file size', async () => {
  const [q] = (await builds()).slice(-1);
  for (const name of ['refcnn', 'resnet']) {
    const { i8, model, data } = smallConverted(q, name);
    const bytes = encodeQwm(i8.graph);
    assert.is(i8.bytes(), bytes.length);
    const back = Int8Model.fromGraph(q.rt, decodeQwm(bytes));
    assert.equal(back.graph.meta.labels, data.classes);
    const r = rng(5), x = Float32Array.from({ length: 4 * 144 }, () => r.float() * 4 - 2);
    assert.equal(back.predict(x, 4), i8.predict(x, 4));
    assert.equal(back.predictCodes(quantizeInput(x, back.input)), i8.predictCodes(quantizeInput(x, i8.input), 4));
    const sum = i8.layers().reduce((a, l) => a + l.bytes, 0);
    assert.ok(sum < bytes.length && bytes.length - sum < 300, `layer bytes ${sum} vs file ${bytes.length}`);
    back.dispose(); i8.dispose(); model.dispose();
  }
});

test('a 90 % pruned refcnn is stored gap-nibble encoded, far smaller than dense', async () => {
  const [q] = (await builds()).slice(-1);
  const dense = smallConverted(q, 'refcnn', { input: [28, 28, 1] });
  const pruned = smallConverted(q, 'refcnn', {
    input: [28, 28, 1],
    prepare: (m) => { for (const l of m.layers) if (l.weight) { const v = l.weight.toArray(), mk = magnitudeMask(v, 1, v.length, 0.1); l.weight.write(v.map((x, i) => (mk[i] ? x : 0))); } },
  });
  const d = dense.i8.bytes(), p = pruned.i8.bytes();
  const params = dense.model.numParameters();
  console.log(`  refcnn 28×28: ${params} parameters, float32 ${4 * params} B; .qwm dense ${d} B, 90 % pruned ${p} B`);
  assert.ok(d / (4 * params) > 0.24 && d / (4 * params) < 0.27, `dense ratio ${d / (4 * params)}`);
  assert.ok(p < 0.25 * d, `pruned ${p} vs dense ${d}`);
  const bytes = pruned.i8.qwm(), g = decodeQwm(bytes);
  const x = Float32Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i));
  const back = Int8Model.fromGraph(q.rt, g);
  assert.equal(back.predict(x), pruned.i8.predict(x));
  back.dispose();
  for (const o of [dense, pruned]) { o.i8.dispose(); o.model.dispose(); }
});

test('fixtures from scripts/make-qwm-fixture.mjs decode and reproduce their expected codes', async () => {
  const qs = await builds();
  for (const name of ['refcnn', 'resnet', 'mixed', 'dag']) {
    const file = new URL(`${name}.qwm`, fixtures);
    if (!existsSync(file)) { console.log(`  (no fixture ${name}.qwm: run node scripts/make-qwm-fixture.mjs)`); continue; }
    const exp = JSON.parse(readFileSync(new URL(`${name}.qwm.json`, fixtures), 'utf8'));
    const bytes = new Uint8Array(readFileSync(file));
    assert.is(bytes.length, exp.bytes);
    const g = decodeQwm(bytes);
    for (const q of qs) {
      const m = Int8Runner.fromGraph(q.rt, g);
      assert.equal(Array.from(m.predictCodes(Int8Array.from(exp.inputCodes), exp.n)), exp.outputCodes, `${name} on ${q.build}`);
      m.dispose();
    }
  }
});

test('corrupt files are rejected with the node, the field and the byte offset', async () => {
  const [q] = (await builds()).slice(-1);
  const { i8, model } = smallConverted(q, 'refcnn');
  const good = i8.qwm();
  const dv = (b) => new DataView(b.buffer, b.byteOffset);
  // first node: kind u8 at 52, name "0" (u16 1 + 1 byte), out f32 + i8 → payload at 52 + 1 + 3 + 5 = 61
  const kh = good.slice(); dv(kh).setUint16(63, 0, true);
  assert.throws(() => decodeQwm(reseal(kh)), /qwm: node 0 \(conv '0'\): kh = 0 outside \[1, 65535\] at byte 63/);
  assert.throws(() => decodeQwm(kh.slice(0, 1000)), /truncated/);
  const crc = good.slice(); crc[200] ^= 1;
  assert.throws(() => decodeQwm(crc), /CRC-32 mismatch.* at byte 12/);
  const magic = good.slice(); magic[0] = 0;
  assert.throws(() => decodeQwm(magic), /bad magic/);
  const ver = good.slice(); dv(ver).setUint16(4, 3, true);
  assert.throws(() => decodeQwm(ver), /version 3/);
  const kind = good.slice(); kind[52] = 11;   // 10 is dag, the last kind
  assert.throws(() => decodeQwm(reseal(kind)), /node 0: unknown node kind 11 at byte 52/);
  const dag1 = good.slice(); dag1[52] = 10;    // a DAG node needs version 2
  assert.throws(() => decodeQwm(reseal(dag1)), /node kind 10 \(dag\) needs format version 2, the file says 1 at byte 52/);
  const cls = good.slice(); dv(cls).setUint32(48, 11, true);
  assert.throws(() => decodeQwm(reseal(cls)), /classes = 11 but the last node outputs 10/);
  const scale = good.slice(); dv(scale).setFloat32(56, -1, true);
  assert.throws(() => decodeQwm(reseal(scale)), /out\.scale = -1 must be a finite number > 0 at byte 56/);
  const extra = new Uint8Array(good.length + 3); extra.set(good); dv(extra).setUint32(8, extra.length, true);
  assert.throws(() => decodeQwm(reseal(extra)), /meta is not UTF-8 JSON|unexplained bytes/);
  assert.throws(() => decodeQwm(new Uint8Array(10)), /truncated or not a \.qwm/);
  assert.throws(() => decodeQwm([1, 2]), /Uint8Array/);
  // graphs built in JS are validated too
  const g = decodeQwm(good);
  g.nodes[0].w[3] = -128;
  assert.throws(() => encodeQwm(g), /node 0 \(conv '0'\): w\[3\] = -128/);
  assert.throws(() => Int8Runner.fromGraph(q.rt, g), /w\[3\] = -128/);
  g.nodes[0].w[3] = 1; g.nodes[0].stride = [0, 1];
  assert.throws(() => Int8Runner.fromGraph(q.rt, g), /sh = 0/);
  i8.dispose(); model.dispose();
});

test('predict / predictCodes argument checks', async () => {
  const [q] = (await builds()).slice(-1);
  const { i8, model } = smallConverted(q, 'refcnn');
  assert.throws(() => i8.predict(new Float32Array(5)), /x must hold a multiple of 12×12×1/);
  assert.throws(() => i8.predictCodes(new Float32Array(144)), /codes must be an Int8Array/);
  assert.throws(() => i8.predictCodes(new Int8Array(144), 2), /n × 12×12×1 = 288/);
  assert.is(i8.predictCodes(new Int8Array(288)).length, 20);
  i8.dispose();
  assert.throws(() => i8.predict(new Float32Array(144)), /after dispose/);
  model.dispose();
});

test('qwasm/runtime: loadQwm → predict (floats or pixels), predictCodes, classify, info', async () => {
  const [q] = (await builds()).slice(-1);
  const { loadQwm, loadModel, QwmModel } = await import('../dist/runtime-entry.js');
  assert.is(loadModel, loadQwm, 'the deprecated name loadModel stays an alias of loadQwm');
  const file = new URL('mixed.qwm', fixtures);
  if (!existsSync(file)) return;
  const bytes = new Uint8Array(readFileSync(file)), exp = JSON.parse(readFileSync(new URL('mixed.qwm.json', fixtures), 'utf8'));
  const m = await loadQwm(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), { runtime: q.rt });
  assert.ok(m instanceof QwmModel);
  assert.equal(Array.from(m.predictCodes(Int8Array.from(exp.inputCodes))), exp.outputCodes);
  const px = Uint8Array.from({ length: 2 * 144 }, (_, i) => (i * 37) & 255);
  const norm = Float32Array.from(px, (p) => (p / 255 - m.graph.meta.mean) / m.graph.meta.std);
  assert.equal(m.predict(px), m.predict(norm));
  const cls = m.classify(px);
  assert.is(cls.length, 2);
  assert.is(cls[0].label, `class${cls[0].index}`);
  const info = m.info();
  assert.is(info.bytes, bytes.length);
  assert.equal(info.inputShape, [12, 12, 1]);
  const l10 = info.layers.find((l) => l.name === '10');
  assert.is(l10.backend, 'sparse');
  assert.ok(l10.density > 0.05 && l10.density <= 0.11, `density ${l10.density}`);
  m.dispose();
  assert.throws(() => m.predict(px), /after dispose/);
  try { await loadQwm(bytes.slice(0, 100), { runtime: q.rt }); assert.unreachable(); } catch (e) { assert.match(e.message, /qwm: .*truncated/); }
  // the default path loads its own runtime
  const own = await loadQwm(bytes);
  assert.equal(Array.from(own.predictCodes(Int8Array.from(exp.inputCodes))), exp.outputCodes);
  own.dispose();
});

test.run();
