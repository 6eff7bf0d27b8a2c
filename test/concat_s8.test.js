// concat_s8 (a DAG's concat merge, assembly/concat_s8.ts) against its plain-loop twin concat_s8_ref in every
// build: every input code, copies and requantisations (ties, huge and tiny multipliers), channel counts around
// the 16-lane blocks, offsets inside a wider output whose other channels must stay untouched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';

const f32 = Math.fround;

test('concat_s8 equals concat_s8_ref: copies, ties, huge / tiny multipliers, channel tails, offsets (every build)', async () => {
  const r = rng(17);
  const cases = [
    { zx: 5, m: 1, zo: 5 },            // on the output's grid: a copy
    { zx: 5, m: 1, zo: -3 },           // same scale, other zero point
    { zx: -7, m: f32(0.5), zo: 2 },    // .5 ties on every odd code
    { zx: 100, m: f32(3.3), zo: -128 }, // saturating
    { zx: -128, m: f32(1e-7), zo: 0 },  // near zero: ±0
    { zx: 0, m: f32(1e38), zo: 9 },     // products overflow to ±∞
    { zx: 31, m: f32(0.731), zo: 127 },
  ];
  for (const q of await builds()) {
    const k = q.kernels;
    for (const cs of cases) {
      for (const c of [1, 3, 15, 16, 17, 32, 45]) {
        const pixels = r.int(1, 40), extra = r.int(0, 20), off = r.int(0, extra), ctot = c + extra;
        // every code appears: the input cycles through −128 … 127
        const x = Int8Array.from({ length: pixels * c }, (_, i) => ((i * 7 + r.int(0, 255)) & 255) - 128);
        const y0 = r.i8(pixels * ctot);
        const run = (fn) => q.rt.scoped((s) => {
          const xp = s.put(x), yp = s.put(y0);
          fn(pixels, xp, c, cs.zx, cs.m, yp, ctot, off, cs.zo);
          return q.rt.i8(yp, pixels * ctot).slice();
        });
        const got = run(k.concat_s8), want = run(k.concat_s8_ref);
        assert.is(eq(got, want), null, `${q.build} ${JSON.stringify(cs)} c ${c} ctot ${ctot} off ${off}`);
        // the reference writes exactly channels [off, off + c) of each pixel
        for (let p = 0; p < pixels; p++) for (let j = 0; j < ctot; j++) {
          if (j < off || j >= off + c) assert.is(want[p * ctot + j], y0[p * ctot + j], 'other channels untouched');
        }
      }
    }
  }
});

test.run();
