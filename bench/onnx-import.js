// ONNX import of torchvision architectures (docs/ONNX.md): for ResNet-18 / 50, MobileNetV2, MobileNetV3-small,
// SqueezeNet 1.1 and EfficientNet-B0 exported by Debian's PyTorch at 224 px (scripts/export-torchvision.py,
// random weights, seed 0, batch 2), the import time and the relative difference of the logits
// (max |qwasm − torch| / max |torch|) next to PyTorch's own float32 error (f32 vs f64); then one training step
// (SGD momentum 0.9, cross-entropy, train mode with BatchNorm) at 96 px batch 16 on one thread, qwasm vs
// Debian PyTorch with torch.set_num_threads(1), interleaved rounds, median.
//   node bench/onnx-import.js [--size 224] [--rounds 3] [--steps 3] [--build simd] [--only resnet18,…] [--no-train]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { init, Engine, importOnnx, ops, Optimizer } from '../dist/index.js';

const { values: o } = parseArgs({ options: {
  size: { type: 'string', default: '224' }, rounds: { type: 'string', default: '3' }, steps: { type: 'string', default: '3' },
  build: { type: 'string', default: 'auto' }, only: { type: 'string' }, 'no-train': { type: 'boolean', default: false },
} });
const PY = process.env.QWASM_PYTHON ?? '/usr/bin/python3';
const here = new URL('.', import.meta.url).pathname;
const ARCHS = ['resnet18', 'resnet50', 'mobilenet_v2', 'mobilenet_v3_small', 'squeezenet1_1', 'efficientnet_b0'].filter((a) => !o.only || o.only.split(',').includes(a));
const TRAIN = ['resnet18', 'mobilenet_v2'].filter((a) => ARCHS.includes(a));
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const q = await init({ build: o.build });
const f32 = (b) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function exportModels(dir, specs, extra = []) {
  const r = spawnSync(PY, [join(here, '../scripts/export-torchvision.py'), '--out', dir, '--arch', ...specs, ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`export-torchvision.py failed (${PY}; apt-get install python3-torch python3-torchvision): ${r.stderr.trim().split('\n').pop()}`);
}
function nhwc(x, [n, c, h, w]) {
  const y = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) for (let ci = 0; ci < c; ci++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) y[((b * h + i) * w + j) * c + ci] = x[((b * c + ci) * h + i) * w + j];
  return y;
}

const dir = mkdtempSync(join(os.tmpdir(), 'qwasm-onnx-bench-'));
const results = { date: new Date().toISOString(), cpu, node: process.version, build: q.build, size: +o.size, accuracy: [], training: [] };
try {
  exportModels(dir, ARCHS.map((a) => `${a}@${o.size}`), ['--batch', '2']);
  for (const a of ARCHS) {
    const meta = JSON.parse(readFileSync(join(dir, `${a}.json`), 'utf8'));
    const bytes = readFileSync(join(dir, `${a}.onnx`));
    const e = new Engine(q.rt);
    const t0 = performance.now();
    const { model } = importOnnx(e, bytes);
    const importMs = performance.now() - t0;
    const [n, c, h, w] = meta.inputShape;
    const xt = e.persistent([n, h, w, c], nhwc(f32(readFileSync(join(dir, `${a}.input.f32`))), meta.inputShape));
    const ref = f32(readFileSync(join(dir, `${a}.output.f32`)));
    model.eval();
    const t1 = performance.now();
    const y = e.noGrad(() => { const v = model.forward(xt).toArray(); e.endStep(); return v; });
    const fwdMs = performance.now() - t1;
    let d = 0, m = 0;
    for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(y[i] - ref[i])); m = Math.max(m, Math.abs(ref[i])); }
    const row = { arch: a, container: model.constructor.name, parameters: model.numParameters(), onnxMB: +(bytes.length / 2 ** 20).toFixed(1), importMs: Math.round(importMs), forwardMs: Math.round(fwdMs), batch: n, relDiff: d / m, maxAbsDiff: d, torchF32RelError: meta.torchF32RelError };
    results.accuracy.push(row);
    console.log(`${a} ${h} px: ${row.container}, ${row.parameters} params, import ${row.importMs} ms, forward (batch ${n}) ${row.forwardMs} ms, rel. diff ${row.relDiff.toExponential(2)} (PyTorch f32 vs f64 ${row.torchF32RelError.toExponential(2)})`);
    xt.dispose(); model.dispose();
  }

  if (!o['no-train'] && TRAIN.length) {
    const size = 96, batch = 16, steps = +o.steps;
    exportModels(dir, TRAIN.map((a) => `${a}@${size}+bn`), ['--batch', '2']);
    for (const a of TRAIN) {
      const e = new Engine(q.rt);
      const { model } = importOnnx(e, readFileSync(join(dir, `${a}-bn.onnx`)));
      model.train();
      const opt = new Optimizer(e, model.namedParameters(), { kind: 'sgd', momentum: 0.9 });
      const x = e.persistent([batch, size, size, 3], Float32Array.from({ length: batch * size * size * 3 }, (_, i) => Math.sin(i * 0.37)));
      const labels = q.rt.alloc(batch * 4);
      q.rt.i32(labels, batch).set(Array.from({ length: batch }, (_, i) => (i * 37) % 1000));
      const step = () => { model.zeroGrad(); ops.crossEntropy(model.forward(x), labels).backward(); opt.step(0.01); e.endStep(); };
      const ours = [], torch = [];
      step(); // warm-up (JIT tier-up)
      for (let r = 0; r < +o.rounds; r++) {
        const t = performance.now();
        for (let s = 0; s < steps; s++) step();
        ours.push(steps * batch / ((performance.now() - t) / 1000));
        const p = spawnSync(PY, [join(here, 'pytorch_train_step.py'), a, String(size), String(batch), String(steps)], { encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`pytorch_train_step.py failed: ${p.stderr.trim().split('\n').pop()}`);
        torch.push(JSON.parse(p.stdout.trim().split('\n').pop()).imagesPerSecond);
        console.log(`${a} ${size} px batch ${batch}, round ${r + 1}: qwasm ${ours[r].toFixed(2)} img/s, PyTorch (1 thread) ${torch[r].toFixed(2)} img/s`);
      }
      const row = { arch: a, size, batch, steps, rounds: +o.rounds, qwasmImagesPerSecond: med(ours), pytorchImagesPerSecond: med(torch), ratio: med(ours.map((v, i) => v / torch[i])) };
      results.training.push(row);
      console.log(`${a}: median qwasm ${row.qwasmImagesPerSecond.toFixed(2)} img/s, PyTorch ${row.pytorchImagesPerSecond.toFixed(2)} img/s, ratio ${row.ratio.toFixed(2)}`);
      opt.dispose(); q.rt.free(labels); x.dispose(); model.dispose();
    }
  }
} finally { rmSync(dir, { recursive: true, force: true }); }
console.log(JSON.stringify(results));
