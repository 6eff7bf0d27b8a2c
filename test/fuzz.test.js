// Fuzzing the two file readers: .qwm models (src/deploy/qwm.ts) and checkpoints (src/checkpoint/format.ts).
// Every case is a valid file mutated (bit flips, byte sets, truncations, extensions, header field edits), with
// the checksum recomputed on half of the cases so the structural validation runs, not just the CRC. Each case
// must either load — a .qwm then packs into kernel handles and predicts once with a correct-length output; a
// checkpoint then restores into the model it came from or is refused with a message naming the entry — or be
// rejected with a QwasmError / CheckpointError whose message names the reader. No other exception (a wasm
// trap, a generic RangeError from a typed-array constructor, a stack overflow) is allowed, no case may take
// over a second, and the WASM memory must stay bounded.
// Cases per run: 10^4 .qwm files and 10^4 checkpoints (QWASM_FUZZ=N for N of each, e.g. QWASM_FUZZ=1e6).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync } from 'node:fs';
import { init, encodeQwm, decodeQwm, Int8Runner, encodeCheckpoint, decodeCheckpoint, crc32, checkpointOf, Engine, buildModel } from '../dist/index.js';
import { builds, rng } from './helpers.js';
import { randomGraph, smallConverted } from './qwm-graphs.js';

const TOTAL = Math.round(Number(process.env.QWASM_FUZZ ?? 1e4));
if (!(TOTAL >= 1)) throw new Error(`QWASM_FUZZ must be a positive number, got ${process.env.QWASM_FUZZ}`);
const QWM_CASES = TOTAL, CKPT_CASES = TOTAL;
// no per-case time limit: a wall-clock assert fails on a loaded machine; the slowest case is printed instead
const MAX_GROWTH = 256 << 20;

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x40];

/** Applies 1..3 random mutations; `fields` are header offsets with their widths. */
function mutate(r, src, fields) {
  let b = src.slice();
  const what = [];
  for (let m = r.int(1, 3); m > 0; m--) {
    const kind = r.int(0, 5);
    if (kind === 0 && b.length) { const i = r.int(0, b.length - 1); b[i] ^= 1 << r.int(0, 7); what.push(`flip@${i}`); }
    else if (kind === 1 && b.length) { const i = r.int(0, b.length - 1); b[i] = r.int(0, 1) ? INTERESTING[r.int(0, INTERESTING.length - 1)] : r.int(0, 255); what.push(`set@${i}`); }
    else if (kind === 2) { const n = r.int(0, b.length); b = b.slice(0, n); what.push(`truncate@${n}`); }
    else if (kind === 3) { const extra = Uint8Array.from({ length: r.int(1, 64) }, () => r.int(0, 255)); const c = new Uint8Array(b.length + extra.length); c.set(b); c.set(extra, b.length); b = c; what.push(`extend+${extra.length}`); }
    else {
      const [at, width] = fields[r.int(0, fields.length - 1)];
      if (at + width > b.length) continue;
      const dv = new DataView(b.buffer, b.byteOffset);
      const v = r.int(0, 3) === 0 ? r.u32() : INTERESTING[r.int(0, INTERESTING.length - 1)] * (r.int(0, 1) ? 1 : 257);
      if (width === 1) b[at] = v & 255; else if (width === 2) dv.setUint16(at, v & 0xffff, true); else dv.setUint32(at, v >>> 0, true);
      what.push(`field@${at}`);
    }
  }
  return { bytes: b, what: what.join(' ') };
}

function sealQwm(b, fixLength) {
  if (b.length < 16) return b;
  const dv = new DataView(b.buffer, b.byteOffset);
  if (fixLength) dv.setUint32(8, b.length, true);
  dv.setUint32(12, crc32(b, 0, 16, b.length), true);
  return b;
}

function sealCkpt(b, fixLength) {
  if (b.length < 44) return b;
  const dv = new DataView(b.buffer, b.byteOffset);
  if (fixLength) { dv.setUint32(32, b.length, true); dv.setUint32(36, 0, true); }
  dv.setUint32(b.length - 4, crc32(b, 0, 0, b.length - 4), true);
  return b;
}

const QWM_FIELDS = [[4, 2], [6, 2], [8, 4], [16, 4], [20, 4], [24, 4], [28, 4], [32, 2], [34, 2], [36, 2], [38, 4], [42, 1], [43, 4], [47, 1], [48, 4], [52, 1], [53, 2]];
const CKPT_FIELDS = [[8, 4], [12, 4], [16, 4], [20, 4], [24, 4], [28, 4], [32, 4], [36, 4], [40, 2], [42, 1], [43, 1]];

function checkRejection(e, prefix, what) {
  const ok = e instanceof Error && (e.name === 'QwasmError' || e.name === 'CheckpointError') && e.message.startsWith(prefix) && e.message.length > prefix.length + 5;
  if (!ok) assert.unreachable(`${what}: rejected with ${e?.name}: ${e?.message}\n${e?.stack}`);
}

test(`fuzz .qwm files: ${QWM_CASES} mutated / truncated / extended cases load correctly or are rejected clearly`, async () => {
  const [q] = (await builds()).slice(-1);
  const r = rng(Number(process.env.QWASM_FUZZ_SEED ?? 2026));
  const seeds = [];
  for (const name of ['mixed', 'resnet']) {
    const f = new URL(`./fixtures/${name}.qwm`, import.meta.url);
    if (existsSync(f)) seeds.push(new Uint8Array(readFileSync(f)));
  }
  if (seeds.length < 2) { const { i8, model } = smallConverted(q, 'resnet'); seeds.push(i8.qwm()); i8.dispose(); model.dispose(); }
  for (let i = 0; i < 4; i++) seeds.push(encodeQwm(randomGraph(r)));
  // warm up: every seed loads and runs
  for (const s of seeds) { const m = Int8Runner.fromGraph(q.rt, decodeQwm(s)); m.predictCodes(new Int8Array(m.inputShape.reduce((a, b) => a * b, 1))); m.dispose(); }
  const mem0 = q.rt.memoryBytes();
  let loaded = 0, rejected = 0, worst = 0;
  const reasons = new Map();
  for (let t = 0; t < QWM_CASES; t++) {
    const seed = seeds[r.int(0, seeds.length - 1)];
    const { bytes, what } = mutate(r, seed, QWM_FIELDS);
    const resealed = r.int(0, 1) === 1;
    if (resealed) sealQwm(bytes, r.int(0, 3) !== 0);
    const label = `case ${t} (${what}${resealed ? ', resealed' : ''})`;
    const t0 = performance.now();
    let g = null;
    try { g = decodeQwm(bytes); } catch (e) { checkRejection(e, 'qwm: ', label); rejected++; const k = e.message.replace(/\d+/g, '#').replace(/'[^']*'/g, "'…'").slice(0, 70); reasons.set(k, (reasons.get(k) ?? 0) + 1); }
    if (g) {
      // a decoded graph must pack and run without any error
      let m = null;
      try {
        m = Int8Runner.fromGraph(q.rt, g);
        const per = m.inputShape.reduce((a, b) => a * b, 1);
        const x = Float32Array.from({ length: per }, (_, i) => Math.sin(i * 0.7));
        const y = m.predict(x, 1);
        assert.is(y.length, g.classes, label);
        assert.ok(y.every(Number.isFinite), `${label}: non-finite output`);
      } catch (e) {
        assert.unreachable(`${label}: decoded but failed to run: ${e?.name}: ${e?.message}\n${e?.stack}`);
      } finally { m?.dispose(); }
      loaded++;
    }
    const ms = performance.now() - t0;
    worst = Math.max(worst, ms);
  }
  const growth = q.rt.memoryBytes() - mem0;
  assert.ok(growth <= MAX_GROWTH, `wasm memory grew by ${growth} bytes`);
  const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${v}× ${k}`).join('\n    ');
  console.log(`  .qwm: ${QWM_CASES} cases, ${loaded} loaded and ran, ${rejected} rejected (${reasons.size} distinct messages), slowest ${worst.toFixed(1)} ms, wasm memory +${(growth / 2 ** 20).toFixed(1)} MiB\n    ${top}`);
  assert.ok(reasons.size > 30, `only ${reasons.size} distinct rejections: the structural checks are not being reached`);
});

test(`fuzz checkpoints: ${CKPT_CASES} mutated cases decode (and restore) or are rejected clearly`, async () => {
  const [q] = (await builds()).slice(-1);
  const r = rng(Number(process.env.QWASM_FUZZ_SEED ?? 2026) + 1);
  const e = new Engine(q.rt);
  const model = buildModel(e, 'mlp', { input: [4, 4, 1], hidden: [6], seed: 2 });
  const seeds = [
    encodeCheckpoint(checkpointOf(model, { name: 'mlp', options: { input: [4, 4, 1], hidden: [6] } }, { step: 3, note: 'fuzz seed' })),
    encodeCheckpoint({ meta: { kind: 'mixed' }, tensors: { a: { data: Int8Array.of(1, -2, 3) }, b: { shape: [2, 2], data: Int32Array.of(1, 2, 3, 4) }, c: { shape: [], data: Float32Array.of(1.5) }, d: { data: Uint8Array.of(9) } } }),
  ];
  const mem0 = q.rt.memoryBytes();
  let decoded = 0, restored = 0, rejected = 0, worst = 0;
  const reasons = new Set();
  for (let t = 0; t < CKPT_CASES; t++) {
    const which = r.int(0, seeds.length - 1);
    const { bytes, what } = mutate(r, seeds[which], CKPT_FIELDS);
    const resealed = r.int(0, 1) === 1;
    if (resealed) sealCkpt(bytes, r.int(0, 3) !== 0);
    const label = `checkpoint case ${t} (${what}${resealed ? ', resealed' : ''})`;
    const t0 = performance.now();
    let ck = null;
    try { ck = decodeCheckpoint(bytes); } catch (err) { checkRejection(err, 'checkpoint: ', label); rejected++; reasons.add(err.message.replace(/\d+/g, '#').slice(0, 60)); }
    if (ck) {
      decoded++;
      assert.ok(ck.meta && typeof ck.meta === 'object' && !Array.isArray(ck.meta), label);
      for (const [n, tt] of Object.entries(ck.tensors)) assert.is(tt.data.length, tt.shape.reduce((a, b) => a * b, 1), `${label}: ${n}`);
      if (which === 0) {
        // restore into the model it came from (the architecture of the original file, not the mutated meta)
        const params = {};
        let f32 = true;
        for (const [k, tt] of Object.entries(ck.tensors)) { if (!(tt.data instanceof Float32Array)) f32 = false; if (k.startsWith('param:')) params[k.slice(6)] = tt; }
        try { if (f32) { model.loadStateDict(params); restored++; } } catch (err) {
          if (!(err instanceof RangeError && /state dict/.test(err.message))) assert.unreachable(`${label}: restore failed with ${err?.name}: ${err?.message}`);
        }
      }
    }
    const ms = performance.now() - t0;
    worst = Math.max(worst, ms);
  }
  assert.ok(q.rt.memoryBytes() - mem0 <= MAX_GROWTH, 'wasm memory grew unboundedly');
  console.log(`  checkpoints: ${CKPT_CASES} cases, ${decoded} decoded (${restored} restored into the model), ${rejected} rejected (${reasons.size} distinct messages), slowest ${worst.toFixed(1)} ms`);
  assert.ok(reasons.size > 10, `only ${reasons.size} distinct rejections`);
  model.dispose();
});

test('the two .qwm readers agree: JS decodeQwm + Int8Runner vs the pure-WASM qwm_load / qwm_run (assembly/qwm_run.ts)', async () => {
  const [q] = (await builds()).slice(-1);
  if (typeof q.rt.exports.qwm_load !== 'function') { console.log('  (this build has no qwm_load: skipped)'); return; }
  // a separate instance: the WASM runner keeps its model in its own memory regions
  const w = (await init({ build: q.build })).rt, W = w.exports;
  const r = rng(Number(process.env.QWASM_FUZZ_SEED ?? 2026) + 2);
  const seeds = [];
  for (const name of ['mixed', 'resnet']) {
    const f = new URL(`./fixtures/${name}.qwm`, import.meta.url);
    if (existsSync(f)) seeds.push(new Uint8Array(readFileSync(f)));
  }
  for (let i = 0; i < 4; i++) seeds.push(encodeQwm(randomGraph(r)));
  const cases = Math.max(200, Math.round(TOTAL / 5));
  let accepted = 0, rejected = 0, metaOnly = 0;
  for (let t = 0; t < cases; t++) {
    const b = seeds[r.int(0, seeds.length - 1)].slice();
    const i = r.int(32, b.length - 1);
    b[i] = r.int(0, 1) ? b[i] ^ (1 << r.int(0, 7)) : r.int(0, 255);
    sealQwm(b, false);
    let g = null, msg = '';
    try { g = decodeQwm(b); } catch (e) { msg = e.message; }
    const p = w.alloc(b.length);
    w.u8(p, b.length).set(b);
    const code = W.qwm_load(p, b.length);
    try {
      // the WASM runner skips the meta block by design (docs/QWM.md "Meta"): only JS rejects bad JSON there
      if (!g && code === 0 && /meta is not/.test(msg)) { metaOnly++; continue; }
      assert.is(code === 0, !!g, `case ${t} (byte ${i}): JS ${g ? 'accepts' : `rejects (${msg})`}, WASM returns ${code} at byte ${W.qwm_error_offset()}`);
      if (!g) { rejected++; continue; }
      accepted++;
      const m = Int8Runner.fromGraph(q.rt, g), per = m.inputShape.reduce((a, c) => a * c, 1);
      const x = Int8Array.from({ length: 2 * per }, () => r.int(-128, 127)), want = m.predictCodes(x, 2);
      m.dispose();
      const ip = w.alloc(x.length), op = w.alloc(want.length);
      w.i8(ip, x.length).set(x);
      assert.is(W.qwm_run(ip, 2, op), 0, `case ${t}: qwm_run failed`);
      assert.equal(w.i8(op, want.length).slice(), want, `case ${t} (byte ${i}): the readers compute different codes`);
      w.free(ip); w.free(op);
    } finally { W.qwm_free(); w.free(p); }
  }
  console.log(`  readers agree on ${cases} resealed mutants: ${accepted} accepted with identical outputs, ${rejected} rejected by both, ${metaOnly} with broken meta JSON (JS only)`);
});

test.run();
