// f32 optimisers (assembly/optim_f32.ts): SGD / Adam / AdamW steps vs a JS transcription of PyTorch's formulas
// (f32 arithmetic emulated with Math.fround) over several steps, bit for bit; fast vs reference bit for bit in every
// build, masks keeping pruned weights at 0, clipping by global norm, argument errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import { optimF32 } from '../dist/index.js';

const f = Math.fround;
const SIZES = [1, 3, 4, 17, 100, 1000, 1023];

function close(got, want, rel, what) {
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= rel * Math.max(1e-3, Math.abs(want[i])))) assert.unreachable(`${what}: [${i}] ${got[i]} vs ${want[i]}`);
  }
}

// torch.optim.SGD (single tensor): d = g + wd·p; buf = first ? d : mom·buf + (1 − damp)·d; d = nesterov ? d + mom·buf : buf; p −= lr·d
function sgdJs(p, g, buf, o, first, mask) {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, gradScale = 1 } = o;
  for (let i = 0; i < p.length; i++) {
    let d = gradScale === 1 ? g[i] : f(g[i] * f(gradScale));
    if (weightDecay) d = f(d + f(f(weightDecay) * p[i]));
    if (momentum) {
      buf[i] = first ? d : f(f(f(momentum) * buf[i]) + f(f(1 - dampening) * d));
      d = nesterov ? f(d + f(f(momentum) * buf[i])) : buf[i];
    }
    p[i] = f(p[i] - f(f(lr) * d));
    if (mask && !mask[i]) p[i] = 0;
  }
}
// torch.optim.Adam / AdamW (single tensor, amsgrad off)
function adamJs(p, g, m, v, o, step, mask) {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, decoupled = false, gradScale = 1 } = o;
  const weightDecay = o.weightDecay ?? (decoupled ? 0.01 : 0);
  const w = f(1 - beta1), bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  const stepSize = f(lr / bc1), bc2s = f(Math.sqrt(bc2));
  for (let i = 0; i < p.length; i++) {
    let d = gradScale === 1 ? g[i] : f(g[i] * f(gradScale));
    if (!decoupled && weightDecay) d = f(d + f(f(weightDecay) * p[i]));
    if (decoupled) p[i] = f(p[i] * f(1 - lr * weightDecay));
    const diff = f(d - m[i]);
    m[i] = w < 0.5 ? f(m[i] + f(w * diff)) : f(d - f(diff * f(1 - w)));
    v[i] = f(f(v[i] * f(beta2)) + f(f(d * d) * f(1 - beta2)));
    const den = f(f(f(Math.sqrt(v[i])) / bc2s) + f(eps));
    p[i] = f(p[i] - f(stepSize * f(m[i] / den)));
    if (mask && !mask[i]) p[i] = 0;
  }
}

const SGD_CONFIGS = [
  { lr: 0.1 },
  { lr: 0.05, weightDecay: 1e-2 },
  { lr: 0.01, momentum: 0.9 },
  { lr: 0.01, momentum: 0.9, dampening: 0.1, weightDecay: 5e-4 },
  { lr: 0.02, momentum: 0.8, nesterov: true, weightDecay: 1e-3 },
  { lr: 0.02, momentum: 0.9, gradScale: 0.37 },
];
const ADAM_CONFIGS = [
  { lr: 1e-3 },
  { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 1e-2 },
  { lr: 1e-3, decoupled: true },
  { lr: 3e-3, decoupled: true, weightDecay: 0.1, beta1: 0.3 },   // beta1 < 0.5: lerp's other branch
  { lr: 1e-3, decoupled: true, gradScale: 0.25 },
];

/**
 * Runs `check(q, n, o, mask, p0, what)` on every build × size × config, unmasked and with a mask keeping about 3/4
 * of the weights (drawn from r before p0); `check` returns the fast path's p, whose pruned weights must stay 0.
 */
async function eachCase(r, optimizer, configs, check) {
  for (const q of await builds()) {
    for (const n of SIZES) {
      for (const o of configs) {
        for (const masked of [false, true]) {
          const mask = masked ? Uint8Array.from({ length: n }, () => r.int(0, 3) ? 1 : 0) : undefined;
          const p0 = r.f32(n, 1);
          const what = `${q.build} ${optimizer} n=${n} ${JSON.stringify(o)} masked=${masked}`;
          const p = check(q, n, o, mask, p0, what);
          if (mask) for (let i = 0; i < n; i++) if (!mask[i]) assert.is(p[i], 0, `${what}: pruned weight stays 0`);
        }
      }
    }
  }
}

test('SGD (momentum, dampening, Nesterov, weight decay) = PyTorch formulas in f32 over 6 steps; fast = reference', async () => {
  const r = rng(21);
  await eachCase(r, 'sgd', SGD_CONFIGS, (q, n, o, mask, p0, what) => {
    const O = q.optimF32, R = O.reference;
    const pa = p0.slice(), pb = p0.slice(), pj = p0.slice();
    const ba = o.momentum ? new Float32Array(n) : null, bb = o.momentum ? new Float32Array(n) : null, bj = new Float32Array(n);
    for (let s = 0; s < 6; s++) {
      const g = r.f32(n, 1);
      O.sgdStep(pa, g, ba, o, s === 0, mask);
      R.sgdStep(pb, g, bb, o, s === 0, mask);
      sgdJs(pj, g, bj, o, s === 0, mask);
    }
    assert.is(eq(pa, pb), null, `${what}: fast vs ref`);
    if (ba) assert.is(eq(ba, bb), null, `${what}: buf fast vs ref`);
    assert.is(eq(pa, pj), null, `${what}: vs JS`);
    if (ba) assert.is(eq(ba, bj), null, `${what}: buf vs JS`);
    return pa;
  });
});

test('Adam and AdamW = PyTorch formulas in f32 over 8 steps (bias correction, eps, coupled / decoupled decay); fast = reference', async () => {
  const r = rng(22);
  await eachCase(r, 'adam', ADAM_CONFIGS, (q, n, o, mask, p0, what) => {
    const O = q.optimF32, R = O.reference;
    const st = () => ({ p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n) });
    const a = st(), b = st(), j = st();
    for (let s = 1; s <= 8; s++) {
      const g = r.f32(n, s === 3 ? 1e-6 : 1);   // one step of tiny gradients: eps matters
      O.adamStep(a.p, g, a.m, a.v, o, s, mask);
      R.adamStep(b.p, g, b.m, b.v, o, s, mask);
      adamJs(j.p, g, j.m, j.v, o, s, mask);
    }
    assert.is(eq(a.p, b.p), null, `${what}: p fast vs ref`);
    assert.is(eq(a.m, b.m), null, `${what}: m fast vs ref`);
    assert.is(eq(a.v, b.v), null, `${what}: v fast vs ref`);
    assert.is(eq(a.p, j.p), null, `${what}: p vs JS`);
    assert.is(eq(a.m, j.m), null, `${what}: m vs JS`);
    assert.is(eq(a.v, j.v), null, `${what}: v vs JS`);
    return a.p;
  });
});

test('Adam first step moves each weight by about lr (bias correction); SGD without momentum needs no buffer', async () => {
  const [q] = await builds();
  const p = new Float32Array(5).fill(1), g = Float32Array.of(1, -2, 3, -4, 5);
  q.optimF32.adamStep(p, g, new Float32Array(5), new Float32Array(5), { lr: 0.01 }, 1);
  close(p, Float32Array.of(0.99, 1.01, 0.99, 1.01, 0.99), 1e-5, 'adam step 1');
  const p2 = Float32Array.of(1, 2);
  q.optimF32.sgdStep(p2, Float32Array.of(1, 1), null, { lr: 0.5 }, true);
  assert.equal(Array.from(p2), [0.5, 1.5]);
});

test('clipGradNorm: global L2 norm over several buffers, scaled by maxNorm/(norm + 1e-6) only when above', async () => {
  const r = rng(23);
  for (const q of await builds()) {
    for (const ref of [false, true]) {
      const O = ref ? q.optimF32.reference : q.optimF32;
      const gs = [r.f32(17, 1), r.f32(1000, 1), r.f32(3, 1)];
      const orig = gs.map((g) => g.slice());
      let ss = 0;
      for (const g of gs) for (const v of g) ss += v * v;
      const norm = Math.sqrt(ss);
      const got = O.clipGradNorm(gs, 1);
      assert.ok(Math.abs(got - norm) < 1e-9 * norm, `${q.build} norm`);
      const c1 = Math.fround(1 / (norm + 1e-6));
      gs.forEach((g, k) => assert.is(eq(g, Float32Array.from(orig[k], (v) => f(c1 * v))), null, `${q.build} scaled`));
      const after = Math.sqrt(gs.reduce((s, g) => s + g.reduce((t, v) => t + v * v, 0), 0));
      assert.ok(Math.abs(after - 1) < 1e-5, `${q.build} clipped norm ${after}`);
      // fused: clip coefficient as the optimiser's gradScale = clipping the gradients in place first
      const g1 = r.f32(50, 3), p1 = r.f32(50, 1), p2 = p1.slice(), g2 = g1.slice();
      const bufs = q.rt.scoped((s) => optimF32.gradNorm(q.rt, [{ ptr: s.put(g1), n: 50 }], ref));
      const coef = optimF32.clipCoefficient(bufs, 1);
      assert.ok(coef < 1);
      O.clipGradNorm([g2], 1);
      O.adamStep(p1, g1, new Float32Array(50), new Float32Array(50), { lr: 1e-2, gradScale: coef }, 1);
      O.adamStep(p2, g2, new Float32Array(50), new Float32Array(50), { lr: 1e-2 }, 1);
      assert.is(eq(p1, p2), null, `${q.build} gradScale = clipping first`);
      const small = [Float32Array.of(0.1, 0.2)];
      O.clipGradNorm(small, 10);
      assert.equal(Array.from(small[0]), [f(0.1), f(0.2)], 'below maxNorm: untouched');
    }
  }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const O = q.optimF32, rt = q.rt;
  const p = new Float32Array(4), g = new Float32Array(4);
  assert.throws(() => O.sgdStep(p, g, null, { lr: 0.1, momentum: 0.9 }, true), /buf must be a non-null pointer/);
  assert.throws(() => O.sgdStep(p, g, null, { lr: 0.1, nesterov: true }, true), /nesterov requires momentum > 0 and dampening = 0/);
  assert.throws(() => O.sgdStep(p, g, null, { lr: -1 }, true), /lr must be non-negative/);
  assert.throws(() => O.sgdStep(p, g, null, {}, true), /lr is required/);
  assert.throws(() => O.sgdStep(p, new Float32Array(3), null, { lr: 1 }, true), /g must have length 4/);
  assert.throws(() => O.sgdStep(p, g, null, { lr: 1 }, true, new Uint8Array(2)), /mask must have length 4/);
  assert.throws(() => O.sgdStep(p, g, null, { lr: 1 }, 1), /first must be a boolean/);
  assert.throws(() => O.adamStep(p, g, p.slice(), p.slice(), { lr: 1e-3 }, 0), /step must be an integer ≥ 1/);
  assert.throws(() => O.adamStep(p, g, p.slice(), p.slice(), { lr: 1e-3, beta1: 1 }, 1), /beta1 must be in \[0, 1\)/);
  assert.throws(() => O.adamStep(p, g, p.slice(), p.slice(), { lr: 1e-3, eps: NaN }, 1), /eps must be a finite number/);
  assert.throws(() => O.adamStep(p, g, p.slice(), p.slice(), { lr: 1e-3, gradScale: Infinity }, 1), /gradScale must be a finite number/);
  assert.throws(() => O.adamStep(p, g, new Float32Array(2), p.slice(), { lr: 1e-3 }, 1), /m must have length 4/);
  assert.throws(() => O.clipGradNorm([p], 0), /maxNorm must be positive/);
  assert.throws(() => O.clipGradNorm([Float32Array.of(NaN)], 1), /gradient norm is NaN/);
  assert.throws(() => optimF32.adamStep(rt, 16, 32, 48, 64, rt.memoryBytes() - 2, 4, { lr: 1e-3 }, 1), /mask \[.*\) lies outside WASM memory/);
  assert.throws(() => optimF32.sgdStep(rt, 16, 30, 0, 0, 4, { lr: 1e-3 }, true), /g must be 4-byte aligned/);
  assert.throws(() => optimF32.clipGradNorm(rt, [{ ptr: 16, n: 0 }], 1), /n must be in \[1,/);
});

test.run();
