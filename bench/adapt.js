// Unsupervised domain adaptation MNIST (source, labelled) → UCI digits resized to 28×28 (target). The digits are
// split once (stratified, 80/20): the 80 % "adaptation set" is the unlabelled target data the methods see during
// training (its labels are never read for training), the 20 % test split is held out entirely. Source-only vs
// DANN vs Deep CORAL with the same model, seed, batches, optimiser and step budget, over several seeds; prints the
// accuracy on the held-out target test split (the headline), on the adaptation set (transductive: the images
// the methods adapted to, scored with their labels afterwards) and on MNIST test[0:2000], with mean ± sd over
// seeds and the paired per-seed gain over source-only.
//
//   node bench/adapt.js [--steps 800] [--batch 64] [--lr 0.01] [--opt sgd|adam] [--momentum 0.9] [--anneal 1]
//                       [--seeds 1,2,3] [--model refcnn] [--centre 1] [--invert 0] [--target-norm own|mnist]
//                       [--methods source-only,dann,coral] [--dann-weight 0.3] [--domain-lr 1] [--domain-hidden 100]
//                       [--coral-weight 1] [--eval-every N] [--build simd] [--json out.json]
// --anneal 1: DANN's μ_p = lr/(1+10p)^0.75 for every method (same optimiser and schedule for all rows).
// --target-norm: 'own' normalises the digits with their own (adaptation-set) mean/std, 'mnist' with MNIST's.
// --dann-weight: the GRL factor's maximum (λ = weight·λ_p). 0.3 by default: at 1 the adversarial game collapsed on
// one seed of six (target 63 %, source-only 82 %) and was worse than source-only on another.
// --eval-every N: also evaluate the target test split every N steps (printed per run, not used for anything).
import { init, Engine, buildModel, loadDataset, adapt, evaluate } from '../dist/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : '1']);
  return acc;
}, []));
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const steps = num('steps', 800), B = num('batch', 64), lr = num('lr', 0.01);
const seeds = (args.seeds ?? args.seed ?? '1,2,3').split(',').map(Number);
const modelName = args.model ?? 'refcnn';
const centre = num('centre', 1) !== 0, inv = num('invert', 0) !== 0, targetNorm = args['target-norm'] ?? 'own';
const methods = (args.methods ?? 'source-only,dann,coral').split(',');
const anneal = num('anneal', 1) !== 0, optKind = args.opt ?? 'sgd', momentum = num('momentum', 0.9);
const optimizer = optKind === 'sgd' ? { kind: 'sgd', momentum } : { kind: optKind };
const evalEvery = num('eval-every', 0), domainLrScale = num('domain-lr', 1);
const domainHidden = (args['domain-hidden'] ?? '100').split(',').map(Number);
const weights = { 'source-only': 0, dann: num('dann-weight', 0.3), coral: num('coral-weight', 1) };
for (const [k, v] of Object.entries({ steps, B, lr, momentum, domainLrScale, ...weights })) {
  if (!Number.isFinite(v)) { console.error(`--${k}: not a number`); process.exit(2); }
}
if (seeds.some((s) => !Number.isInteger(s))) { console.error(`--seeds: integers separated by commas, got ${args.seeds}`); process.exit(2); }
if (targetNorm !== 'own' && targetNorm !== 'mnist') { console.error(`--target-norm must be 'own' or 'mnist', got ${targetNorm}`); process.exit(2); }

const q = await init({ build: args.build ?? 'auto' });
const t0 = performance.now();
const mnist = loadDataset('mnist');
const digits = loadDataset('digits', { centre, invert: inv });
const norm = targetNorm === 'mnist' ? mnist.train.norm : digits.train.norm;
const adaptSet = { ...digits.train, norm }, targetTest = { ...digits.test, norm };
const srcTest = Int32Array.from({ length: 2000 }, (_, i) => i);
console.log(`build ${q.rt.build ?? ''} | source mnist/train ${mnist.train.length} | target: digits adaptation set ${adaptSet.length} (unlabelled), held-out test ${targetTest.length} | centre ${centre} invert ${inv} norm ${targetNorm} (mean ${norm.mean[0].toFixed(3)} std ${norm.std[0].toFixed(3)})`);
console.log(`model ${modelName} | seeds ${seeds} | ${steps} steps × (${B} source + ${B} target) | ${optKind}${optKind === 'sgd' ? ` momentum ${momentum}` : ''} lr ${lr}${anneal ? ' annealed (1+10p)^-0.75' : ''}`
  + ` | DANN weight ${weights.dann}, domain head [${domainHidden}] at lr × ${domainLrScale} | CORAL weight ${weights.coral}`);

const rows = [];
for (const seed of seeds) {
  for (const method of methods) {
    const e = new Engine(q.rt);
    const m = buildModel(e, modelName, { seed });
    const ts = performance.now();
    const r = adapt(m, mnist.train, adaptSet, {
      method, steps, batchSize: B, lr, seed, optimizer, lrAnneal: anneal, weight: weights[method] || 1, domainHidden, domainLrScale,
      targetTest, evalEvery: evalEvery || undefined,
      onStep: (s) => { if (s.step % Math.max(1, Math.floor(steps / 4)) === 0) console.log(`  seed ${seed} ${method} step ${s.step}/${s.totalSteps} loss ${s.loss.toFixed(3)} task ${s.taskLoss.toFixed(3)} adapt ${s.adaptLoss.toFixed(4)} λ ${s.lambda.toFixed(3)}${s.domainAccuracy !== undefined ? ` domain acc ${s.domainAccuracy.toFixed(2)}` : ''}`); },
    });
    const row = {
      seed, method, weight: method === 'source-only' ? 0 : weights[method] || 1,
      targetTest: r.targetAccuracy, adaptSet: evaluate(m, adaptSet).accuracy, sourceTest2k: evaluate(m, mnist.test, 250, srcTest).accuracy,
      evals: r.evals.map((v) => [v.step, v.accuracy]), seconds: (performance.now() - ts) / 1000,
    };
    rows.push(row);
    console.log(`seed ${seed} ${method}: target test ${pct(row.targetTest)}, adaptation set ${pct(row.adaptSet)}, MNIST ${pct(row.sourceTest2k)} (${row.seconds.toFixed(0)} s)`
      + (evalEvery ? ` evals ${row.evals.map(([s, a]) => `${s}:${pct(a)}`).join(' ')}` : ''));
    r.dispose(); m.dispose();
  }
}
function pct(v) { return `${(100 * v).toFixed(2)}%`; }
const stat = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
};
const ms = (xs) => { const s = stat(xs); return `${(100 * s.mean).toFixed(2)} ± ${(100 * s.sd).toFixed(2)}`; };
const summary = {};
console.log(`\n| method | weight | target test (held out, n=${targetTest.length}) | adaptation set (n=${adaptSet.length}) | gain over source-only, test (per seed) | MNIST test[0:2000] | s/run |`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const method of methods) {
  const rs = rows.filter((r) => r.method === method);
  const base = (seed) => rows.find((r) => r.seed === seed && r.method === 'source-only');
  const gains = rs.map((r) => (base(r.seed) ? r.targetTest - base(r.seed).targetTest : NaN));
  summary[method] = { targetTest: stat(rs.map((r) => r.targetTest)), adaptSet: stat(rs.map((r) => r.adaptSet)), source: stat(rs.map((r) => r.sourceTest2k)), gains };
  console.log(`| ${method} | ${rs[0].weight} | ${ms(rs.map((r) => r.targetTest))} % | ${ms(rs.map((r) => r.adaptSet))} % | `
    + `${method === 'source-only' ? '—' : gains.map((g) => `${g >= 0 ? '+' : ''}${(100 * g).toFixed(2)}`).join(' / ')} | ${ms(rs.map((r) => r.sourceTest2k))} % | ${stat(rs.map((r) => r.seconds)).mean.toFixed(0)} |`);
}
console.log(`per seed (target test): ${seeds.map((s) => `seed ${s}: ${methods.map((m) => pct(rows.find((r) => r.seed === s && r.method === m).targetTest)).join(' / ')}`).join('; ')} (${methods.join(' / ')})`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (args.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(args.json, JSON.stringify({ steps, batch: B, lr, seeds, optimizer, lrAnneal: anneal, model: modelName, centre, invert: inv, targetNorm,
    dann: { weight: weights.dann, domainHidden, domainLrScale }, coral: { weight: weights.coral }, summary, rows }, null, 2) + '\n');
}
