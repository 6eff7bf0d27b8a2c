// Checkpoints: round trips, atomic saves, and corrupt / truncated / forged files → clear CheckpointErrors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, CheckpointError, QwasmError, crc32 } from '../dist/index.js';
import { rng } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'qwasm-ckpt-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function sample(seed = 1) {
  const r = rng(seed);
  return {
    meta: {
      model: { name: 'lenet5', config: { channels: [6, 16], classes: 10 } },
      optimizer: { name: 'adam', config: { lr: 1e-3, betas: [0.9, 0.999] } },
      step: 1234, epoch: 3, seed, dataset: { name: 'mnist', train: 60000 }, note: 'ünïcødé ✓',
    },
    tensors: {
      'conv1.weight': { shape: [6, 5, 5, 1], data: r.f32(150) },
      'conv1.bias': { data: r.f32(6) },
      'fc.weight_q': { shape: [10, 3], data: r.i8(30) },
      'bn.count': { shape: [], data: Int32Array.of(-5) },
      'mask': { shape: [2, 4], data: Uint8Array.of(1, 0, 1, 1, 0, 0, 1, 255) },
      'empty': { shape: [0, 3], data: new Float32Array(0) },
      'adam.m.conv1.weight': { shape: [6, 5, 5, 1], data: r.f32(150, 1e-3) },
    },
  };
}

function same(got, want) {
  assert.equal(got.meta, JSON.parse(JSON.stringify(want.meta)));
  assert.equal(Object.keys(got.tensors), Object.keys(want.tensors));
  for (const [name, t] of Object.entries(want.tensors)) {
    const g = got.tensors[name];
    assert.equal(g.shape, t.shape ?? [t.data.length], name);
    assert.is(g.data.constructor, t.data.constructor, name);
    assert.equal(Array.from(g.data), Array.from(t.data), name);
  }
}

function expectCkptError(fn, re) {
  try { fn(); } catch (e) {
    if (!(e instanceof CheckpointError)) throw new Error(`expected a CheckpointError, got ${e?.name}: ${e?.message}`);
    assert.ok(e instanceof QwasmError);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.unreachable('expected a CheckpointError');
}

test('encode / decode round trip: f32, i8, i32, u8, scalars, empty tensors, JSON metadata', () => {
  const c = sample();
  const bytes = encodeCheckpoint(c);
  const d = decodeCheckpoint(bytes);
  assert.is(d.version, 1);
  same(d, c);
  assert.equal(Array.from(bytes.subarray(0, 8)), [0x51, 0x57, 0x43, 0x4b, 0x50, 0x54, 0x0d, 0x0a]);
  assert.equal(Array.from(encodeCheckpoint(c)), Array.from(bytes), 'deterministic');
  // decoded tensors are copies, aligned, independent of the input bytes
  bytes.fill(0);
  assert.ok(d.tensors['conv1.weight'].data.some((v) => v !== 0));
  // an empty checkpoint
  same(decodeCheckpoint(encodeCheckpoint({ meta: {}, tensors: {} })), { meta: {}, tensors: {} });
});

test('encode rejects bad input with named errors', () => {
  assert.throws(() => encodeCheckpoint({ meta: {}, tensors: { a: { shape: [2, 2], data: new Float32Array(3) } } }), /shape \[2, 2\] holds 4/);
  assert.throws(() => encodeCheckpoint({ meta: {}, tensors: { a: { data: new Float64Array(3) } } }), /Float32Array/);
  assert.throws(() => encodeCheckpoint({ meta: {}, tensors: { '': { data: new Float32Array(3) } } }), /name/);
  assert.throws(() => encodeCheckpoint({ meta: [], tensors: {} }), /JSON object/);
});

test('save / load a file; a failure between write and rename leaves the old file intact', () => {
  const file = join(tmp, 'model.qwckpt');
  const v1 = sample(1), v2 = sample(2);
  const n = saveCheckpoint(file, v1);
  assert.is(n, readFileSync(file).length);
  same(loadCheckpoint(file), v1);
  let tmpSeen = null;
  assert.throws(() => saveCheckpoint(file, v2, { beforeRename: (t) => { tmpSeen = t; throw new Error('simulated crash'); } }), /simulated crash/);
  assert.ok(tmpSeen && tmpSeen.startsWith(tmp), 'the temporary file is in the same folder');
  same(loadCheckpoint(file), v1);
  assert.equal(readdirSync(tmp), ['model.qwckpt'], 'no temporary file left behind');
  saveCheckpoint(file, v2);
  same(loadCheckpoint(file), v2);
  assert.equal(readdirSync(tmp), ['model.qwckpt']);
  expectCkptError(() => loadCheckpoint(join(tmp, 'missing.qwckpt')), /cannot read \(ENOENT\)/);
  expectCkptError(() => loadCheckpoint(tmp), /cannot read/);
  writeFileSync(join(tmp, 'text.qwckpt'), 'hello world, this is not a checkpoint at all........');
  expectCkptError(() => loadCheckpoint(join(tmp, 'text.qwckpt')), /bad magic/);
  rmSync(join(tmp, 'text.qwckpt'));
});

test('truncation at every byte offset → CheckpointError', () => {
  const small = { meta: { model: { name: 'm' }, step: 1 }, tensors: { w: { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, q: { data: Int8Array.of(-1, 2) } } };
  const bytes = encodeCheckpoint(small);
  for (let n = 0; n < bytes.length; n++) expectCkptError(() => decodeCheckpoint(bytes.subarray(0, n)));
  expectCkptError(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1)), /truncated/);
  const longer = new Uint8Array(bytes.length + 3); longer.set(bytes);
  expectCkptError(() => decodeCheckpoint(longer), /trailing/);
});

test('random byte flips → CheckpointError, never another exception', () => {
  const bytes = encodeCheckpoint(sample(3));
  const r = rng(17);
  for (let t = 0; t < 3000; t++) {
    const b = bytes.slice();
    const flips = 1 + r.int(0, 3);
    for (let k = 0; k < flips; k++) b[r.int(0, b.length - 1)] ^= 1 << r.int(0, 7);
    if (b.every((v, i) => v === bytes[i])) continue;
    expectCkptError(() => decodeCheckpoint(b));
  }
});

// Rewrites fields of a valid checkpoint and fixes the CRC, so only the structural checks can catch it.
function forge(bytes, edit) {
  const b = bytes.slice();
  const dv = new DataView(b.buffer);
  edit(dv, b);
  dv.setUint32(b.length - 4, crc32(b, 0, 0, b.length - 4), true);
  return b;
}

test('forged fields with a valid checksum → clear errors, no huge allocation', () => {
  const c = { meta: { a: 1 }, tensors: { w: { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, b: { data: Int32Array.of(7, 8) } } };
  const bytes = encodeCheckpoint(c);
  // index entry 0 ("w"): u16 len @40, name @42, dtype @43, rank @44, dims @45..52, offset @53, size @61
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(8, 2, true))), /unsupported version 2/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(16, 0xffffffff, true))), /cannot fit/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(24, 0xfffffff0, true))), /exceed the file/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv, b) => { b[43] = 9; })), /unknown dtype code 9/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv, b) => { b[44] = 200; })), /rank 200/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(45, 0xffffffff, true))), /shape \[4294967295, 3\]/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => { dv.setUint32(61, 0xfffffff0, true); dv.setUint32(65, 0x1000, true); })), /outside the data area/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(65, 0x7fffffff, true))), /corrupt data location/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(53, dv.getUint32(53, true) + 2, true))), /not aligned|outside/);
  // point tensor b at tensor w's data: overlap
  const bOff = 40 + 2 + 1 + 2 + 8 + 16 + 2 + 1 + 2 + 4; // entry 1's offset field
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(bOff, dv.getUint32(53, true), true))), /overlap/);
  // data inside the index / metadata
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(53, 0, true))), /outside the data area/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv, b) => { b[42] = 0xff; })), /UTF-8/);
  const metaAt = 40 + dv32(bytes, 20);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv, b) => { b[metaAt] = 0x5b; })), /metadata/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv, b) => { b[40] = 0; })), /name length 0/);
  expectCkptError(() => decodeCheckpoint(forge(bytes, (dv) => dv.setUint32(20, dv.getUint32(20, true) + 4, true))), /unexplained|metadata|runs past/);
});

function dv32(b, at) { return new DataView(b.buffer, b.byteOffset).getUint32(at, true); }

test.run();
