// How does V8 lower the relaxed int8 dots on this CPU? Register-only WAT loops timed in headless Chromium (the
// engine with a correct relaxed dot; Node 20's V8 returns 2× i32x4.relaxed_dot_i8x16_i7x16_add_s):
//   throughput: 8 independent accumulators (a 4×2 tile: distinct operand pairs, x changed every iteration):
//     rdot32  acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, acc)   16 MACs per op
//     dot16   acc = i32x4.add(acc, i32x4.dot_i16x8_s(x, y))           8 MACs per op (the SIMD128 kernel's pair)
//     rdot16  acc = i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(x, y))  16 MACs per op
//   latency: one dependent chain, UNROLL ops per iteration:
//     iadd    c = i32.add(c, n)                     scalar, 1 cycle on every x86 core: the clock calibration
//     add     acc = i32x4.add(acc, y)               (2 cycles on Zen 5, 1 on earlier cores)
//     rdot32  acc = relaxed_dot_add(x, y, acc)      through the accumulator: vpdpbusd's latency, or only the
//                                                   final paddd (1 cycle) if V8 emulates with pmaddubsw+pmaddwd+paddd
//     dot16x  acc = i32x4.dot_i16x8_s(acc, y)       pmaddwd latency (through the operand)
//     rdot16x acc = i16x8.relaxed_dot_i8x16_i7x16_s(acc, y)   pmaddubsw latency (through the operand)
// Figures: best of many short runs per loop, loops interleaved in rounds; ns per op, MACs per ns, and cycles
// per op = ns per op ÷ ns per dependent scalar i32.add.   node bench/relaxed-dot/micro.js [--rounds 7] [--disasm]
// --disasm: run V8 with --perf-prof (it writes jit-<pid>.dump with every compiled function's machine code) and
// print, per loop, the SIMD instructions of its optimised (Turbofan) code, via objdump: the lowering itself.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, disasm: { type: 'boolean', default: false } } });
const ROWS = 4, CHAINS = 2 * ROWS; // 8 accumulators + 4 x + 2 y + 1 temp: V8 allocates xmm0–xmm14
const UNROLL = 16;
// wabt 1.0.32 spells the relaxed dots without the "relaxed_" prefix (same opcodes 0xfd 0x112 / 0x113)
const RDOT32 = 'i32x4.dot_i8x16_i7x16_add_s', RDOT16 = 'i16x8.dot_i8x16_i7x16_s';
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('\n    ');
const sumLanes = (n) => Array.from({ length: n }, (_, i) => `(i32x4.extract_lane 0 (local.get $c${i}))`).reduce((a, b) => `(i32.add ${a} ${b})`);

/** A throughput loop shaped like a GEMM tile: ROWS × COLS accumulators, acc[i][j] = step(acc, x_i, y_j), every
 * (x_i, y_j) pair distinct and the x_i changed every iteration — with a shared pair V8 computes the dot once for
 * all chains (value numbering), and with a loop-invariant one it hoists it. */
const thr = (name, step) => `(func (export "${name}") (param $n i32) (result i32)
    ${range(CHAINS, (i) => `(local $c${i} v128)`)}
    ${range(ROWS, (i) => `(local $x${i} v128)`)} (local $y0 v128) (local $y1 v128)
    (local.set $y0 (v128.const i8x16 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59))
    (local.set $y1 (v128.const i8x16 61 67 71 73 79 83 89 97 101 103 107 109 113 117 121 127))
    ${range(ROWS, (i) => `(local.set $x${i} (v128.const i8x16 ${Array.from({ length: 16 }, (_, l) => ((l * 7 + i * 13) % 200) - 100).join(' ')}))`)}
    ${range(CHAINS, (i) => `(local.set $c${i} (v128.const i32x4 ${i} ${i + 1} ${i + 2} ${i + 3}))`)}
    (loop $l
      ${range(ROWS, (i) => `(local.set $x${i} (i8x16.add (local.get $x${i}) (local.get $y${i % 2})))`)}
      ${range(CHAINS, (i) => `(local.set $c${i} ${step(`(local.get $c${i})`, `(local.get $x${i >> 1})`, `(local.get $y${i & 1})`)})`)}
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    ${sumLanes(CHAINS)})`;
/** A latency loop: one chain, UNROLL dependent ops per iteration. */
const lat = (name, step) => `(func (export "${name}") (param $n i32) (result i32)
    (local $c0 v128) (local $y v128) (local $x v128)
    (local.set $y (v128.const i8x16 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59))
    (local.set $x (v128.const i8x16 1 -2 3 -4 5 -6 7 -8 9 -10 11 -12 13 -14 15 -16))
    (local.set $c0 (v128.const i32x4 1 2 3 4))
    (loop $l
      ${range(UNROLL, () => `(local.set $c0 ${step('(local.get $c0)')})`)}
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    ${sumLanes(1)})`;

/** Scalar calibration chain: c += n (n is a run-time value, so V8 cannot fold the adds together). */
const scalar = `(func (export "l_iadd") (param $n i32) (result i32)
    (local $c i32)
    (loop $l
      ${range(UNROLL, () => '(local.set $c (i32.add (local.get $c) (local.get $n)))')}
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $c))`;
const loops = {
  'l_iadd': [scalar, UNROLL, 0],
  // name: [wat, ops per iteration, MACs per op]
  't_rdot32': [thr('t_rdot32', (c, x, y) => `(${RDOT32} ${x} ${y} ${c})`), CHAINS, 16],
  't_dot16': [thr('t_dot16', (c, x, y) => `(i32x4.add ${c} (i32x4.dot_i16x8_s ${x} ${y}))`), CHAINS, 8],
  't_rdot16': [thr('t_rdot16', (c, x, y) => `(i16x8.add ${c} (${RDOT16} ${x} ${y}))`), CHAINS, 16],
  'l_add': [lat('l_add', (c) => `(i32x4.add ${c} (local.get $y))`), UNROLL, 0],
  'l_rdot32': [lat('l_rdot32', (c) => `(${RDOT32} (local.get $x) (local.get $y) ${c})`), UNROLL, 16],
  'l_dot16x': [lat('l_dot16x', (c) => `(i32x4.dot_i16x8_s ${c} (local.get $y))`), UNROLL, 8],
  'l_rdot16x': [lat('l_rdot16x', (c) => `(${RDOT16} ${c} (local.get $y))`), UNROLL, 16],
};
const wat = `(module\n  ${Object.values(loops).map(([w]) => w).join('\n  ')})`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'qwasm-rdot-micro-'));
writeFileSync(path.join(dir, 'm.wat'), wat);
execFileSync('wat2wasm', ['--enable-relaxed-simd', path.join(dir, 'm.wat'), '-o', path.join(dir, 'm.wasm')]);
const b64 = readFileSync(path.join(dir, 'm.wasm')).toString('base64');

if (opt.disasm) process.chdir(dir); // V8 writes jit-<pid>.dump (and v8.log files) into the browser's working directory
const browser = await chromium.launch({ executablePath: process.env.QWASM_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: [...(opt.disasm ? ['--js-flags=--perf-prof'] : []), '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const page = await browser.newPage();
const out = await page.evaluate(async ({ b64, names, rounds }) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const e = instance.exports;
  // warm-up: ~300 ms of calls per loop, so V8 has tiered it up from Liftoff to Turbofan (tier-up compiles in the
  // background and swaps the code in), then iterations for ≥ 20 ms per call (timer resolution 0.1 ms)
  const iters = {};
  for (const k of names) { const t0 = performance.now(); while (performance.now() - t0 < 300) e[k](1 << 14); }
  for (const k of names) { let n = 1 << 12, t; do { n *= 2; t = performance.now(); e[k](n); t = performance.now() - t; } while (t < 20); iters[k] = n; }
  const best = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const k of names) {
      let b = Infinity;
      for (let i = 0; i < 5; i++) { const t = performance.now(); e[k](iters[k]); b = Math.min(b, performance.now() - t); }
      best[k].push(b * 1e6 / iters[k]); // ns per iteration
    }
  }
  return { best, iters, ua: navigator.userAgent };
}, { b64, names: Object.keys(loops), rounds: Number(opt.rounds) });
await browser.close();

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const min = (a) => Math.min(...a);
const nsPerOp = (k, f) => f(out.best[k]) / loops[k][1];
const cycle = nsPerOp('l_iadd', min); // ns per cycle (dependent scalar add = 1 cycle)
console.log(`${out.ua.match(/Chrome\/[\d.]+/)[0]}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${os.cpus()[0].model}`);
console.log(`iterations per call: ${JSON.stringify(out.iters)}`);
console.log(`dependent i32.add: ${cycle.toFixed(3)} ns/op → ~${(1 / cycle).toFixed(2)} GHz if 1 cycle`);
console.log('loop        ns/op (best / median)   cycles/op   MACs/ns (best)   MACs/cycle');
for (const [k, [, , macs]] of Object.entries(loops)) {
  const b = nsPerOp(k, min), m = nsPerOp(k, median);
  console.log(`${k.padEnd(10)}  ${b.toFixed(3).padStart(7)} / ${m.toFixed(3).padEnd(7)}        ${(b / cycle).toFixed(2).padStart(6)}` +
    `      ${macs ? (macs / b).toFixed(1).padStart(7) : '      -'}          ${macs ? (macs * cycle / b).toFixed(1) : '-'}`);
}

if (opt.disasm) {
  // jitdump: 40-byte header, then records {id u32, size u32, timestamp u64, …}; id 0 = code load:
  // {pid u32, tid u32, vma u64, code_addr u64, code_size u64, code_index u64, name\0, code bytes}
  const names = Object.keys(loops);
  for (const f of readdirSync(dir).filter((f) => /^jit-\d+\.dump$/.test(f))) {
    const d = readFileSync(path.join(dir, f));
    for (let off = d.readUInt32LE(8); off + 16 <= d.length;) {
      const id = d.readUInt32LE(off), size = d.readUInt32LE(off + 4);
      if (size === 0) break;
      if (id === 0) {
        const codeSize = Number(d.readBigUInt64LE(off + 40)), nameEnd = d.indexOf(0, off + 56);
        const m = /wasm-function\[(\d+)\].*turbofan/.exec(d.toString('latin1', off + 56, nameEnd));
        if (m) {
          const bin = path.join(dir, `f${m[1]}.bin`);
          writeFileSync(bin, d.subarray(nameEnd + 1, nameEnd + 1 + codeSize));
          const asm = execFileSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', bin], { encoding: 'utf8' });
          const counts = {};
          for (const line of asm.split('\n')) {
            const ins = (line.split('\t')[2] || '').replace('{vex} ', '').split(' ')[0];
            if (/^v?p(madd|dp|add|sub)/.test(ins)) counts[ins] = (counts[ins] || 0) + 1;
          }
          console.log(`${names[m[1]].padEnd(10)} (${f}) turbofan: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
        }
      }
      off += size;
    }
  }
}
