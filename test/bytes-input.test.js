// Every API that takes bytes takes them as they come: a Node Buffer or a Uint8Array at any byteOffset
// (including odd ones, as a Buffer from a pool or a slice of a bigger file is), or an ArrayBuffer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import {
  init, Engine, buildModel, checkpointOf, encodeCheckpoint, decodeCheckpoint, loadModelBytes, parseIdx, encodeIdx,
  decodePng, decodePnm, decodeImage, isPng, crc32,
} from '../dist/index.js';
import { decodeQwm, isQwm } from '../dist/deploy/qwm.js';
import { loadQwm } from '../dist/runtime-entry.js';

/** The same bytes as a Buffer at byteOffset ≡ 1, 3 (mod 8), a Uint8Array at offset 5, and an ArrayBuffer. */
function forms(bytes) {
  const at = (off) => { const big = new Uint8Array(bytes.length + off + 8); big.set(bytes, off); return big.subarray(off, off + bytes.length); };
  const buf = (off) => { const b = Buffer.alloc(bytes.length + off); Buffer.from(bytes).copy(b, off); return b.subarray(off); };
  const views = [['Buffer +1', buf(1)], ['Buffer +3', buf(3)], ['Uint8Array +5', at(5)], ['ArrayBuffer', bytes.slice().buffer]];
  for (const [name, v] of views.slice(0, 3)) assert.ok(v.byteOffset % 4 !== 0, `${name} is unaligned`);
  return views;
}

test('checkpoints: decodeCheckpoint and loadModelBytes', async () => {
  const q = await init({ build: 'scalar' });
  const e = new Engine(q.rt);
  const model = buildModel(e, 'mlp', { hidden: [5], seed: 3 });
  const bytes = encodeCheckpoint(checkpointOf(model, { name: 'mlp', options: { hidden: [5], seed: 3 } }, { note: 'x' }));
  const want = model.stateDict();
  for (const [name, v] of forms(bytes)) {
    const ck = decodeCheckpoint(v);
    assert.is(ck.meta.note, 'x', name);
    const { model: m } = loadModelBytes(e, v, name);
    const got = m.stateDict();
    for (const k of Object.keys(want)) assert.equal(Array.from(got[k]), Array.from(want[k]), `${name}: ${k}`);
    m.dispose();
  }
  assert.throws(() => decodeCheckpoint('nope'), /checkpoint bytes must be a Uint8Array, Buffer or ArrayBuffer/);
});

test('.qwm: decodeQwm, isQwm and the runtime loadQwm', async () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/refcnn.qwm', import.meta.url)));
  const ref = decodeQwm(bytes);
  const q = await init({ build: 'scalar' });
  const [h, w, c] = ref.inputShape;
  const x = new Float32Array(h * w * c).map((_, i) => ((i * 37) % 255) / 255);
  let logits = null;
  for (const [name, v] of forms(bytes)) {
    assert.ok(isQwm(v), name);
    assert.equal(decodeQwm(v).nodes.map((n) => n.name), ref.nodes.map((n) => n.name), name);
    const m = await loadQwm(v, { runtime: q.rt });
    const y = Array.from(m.predict(x, 1));
    if (logits) assert.equal(y, logits, name); else logits = y;
    m.dispose();
  }
});

test('dataset bytes: IDX (u8 and big-endian f32), PNG, PGM', () => {
  const u8 = encodeIdx(Uint8Array.from({ length: 24 }, (_, i) => i * 3), [2, 3, 4]);
  const f32 = new Uint8Array(4 + 4 + 3 * 4), dv = new DataView(f32.buffer);
  f32.set([0, 0, 0x0d, 1]); dv.setUint32(4, 3); [1.5, -2, 1e-3].forEach((v, i) => dv.setFloat32(8 + 4 * i, v));
  const png = tinyPng(3, 2, [0, 50, 100, 150, 200, 250]);
  const pgm = Buffer.concat([Buffer.from('P5 3 2 255\n'), Buffer.from([9, 8, 7, 6, 5, 4])]);
  for (const [name, v] of forms(u8)) assert.equal(Array.from(parseIdx(v).data), Array.from({ length: 24 }, (_, i) => i * 3), name);
  for (const [name, v] of forms(f32)) assert.equal(Array.from(parseIdx(v).data), [1.5, -2, Math.fround(1e-3)], name);
  for (const [name, v] of forms(png)) {
    assert.ok(isPng(v), name);
    assert.equal(Array.from(decodePng(v).data), [0, 50, 100, 150, 200, 250], name);
    assert.equal(Array.from(decodeImage(v).data), [0, 50, 100, 150, 200, 250], name);
  }
  for (const [name, v] of forms(new Uint8Array(pgm))) assert.equal(Array.from(decodePnm(v).data), [9, 8, 7, 6, 5, 4], name);
});

/** A grey 8-bit PNG (filter 0 rows). */
function tinyPng(w, h, px) {
  const raw = new Uint8Array(h * (w + 1));
  for (let y = 0; y < h; y++) raw.set(px.slice(y * w, y * w + w), y * (w + 1) + 1);
  const chunk = (type, data) => {
    const out = new Uint8Array(12 + data.length), dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    out.set(Buffer.from(type, 'latin1'), 4); out.set(data, 8);
    dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w); dv.setUint32(4, h); ihdr[8] = 8; ihdr[9] = 0;
  return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]));
}

test.run();
