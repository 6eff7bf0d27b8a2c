#!/usr/bin/env node
// Does the relaxed build beat SIMD128 on int8 GEMM in an engine that computes relaxed SIMD correctly?
// Times the packed int8 GEMM kernel (PackedGemmS8.runInt32: packing of B done once, outside the timing;
// A and C already in WASM memory) inside headless Chromium, relaxed and simd builds loaded side by side with
// init({ build }), rounds interleaved so both see the same machine state. Prints GOPS (2·M·K·N per call)
// and relaxed / simd. Not a test.
//   node bench/relaxed-chromium.js [--ms=300] [--rounds=5] [--warmup-ms=1500] [--requant]
//                                  [--shapes=256x256x256,1x1024x1024] [--js-flags=--no-liftoff] [--f32]
// (needs `npm run build` and Chromium; QWASM_CHROMIUM overrides /usr/bin/chromium.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openQwasmPage, ROOT } from '../test/browsers.js';

const opt = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const ms = Number(opt('ms', 300));
const rounds = Number(opt('rounds', 5));
const requant = process.argv.includes('--requant');
// --f32: the f32 GEMM instead (the relaxed build's inner products are relaxed_madd there)
const f32 = process.argv.includes('--f32');
const warmupMs = Number(opt('warmup-ms', 1500));
const shapes = opt('shapes', '256x256x256,512x512x512,1024x1024x1024,1x1024x1024')
  .split(',').map((s) => s.split('x').map(Number));

const same = Buffer.compare(readFileSync(join(ROOT, 'build/qwasm.relaxed.wasm')), readFileSync(join(ROOT, 'build/qwasm.simd.wasm'))) === 0;
const gemmHasRelaxed = /ASC_FEATURE_RELAXED_SIMD/.test(readFileSync(join(ROOT, 'assembly/gemm_s8.ts'), 'utf8'));

const jsFlags = opt('js-flags', '');
const browser = await openQwasmPage({ extraArgs: jsFlags ? [`--js-flags=${jsFlags}`] : [] });
try {
  const res = await browser.page.evaluate(async ({ shapes, ms, rounds, requant, warmupMs, f32 }) => {
    const builds = ['relaxed', 'simd'];
    const qs = {};
    for (const b of builds) qs[b] = await window.qwasm.init({ build: b });
    let s = 12345;
    const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
    // Warm-up: V8 starts WASM in its baseline compiler (Liftoff) and tiers hot functions up to TurboFan in
    // the background; run each build's kernel for a while first so the timed rounds see optimised code.
    for (const b of builds) {
      const q = qs[b], wk = 128, wb = new Int8Array(wk * wk).fill(1);
      const packed = f32 ? q.packGemmF32(new Float32Array(wk * wk).fill(1), wk, wk) : q.packGemmS8(wb, wk, wk, { scale: 0.01 });
      const ap = q.rt.put(f32 ? new Float32Array(wk * wk).fill(1) : new Int8Array(wk * wk).fill(1)), cp = q.rt.alloc(wk * wk * 4);
      const t = performance.now();
      while (performance.now() - t < warmupMs) {
        if (f32) { packed.runPtr(ap, wk, cp); packed.runPtr(ap, 1, cp); continue; }
        packed.runInt32(ap, wk, cp); packed.runInt8(ap, wk, cp); packed.runInt32(ap, 1, cp);
      }
      packed.dispose(); q.rt.free(ap); q.rt.free(cp);
    }
    const out = [];
    for (const [m, k, n] of shapes) {
      const a = Int8Array.from({ length: m * k }, () => (rnd() & 255) - 128);
      const bw = Int8Array.from({ length: k * n }, () => (rnd() % 255) - 127);
      const scale = Float32Array.from({ length: n }, () => 0.001);
      const st = {};
      for (const b of builds) {
        const q = qs[b];
        const packed = f32 ? q.packGemmF32(Float32Array.from(bw, (v) => v / 127), k, n) : q.packGemmS8(bw, k, n, requant ? { scale, bias: new Int32Array(n) } : {});
        const ap = q.rt.put(f32 ? Float32Array.from(a, (v) => v / 128) : a), cp = q.rt.alloc(m * n * (requant && !f32 ? 1 : 4));
        const run = f32 ? () => packed.runPtr(ap, m, cp) : requant ? () => packed.runInt8(ap, m, cp) : () => packed.runInt32(ap, m, cp);
        run(); run(); // warm-up (tier-up)
        let t = performance.now(), calls = 0;
        while (performance.now() - t < 50) { run(); calls++; }
        const perBatch = Math.max(1, Math.round(calls * ms / 50));
        st[b] = { q, packed, ap, cp, run, perBatch, times: [] };
      }
      for (let r = 0; r < rounds; r++) {
        for (const b of (r % 2 ? builds.slice().reverse() : builds)) {
          const x = st[b];
          const t0 = performance.now();
          for (let i = 0; i < x.perBatch; i++) x.run();
          x.times.push((performance.now() - t0) / x.perBatch);
        }
      }
      const row = { shape: [m, k, n] };
      const bytes = {};
      for (const b of builds) {
        const x = st[b];
        const sorted = x.times.slice().sort((p, q) => p - q);
        row[b] = { medianMs: sorted[sorted.length >> 1], bestMs: sorted[0], calls: x.perBatch * rounds };
        bytes[b] = x.q.rt.u8(x.cp, m * n * (requant && !f32 ? 1 : 4)).slice();
        x.packed.dispose(); x.q.rt.free(x.ap); x.q.rt.free(x.cp);
      }
      row.outputsEqual = bytes.relaxed.every((v, i) => v === bytes.simd[i]);
      out.push(row);
    }
    return { out, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency };
  }, { shapes, ms, rounds, requant, warmupMs, f32 });

  console.log(`Chromium ${browser.version} (headless), ${res.cores} cores; ${f32 ? 'f32 GEMM (relaxed: relaxed_madd; outputs may differ in the last bits)' : `int8 GEMM ${requant ? 'requantised int8' : 'int32'} output`},`);
  console.log(`packed B, median of ${rounds} interleaved rounds of ~${ms} ms each, GOPS = 2·M·K·N / time`);
  if (same) console.log('note: build/qwasm.relaxed.wasm is byte-identical to build/qwasm.simd.wasm (no relaxed-only kernel code yet)');
  else if (!gemmHasRelaxed && !f32) console.log('note: assembly/gemm_s8.ts has no ASC_FEATURE_RELAXED_SIMD path: both builds run the same int8 GEMM code');
  const pad = (x, w) => String(x).padStart(w);
  console.log(`${'M×K×N'.padEnd(16)}${pad('simd GOPS', 11)}${pad('relaxed GOPS', 14)}${pad('relaxed/simd', 14)}${pad('same output', 13)}`);
  for (const r of res.out) {
    const [m, k, n] = r.shape;
    const ops = 2 * m * k * n;
    const g = (b) => ops / (r[b].medianMs * 1e-3) / 1e9;
    console.log(`${`${m}×${k}×${n}`.padEnd(16)}${pad(g('simd').toFixed(2), 11)}${pad(g('relaxed').toFixed(2), 14)}` +
      `${pad((g('relaxed') / g('simd')).toFixed(3), 14)}${pad(r.outputsEqual ? 'yes' : 'NO', 13)}`);
  }
  if (browser.errors.length) console.log(`page errors: ${browser.errors.join('; ')}`);
} finally {
  await browser.close();
}
