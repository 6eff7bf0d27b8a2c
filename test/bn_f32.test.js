import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import { batchNormF32Train, batchNormF32Eval, batchNormF32Grad, batchNormF32ForwardTrain, batchNormF32Backward } from '../dist/index.js';

// [m rows (N·H·W), c channels]
const shapes = [[2, 1], [5, 3], [16, 4], [33, 7], [64 * 13, 32], [100, 64], [7, 129], [1000, 5]];

// float64 JS reference (PyTorch semantics)
function jsForward(x, m, c, gamma, beta, eps) {
  const mean = new Float64Array(c), vr = new Float64Array(c), y = new Float64Array(m * c);
  for (let j = 0; j < c; j++) {
    let s = 0; for (let r = 0; r < m; r++) s += x[r * c + j];
    mean[j] = s / m;
    let q = 0; for (let r = 0; r < m; r++) q += (x[r * c + j] - mean[j]) ** 2;
    vr[j] = q / m;
    const is = 1 / Math.sqrt(vr[j] + eps);
    for (let r = 0; r < m; r++) y[r * c + j] = (x[r * c + j] - mean[j]) * is * (gamma ? gamma[j] : 1) + (beta ? beta[j] : 0);
  }
  return { y, mean, vr, invstd: vr.map((v) => 1 / Math.sqrt(v + eps)) };
}
function jsBackward(x, dy, m, c, mean, invstd, gamma, training) {
  const dx = new Float64Array(m * c), dg = new Float64Array(c), dbt = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    let sdy = 0, sdyx = 0;
    for (let r = 0; r < m; r++) { sdy += dy[r * c + j]; sdyx += dy[r * c + j] * (x[r * c + j] - mean[j]) * invstd[j]; }
    dbt[j] = sdy; dg[j] = sdyx;
    const g = gamma ? gamma[j] : 1;
    for (let r = 0; r < m; r++) {
      const xh = (x[r * c + j] - mean[j]) * invstd[j];
      dx[r * c + j] = training ? g * invstd[j] * (dy[r * c + j] - sdy / m - xh * sdyx / m) : g * invstd[j] * dy[r * c + j];
    }
  }
  return { dx, dgamma: dg, dbeta: dbt };
}

// max |got - want| over max(max |want|, floor): dx of tiny batches cancels to ~0, so it is measured against the
// size of its terms (floor = max |γ·invstd·dy|)
function relErr(got, want, floor = 1e-30) {
  let e = 0, mx = floor;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    e = Math.max(e, Math.abs(got[i] - want[i])); mx = Math.max(mx, Math.abs(want[i]));
  }
  return got.length === want.length ? e / mx : Infinity;
}
const close = (got, want, tol, msg, floor) => { const e = relErr(got, want, floor); assert.ok(e <= tol, `${msg}: relative error ${e}`); };

test('batch norm f32 training forward: fast = reference = float64 JS; running stats (unbiased var, momentum)', async () => {
  const r = rng(31);
  for (const q of await builds()) {
    for (const [m, c] of shapes) {
      for (const affine of [true, false]) {
        const x = Float32Array.from(r.f32(m * c, 3), (v, i) => v + (i % c) - 2);   // per-channel offsets
        const gamma = affine ? r.f32(c, 2) : undefined, beta = affine ? r.f32(c) : undefined;
        const eps = 1e-5, momentum = 0.1;
        const js = jsForward(x, m, c, gamma, beta, eps);
        for (const reference of [false, true]) {
          const tag = `${q.build} ${reference ? 'ref' : 'fast'} ${m}x${c} affine ${affine}`;
          const runMean = r.f32(c), runVar = Float32Array.from(r.f32(c), (v) => v + 2);
          const rm0 = runMean.slice(), rv0 = runVar.slice();
          const out = batchNormF32Train(q.rt, x, c, { gamma, beta, runMean, runVar, eps, momentum, reference });
          close(out.y, js.y, 2e-5, `y ${tag}`);
          close(out.mean, js.mean, 1e-5, `mean ${tag}`);
          close(out.invstd, js.invstd, 1e-5, `invstd ${tag}`);
          close(runMean, js.mean.map((v, j) => 0.9 * rm0[j] + 0.1 * v), 1e-5, `runMean ${tag}`);
          close(runVar, js.vr.map((v, j) => 0.9 * rv0[j] + 0.1 * v * m / (m - 1)), 1e-5, `runVar ${tag}`);
        }
      }
    }
  }
});

test('batch norm f32: variance is accurate for a large mean (two-pass, no E[x²] - E[x]²)', async () => {
  const r = rng(2);
  for (const q of await builds()) {
    const m = 4096, c = 6;
    const x = Float32Array.from(r.f32(m * c), (v) => 1e4 + v);
    const js = jsForward(x, m, c, undefined, undefined, 0);
    for (const reference of [false, true]) {
      const out = batchNormF32Train(q.rt, x, c, { eps: 0, reference });
      close(out.invstd, js.invstd, 1e-4, `invstd ${q.build} ${reference}`);
      close(out.y, js.y, 1e-3, `y ${q.build} ${reference}`);
    }
  }
});

test('batch norm f32 eval forward uses the running statistics', async () => {
  const r = rng(6);
  for (const q of await builds()) {
    for (const [m, c] of shapes) {
      const x = r.f32(m * c, 2), gamma = r.f32(c), beta = r.f32(c), runMean = r.f32(c), runVar = Float32Array.from(r.f32(c), (v) => v + 1.5);
      const want = new Float64Array(m * c);
      for (let i = 0; i < m * c; i++) { const j = i % c; want[i] = (x[i] - runMean[j]) / Math.sqrt(runVar[j] + 1e-3) * gamma[j] + beta[j]; }
      for (const reference of [false, true]) {
        close(batchNormF32Eval(q.rt, x, c, { runMean, runVar, gamma, beta, eps: 1e-3, reference }), want, 2e-6, `${q.build} ${m}x${c}`);
      }
    }
  }
});

test('batch norm f32 backward: fast = reference = float64 JS formulas (training and frozen statistics)', async () => {
  const r = rng(17);
  for (const q of await builds()) {
    for (const [m, c] of shapes) {
      for (const training of [true, false]) {
        const x = r.f32(m * c, 2), dy = r.f32(m * c), gamma = r.f32(c, 2);
        const fw = batchNormF32Train(q.rt, x, c, { gamma });
        const js = jsBackward(x, dy, m, c, fw.mean, fw.invstd, gamma, training);
        for (const reference of [false, true]) {
          const tag = `${q.build} ${reference ? 'ref' : 'fast'} ${m}x${c} training ${training}`;
          const g = batchNormF32Grad(q.rt, x, dy, c, fw.mean, fw.invstd, { gamma, training, reference });
          let floor = 0;
          for (let i = 0; i < m * c; i++) floor = Math.max(floor, Math.abs(gamma[i % c] * fw.invstd[i % c] * dy[i]));
          close(g.dx, js.dx, 2e-5, `dx ${tag}`, floor);
          close(g.dgamma, js.dgamma, 1e-5, `dgamma ${tag}`);
          close(g.dbeta, js.dbeta, 1e-5, `dbeta ${tag}`);
        }
      }
    }
  }
});

test('batch norm f32 backward matches finite differences of the float64 forward (L = Σ r·y)', async () => {
  const r = rng(23);
  for (const q of await builds()) {
    for (const [m, c] of [[5, 3], [16, 4], [33, 7]]) {
      const x = r.f32(m * c, 2), gamma = r.f32(c, 2), beta = r.f32(c), rr = r.f32(m * c);
      const fw = batchNormF32Train(q.rt, x, c, { gamma, beta });
      const g = batchNormF32Grad(q.rt, x, rr, c, fw.mean, fw.invstd, { gamma });
      const xd = Float64Array.from(x), gd = Float64Array.from(gamma), bd = Float64Array.from(beta);
      const loss = () => { const y = jsForward(xd, m, c, gd, bd, 1e-5).y; let l = 0; for (let i = 0; i < y.length; i++) l += y[i] * rr[i]; return l; };
      const fd = (arr, i) => { const o = arr[i], h = 1e-6; arr[i] = o + h; const a = loss(); arr[i] = o - h; const b = loss(); arr[i] = o; return (a - b) / (2 * h); };
      for (let t = 0; t < 10; t++) {
        const i = r.int(0, m * c - 1), j = r.int(0, c - 1);
        const tag = `${q.build} ${m}x${c}`;
        assert.ok(Math.abs(fd(xd, i) - g.dx[i]) < 1e-3 * (1 + Math.abs(g.dx[i])), `dx[${i}] ${g.dx[i]} vs ${fd(xd, i)} ${tag}`);
        assert.ok(Math.abs(fd(gd, j) - g.dgamma[j]) < 1e-3 * (1 + Math.abs(g.dgamma[j])), `dgamma[${j}] ${tag}`);
        assert.ok(Math.abs(fd(bd, j) - g.dbeta[j]) < 1e-3 * (1 + Math.abs(g.dbeta[j])), `dbeta[${j}] ${tag}`);
      }
    }
  }
});

test('batch norm f32 backward: beta = 1 accumulates into dx / dgamma / dbeta, 0 never reads them', async () => {
  const r = rng(29);
  for (const q of await builds()) {
    const rt = q.rt, m = 37, c = 9;
    const x = r.f32(m * c), dy = r.f32(m * c), gamma = r.f32(c);
    const fw = batchNormF32Train(rt, x, c, { gamma });
    const g = batchNormF32Grad(rt, x, dy, c, fw.mean, fw.invstd, { gamma });
    for (const reference of [false, true]) {
      for (const acc of [0, 1]) {
        rt.scoped((s) => {
          const o = { dx: r.f32(m * c), dgamma: r.f32(c), dbeta: r.f32(c) };
          const put = (a) => s.put(acc === 0 ? new Float32Array(a.length).fill(NaN) : a);
          const p = { x: s.put(x), dy: s.put(dy), mean: s.put(fw.mean), invstd: s.put(fw.invstd), gamma: s.put(gamma), dx: put(o.dx), dgamma: put(o.dgamma), dbeta: put(o.dbeta) };
          batchNormF32Backward(rt, { m, c }, p, { beta: acc, reference });
          for (const k of ['dx', 'dgamma', 'dbeta']) {
            close(rt.f32(p[k], o[k].length), g[k].map((v, i) => v + (acc ? o[k][i] : 0)), 1e-5, `${k} acc ${acc} ${q.build} ${reference}`);
          }
        });
      }
    }
  }
});

test('batch norm f32: bad arguments throw errors naming them', async () => {
  const [q] = await builds();
  const x = new Float32Array(12);
  assert.throws(() => batchNormF32Train(q.rt, x, 5), /x length 12 must be a positive multiple of c \(5\)/);
  assert.throws(() => batchNormF32Train(q.rt, x, 0), /c must be in/);
  assert.throws(() => batchNormF32Train(q.rt, new Float32Array(4), 4), /m must be ≥ 2 in training mode/);
  assert.throws(() => batchNormF32Train(q.rt, x, 4, { gamma: new Float32Array(3) }), /gamma must have length 4/);
  assert.throws(() => batchNormF32Train(q.rt, x, 4, { eps: -1 }), /eps must be ≥ 0/);
  assert.throws(() => batchNormF32Train(q.rt, x, 4, { momentum: 2 }), /momentum must be in \[0, 1\]/);
  assert.throws(() => batchNormF32Train(q.rt, [1, 2], 1), /x must be a Float32Array/);
  assert.throws(() => batchNormF32Eval(q.rt, x, 4, { runMean: new Float32Array(4), runVar: new Float32Array(2) }), /runVar must have length 4/);
  assert.throws(() => batchNormF32Grad(q.rt, x, new Float32Array(11), 4, new Float32Array(4), new Float32Array(4)), /dy must have length 12/);
  assert.throws(() => batchNormF32ForwardTrain(q.rt, { m: 3, c: 4 }, { x: 16, y: 16, mean: 16 }), /invstd must be a pointer/);
  assert.throws(() => batchNormF32Backward(q.rt, { m: 3, c: 4 }, { x: 16, dy: 16, mean: 16, invstd: 16, dx: q.rt.memoryBytes() }), /dx .* runs past the end/);
  assert.throws(() => batchNormF32Backward(q.rt, { m: 3, c: 4 }, { x: 16, dy: 16, mean: 16, invstd: 16, dx: 16 }, { beta: Infinity }), /beta must be a finite/);
});

test.run();
