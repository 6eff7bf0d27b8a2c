import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';

const lengths = [1, 7, 15, 16, 17, 33, 64, 100, 1000, 4099];

test('addS8 equals addS8Reference (zero points at both ends, saturation, relu/relu6, every build)', async () => {
  const r = rng(31);
  const params = [
    { aScale: 0.1, bScale: 0.1, outScale: 0.1 },
    { aScale: 0.05, aZeroPoint: -128, bScale: 0.2, bZeroPoint: 127, outScale: 0.01, outZeroPoint: 127 },   // saturating
    { aScale: 0.3, aZeroPoint: 127, bScale: 0.01, bZeroPoint: -128, outScale: 0.5, outZeroPoint: -128, activation: 'relu' },
    { aScale: 0.02, aZeroPoint: 5, bScale: 0.03, bZeroPoint: -9, outScale: 0.04, outZeroPoint: 3, activation: 'relu6' },
    { aScale: 1, bScale: 1, outScale: 2 },                                                                     // exact .5 ties
  ];
  for (const q of await builds()) {
    for (const len of lengths) {
      for (const p of params) {
        for (const mode of ['random', 'extreme']) {
          const a = mode === 'extreme' ? Int8Array.from({ length: len }, (_, i) => (i % 2 ? 127 : -128)) : r.i8(len);
          const b = mode === 'extreme' ? Int8Array.from({ length: len }, (_, i) => (i % 3 ? -128 : 127)) : r.i8(len);
          const got = q.addS8(a, b, p), want = q.addS8Reference(a, b, p);
          assert.is(eq(got, want), null, `${q.build} ${len} ${JSON.stringify(p)} ${mode}`);
        }
      }
    }
  }
});

test('addS8 equals addS8Reference on every (a, b) pair: large, tiny and overflowing ratios, ties, clamps (every build)', async () => {
  // all 65536 pairs (a multiple of 16: the SIMD loop sees them all), then a 13-element tail
  const a = Int8Array.from({ length: 65536 + 13 }, (_, i) => (i & 255) - 128), b = Int8Array.from(a, (_, i) => ((i >> 8) & 255) - 128);
  const params = [
    { aScale: 1, aZeroPoint: 3, bScale: 1, bZeroPoint: -3, outScale: 2, outZeroPoint: -1 },                    // .5 ties everywhere
    { aScale: 200, bScale: 0.5, bZeroPoint: 9, outScale: 1, outZeroPoint: 100, activation: 'relu' },           // |f| far past the clamp
    { aScale: 1e-6, aZeroPoint: -128, bScale: 3e-6, bZeroPoint: 127, outScale: 1, outZeroPoint: -7 },           // near zero: ±0
    { aScale: 1e37, bScale: 1e37, bZeroPoint: 1, outScale: 1e-1 },                                               // 255·ma overflows f32
    { aScale: 0.7, aZeroPoint: 17, bScale: 0.3, bZeroPoint: -40, outScale: 0.25, outZeroPoint: 12, activation: 'relu6' },
  ];
  for (const q of await builds()) {
    for (const p of params) assert.is(eq(q.addS8(a, b, p), q.addS8Reference(a, b, p)), null, `${q.build} ${JSON.stringify(p)}`);
  }
});

test('addS8 matches the documented f32 rule in plain JS', async () => {
  const r = rng(3);
  const p = { aScale: 0.037, aZeroPoint: -11, bScale: 0.013, bZeroPoint: 20, outScale: 0.029, outZeroPoint: 6, activation: 'relu' };
  const f = Math.fround;
  const ma = f(p.aScale / p.outScale), mb = f(p.bScale / p.outScale);
  const rne = (v) => { const fl = Math.floor(v), d = v - fl; return d > 0.5 || (d === 0.5 && fl % 2 !== 0) ? fl + 1 : fl; };
  const a = r.i8(500), b = r.i8(500);
  const want = Int8Array.from(a, (av, i) => {
    let v = f(f(f(av - p.aZeroPoint) * ma) + f(f(b[i] - p.bZeroPoint) * mb));
    v = Math.min(Math.max(v, p.outZeroPoint - p.outZeroPoint), 127 - p.outZeroPoint);
    return rne(v) + p.outZeroPoint;
  });
  for (const q of await builds()) {
    assert.is(eq(q.addS8(a, b, p), want), null, q.build);
    assert.is(eq(q.addS8Reference(a, b, p), want), null, q.build);
  }
  const [q] = await builds();
  // 1 + 2 = 3 → 3/2 = 1.5 → 2; 1 + 0 → 0.5 → 0
  assert.equal([...q.addS8(Int8Array.of(1, 1, -1), Int8Array.of(2, 0, 0), { aScale: 1, bScale: 1, outScale: 2 })], [2, 0, 0]);
  assert.is(q.addS8(new Int8Array(0), new Int8Array(0), { aScale: 1, bScale: 1, outScale: 1 }).length, 0);
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const a = new Int8Array(4), ok = { aScale: 1, bScale: 1, outScale: 1 };
  assert.throws(() => q.addS8(a, new Int8Array(5), ok), /b must have length 4/);
  assert.throws(() => q.addS8([1, 2], new Int8Array(2), ok), /a must be a Int8Array/);
  assert.throws(() => q.addS8(a, new Uint8Array(4), ok), /b must be a Int8Array/);
  assert.throws(() => q.addS8(a, a), /opts must be an object/);
  assert.throws(() => q.addS8(a, a, { ...ok, aScale: 0 }), /aScale must be positive/);
  assert.throws(() => q.addS8(a, a, { ...ok, bScale: NaN }), /bScale must be a finite number/);
  assert.throws(() => q.addS8(a, a, { aScale: 1, bScale: 1 }), /outScale must be a finite number/);
  assert.throws(() => q.addS8(a, a, { ...ok, aZeroPoint: 128 }), /aZeroPoint must be in/);
  assert.throws(() => q.addS8(a, a, { ...ok, outZeroPoint: -129 }), /outZeroPoint must be in/);
  assert.throws(() => q.addS8(a, a, { ...ok, activation: 'tanh' }), /activation must be/);
  assert.throws(() => q.addS8(a, a, { aScale: 1e-30, bScale: 1, outScale: 1e30 }), /not a finite positive f32/);
});

test.run();
