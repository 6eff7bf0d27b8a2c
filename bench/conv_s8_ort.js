// qwasm conv2dS8 vs onnxruntime-web QLinearConv (per-channel int8 weights, int8 or uint8 activations, 1 thread),
// interleaved in one process (best of 15 rounds each). The ONNX model is hand-encoded (minimal protobuf writer below). Usage: node bench/conv_s8_ort.js [build]
import * as ort from 'onnxruntime-web';
import { init } from '../dist/index.js';

const enc = new TextEncoder();
const varint = (v) => { const out = []; let x = BigInt(v); if (x < 0n) x += 1n << 64n; do { let b = Number(x & 0x7fn); x >>= 7n; if (x) b |= 0x80; out.push(b); } while (x); return out; };
const key = (f, t) => varint((f << 3) | t);
const vint = (f, v) => [...key(f, 0), ...varint(v)];
const bytes = (f, b) => [...key(f, 2), ...varint(b.length), ...b];
const str = (f, s) => bytes(f, [...enc.encode(s)]);
const msg = (f, parts) => bytes(f, parts.flat());

const tensor = (name, type, dims, raw) => msg(5, [...dims.map((d) => vint(1, d)), vint(2, type), str(8, name), bytes(9, [...new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)])]);
const valueInfo = (f, name, type, dims) => msg(f, [str(1, name), msg(2, [msg(1, [vint(1, type), msg(2, dims.map((d) => msg(1, [vint(1, d)])))])])]);
const attrInts = (name, ints) => msg(5, [str(1, name), vint(20, 7), ...ints.map((i) => vint(8, i))]);

function qlinearConvModel(n, c, h, w, oc, k, pad, act) {
  const INT8 = 3, UINT8 = 2, FLOAT = 1, INT32 = 6;
  const A = act === 'uint8' ? UINT8 : INT8;
  const wts = Int8Array.from({ length: oc * c * k * k }, (_, i) => ((i * 37) % 255) - 127);
  const inits = [
    tensor('xs', FLOAT, [], Float32Array.of(0.02)), tensor('xz', A, [], act === 'uint8' ? Uint8Array.of(131) : Int8Array.of(3)),
    tensor('w', INT8, [oc, c, k, k], wts), tensor('ws', FLOAT, [oc], new Float32Array(oc).fill(0.01)),
    tensor('wz', INT8, [oc], new Int8Array(oc)), tensor('ys', FLOAT, [], Float32Array.of(0.2)),
    tensor('yz', A, [], act === 'uint8' ? Uint8Array.of(126) : Int8Array.of(-2)), tensor('b', INT32, [oc], Int32Array.from({ length: oc }, (_, i) => i * 10)),
  ];
  const node = msg(1, [...['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'].map((s) => str(1, s)), str(2, 'y'), str(4, 'QLinearConv'),
    attrInts('kernel_shape', [k, k]), attrInts('pads', [pad, pad, pad, pad]), attrInts('strides', [1, 1])]);
  const oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
  const graph = msg(7, [node, str(2, 'g'), ...inits, valueInfo(11, 'x', A, [n, c, h, w]), valueInfo(12, 'y', A, [n, oc, oh, ow])]);
  return new Uint8Array([...vint(1, 8), ...msg(8, [str(1, ''), vint(2, 13)]), ...graph]);
}

ort.env.wasm.numThreads = 1;
const q = await init({ build: process.argv[2] ?? 'simd' });
const cases = [
  { name: '32×32×64→64 3×3 pad 1', n: 1, h: 32, w: 32, c: 64, oc: 64, k: 3 },
  { name: '56×56×64→64 3×3 pad 1', n: 1, h: 56, w: 56, c: 64, oc: 64, k: 3 },
  { name: '56×56×64→64 1×1', n: 1, h: 56, w: 56, c: 64, oc: 64, k: 1 },
];
const best = async (fn, iters) => {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return (performance.now() - t0) / iters;
};
for (const cs of cases) {
  const { n, h, w, c, oc, k } = cs, pad = (k - 1) / 2;
  const ops = 2 * n * h * w * oc * k * k * c;
  const data = Int8Array.from({ length: n * c * h * w }, (_, i) => ((i * 13) % 256) - 128);
  const runs = {};
  for (const act of ['int8', 'uint8']) {
    const sess = await ort.InferenceSession.create(qlinearConvModel(n, c, h, w, oc, k, pad, act), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const x = new ort.Tensor(act, act === 'uint8' ? new Uint8Array(data.buffer) : data, [n, c, h, w]);
    runs[`ort-web QLinearConv ${act} (NCHW)`] = () => sess.run({ x });
  }
  const wts = Int8Array.from({ length: oc * k * k * c }, (_, i) => ((i * 37) % 255) - 127);
  const p = q.packConv2dS8(wts, [oc, k, k, c], { padding: pad, inZeroPoint: 3, scale: 0.001, outZeroPoint: -2 });
  const ip = q.rt.put(data), op = q.rt.alloc(n * h * w * oc);
  runs[`qwasm ${q.build} conv2dS8 (packed, NHWC)`] = () => p.run(ip, n, h, w, op);
  const iters = Math.max(3, Math.round(3e8 / ops));
  const t = {};
  for (const [name, fn] of Object.entries(runs)) { for (let i = 0; i < 5; i++) await fn(); t[name] = Infinity; }
  for (let rep = 0; rep < 15; rep++) for (const [name, fn] of Object.entries(runs)) t[name] = Math.min(t[name], await best(fn, iters));
  console.log(cs.name);
  for (const [name, ms] of Object.entries(t)) console.log(`  ${name}: ${ms.toFixed(3)} ms, ${(ops / ms / 1e6).toFixed(2)} GOPS`);
  const ortBest = Math.min(...Object.entries(t).filter(([nm]) => nm.startsWith('ort')).map(([, v]) => v));
  console.log(`  speed-up over the faster ort-web variant: ${(ortBest / t[`qwasm ${q.build} conv2dS8 (packed, NHWC)`]).toFixed(2)}×`);
  p.dispose(); q.rt.free(ip); q.rt.free(op);
}
