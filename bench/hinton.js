// Hinton, Vinyals & Dean 2015 ("Distilling the Knowledge in a Neural Network", §3 MNIST) on a budget:
//   teacher  MLP 784-1200-1200-10, dropout after each hidden layer, ±2 px jitter       (paper: 67 test errors)
//   student  MLP 784-800-800-10, no regularisation, hard labels only                  (paper: 146 errors)
//   student  same net, same init / data order / steps / lr, + soft targets at T = 20  (paper: 74 errors)
// The paper trains for far longer (and adds input dropout and max-norm constraints); here every net gets
// `--epochs` epochs of Adam with a cosine schedule (the teacher 1.5× as many by default: it is only the source of soft
// targets; the two students get exactly the same budget). The distilled student minimises
// (1 − α)·CE + α·T²·KL(teacher_T ‖ student_T), the teacher running in eval mode on the same batch.
//   node bench/hinton.js [--epochs 5] [--teacher-epochs 1.5×epochs] [--alpha 0.9] [--T 20] [--lr 1e-3] [--batch 100]
//                        [--dropout 0.3] [--seed 1] [--limit N] [--build simd] [--json out.json]
//                        [--teacher FILE]   (load the teacher from FILE if it exists, else train it and save it there)
import { existsSync, writeFileSync } from 'node:fs';
import { init, Engine, buildModel, fit, evaluate, loadDataset, Distiller, evaluateDistillation, saveModel, loadModel } from '../dist/index.js';

const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const epochs = +arg('epochs', 5), teacherEpochs = +arg('teacher-epochs', Math.round(epochs * 1.5));
const alpha = +arg('alpha', 0.9), T = +arg('T', 20), lr = +arg('lr', 1e-3), batchSize = +arg('batch', 100);
const dropout = +arg('dropout', 0.3), seed = +arg('seed', 1), limit = arg('limit', null), build = arg('build', 'auto');
const jsonOut = arg('json', null), teacherFile = arg('teacher', null);
for (const [k, v] of Object.entries({ epochs, teacherEpochs, alpha, T, lr, batchSize, dropout, seed })) {
  if (!Number.isFinite(v)) { console.error(`--${k}: not a number`); process.exit(2); }
}

const t0 = performance.now();
const q = await init({ build });
const { train, test } = loadDataset('mnist');
const indices = limit ? Int32Array.from({ length: Math.min(+limit, train.length) }, (_, i) => i) : undefined;
const e = new Engine(q.rt);
const secs = (t) => ((performance.now() - t) / 1000).toFixed(1);
const common = { batchSize, lr, schedule: 'cosine', optimizer: { kind: 'adam' }, indices };
const errorsOf = (m) => { const r = evaluate(m, test); return Math.round((1 - r.accuracy) * r.count); };
const log = (name) => (ep) => console.log(`  ${name} epoch ${ep.epoch}: train loss ${ep.trainLoss.toFixed(4)}, train acc ${(ep.trainAccuracy * 100).toFixed(2)} % (${ep.seconds.toFixed(1)} s)`);

console.log(`qwasm ${q.rt.build ?? build} build; MNIST ${indices ? indices.length : train.length} train / ${test.length} test; `
  + `epochs ${epochs} (teacher ${teacherEpochs}), batch ${batchSize}, Adam lr ${lr} cosine, T = ${T}, α = ${alpha}, teacher dropout ${dropout} + ±2 px jitter, seed ${seed}`);

let t = performance.now();
let teacher;
if (teacherFile && existsSync(teacherFile)) {
  teacher = loadModel(e, teacherFile).model;
  console.log(`teacher loaded from ${teacherFile} (its training options are recorded there, not the flags above)`);
} else {
  const topts = { hidden: [1200, 1200], dropout, seed: seed + 100 };
  teacher = buildModel(e, 'mlp', topts);
  fit(teacher, train, { ...common, epochs: teacherEpochs, shift: 2, seed: seed + 100, onEpoch: log('teacher') }).optimizer.dispose();
  if (teacherFile) saveModel(teacherFile, teacher, { name: 'mlp', options: topts }, { teacherEpochs, lr, batchSize, shift: 2 });
}
const teacherErr = errorsOf(teacher);
console.log(`teacher 2×1200: ${teacherErr} errors (${secs(t)} s, ${teacher.numParameters()} params)`);

t = performance.now();
const alone = buildModel(e, 'mlp', { hidden: [800, 800], seed });
fit(alone, train, { ...common, epochs, seed, onEpoch: log('student') }).optimizer.dispose();
const aloneErr = errorsOf(alone);
console.log(`student 2×800 alone: ${aloneErr} errors (${secs(t)} s, ${alone.numParameters()} params)`);

t = performance.now();
const distilled = buildModel(e, 'mlp', { hidden: [800, 800], seed });
const kd = new Distiller(distilled, teacher, { temperature: T, alpha });
fit(distilled, train, { ...common, epochs, seed, ...kd.fitOptions(), onEpoch: log('distilled') }).optimizer.dispose();
const distErr = errorsOf(distilled);
console.log(`student 2×800 distilled: ${distErr} errors (${secs(t)} s)`);

const gapAlone = evaluateDistillation(alone, teacher, test, { temperature: T });
const gapDist = evaluateDistillation(distilled, teacher, test, { temperature: T });
const wall = (performance.now() - t0) / 1000;
const fewer = 1 - distErr / Math.max(1, aloneErr);
const pct = (x) => `${(x * 100).toFixed(1)} %`;
console.log('\n                              test errors / 10000   paper');
console.log(`teacher 2×1200 (dropout+jit)  ${String(teacherErr).padStart(8)}              67`);
console.log(`student 2×800 alone           ${String(aloneErr).padStart(8)}             146`);
console.log(`student 2×800 distilled T=${T}  ${String(distErr).padStart(8)}              74`);
console.log(`teacher agreement on test: alone ${pct(gapAlone.agreement)}, distilled ${pct(gapDist.agreement)}; test T²·KL: alone ${gapAlone.kd.toFixed(4)}, distilled ${gapDist.kd.toFixed(4)}`);
console.log(`distilled student makes ${pct(fewer)} fewer errors than the student alone (paper: ${pct(1 - 74 / 146)}): `
  + `${fewer >= 0.25 ? 'YES' : 'NO'}, ≥ 25 % fewer`);
console.log(`wall time ${wall.toFixed(0)} s`);
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({
    epochs, teacherEpochs, alpha, T, lr, batchSize, dropout, seed, limit: indices ? indices.length : null,
    errors: { teacher: teacherErr, alone: aloneErr, distilled: distErr }, paper: { teacher: 67, alone: 146, distilled: 74 },
    fewerFraction: fewer, atLeast25: fewer >= 0.25, agreement: { alone: gapAlone.agreement, distilled: gapDist.agreement },
    testKD: { alone: gapAlone.kd, distilled: gapDist.kd }, wallSeconds: wall,
  }, null, 2) + '\n');
}
kd.dispose(); teacher.dispose(); alone.dispose(); distilled.dispose();
