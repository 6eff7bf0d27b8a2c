// Unsupervised domain adaptation MNIST (source, labelled) → UCI digits resized to 28×28 (target: its train split
// unlabelled for training, its test split for evaluation). Source-only vs DANN vs Deep CORAL with the same
// model, seed, batches and step budget; prints a table of target test accuracies.
//
//   node bench/adapt.js [--steps 600] [--batch 64] [--lr 1e-3] [--model refcnn] [--seed 1]
//                       [--centre 1] [--invert 0] [--methods source-only,dann,coral] [--coral-weight 1]
//                       [--dann-weight 1] [--anneal 0] [--opt adam|sgd] [--momentum 0.9] [--build simd] [--json out.json]
// --eval-every N: also evaluate the target test set every N steps; the table adds the mean over the evaluations of
// the second half of training (less sensitive to the exact stopping step than the final value).
// --anneal 1: DANN's μ_p = lr/(1+10p)^0.75 for every method (same optimiser and schedule for all rows).
import { init, Engine, buildModel, loadDataset, adapt, evaluate } from '../dist/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : '1']);
  return acc;
}, []));
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const steps = num('steps', 600), B = num('batch', 64), lr = num('lr', 1e-3), seed = num('seed', 1);
const modelName = args.model ?? 'refcnn';
const centre = num('centre', 1) !== 0, inv = num('invert', 0) !== 0;
const methods = (args.methods ?? 'source-only,dann,coral').split(',');
const anneal = num('anneal', 0) !== 0, optKind = args.opt ?? 'adam', momentum = num('momentum', 0.9);
const optimizer = optKind === 'sgd' ? { kind: 'sgd', momentum } : { kind: optKind };
const evalEvery = num('eval-every', 0);
const weights = { 'source-only': 0, dann: num('dann-weight', 1), coral: num('coral-weight', 1) };

const q = await init({ build: args.build ?? 'auto' });
const t0 = performance.now();
const mnist = loadDataset('mnist');
const digits = loadDataset('digits', { centre, invert: inv });
console.log(`build ${q.rt.build ?? ''} | source mnist/train ${mnist.train.length} | target digits/train ${digits.train.length} (unlabelled), digits/test ${digits.test.length} | centre ${centre} invert ${inv}`);
console.log(`model ${modelName} seed ${seed} | ${steps} steps × (${B} source + ${B} target) | ${optKind}${optKind === 'sgd' ? ` momentum ${momentum}` : ''} lr ${lr}${anneal ? ' annealed (1+10p)^-0.75' : ''}`);

const rows = [];
for (const method of methods) {
  const e = new Engine(q.rt);
  const m = buildModel(e, modelName, { seed });
  const ts = performance.now();
  const r = adapt(m, mnist.train, digits.train, {
    method, steps, batchSize: B, lr, seed, optimizer, lrAnneal: anneal, weight: weights[method] || 1, targetTest: digits.test, evalEvery: evalEvery || undefined,
    onStep: (s) => { if (s.step % Math.max(1, Math.floor(steps / 4)) === 0) console.log(`  ${method} step ${s.step}/${s.totalSteps} loss ${s.loss.toFixed(3)} task ${s.taskLoss.toFixed(3)} adapt ${s.adaptLoss.toFixed(4)} λ ${s.lambda.toFixed(3)}${s.domainAccuracy !== undefined ? ` domain acc ${s.domainAccuracy.toFixed(2)}` : ''}`); },
  });
  const src = evaluate(m, mnist.test, 250, Int32Array.from({ length: 2000 }, (_, i) => i));
  const late = r.evals.filter((v) => v.step > steps / 2);
  rows.push({ method, targetTest: r.targetAccuracy, targetLateMean: late.reduce((a, v) => a + v.accuracy, 0) / Math.max(1, late.length), evals: r.evals.map((v) => [v.step, v.accuracy]), sourceTest2k: src.accuracy, seconds: (performance.now() - ts) / 1000, weight: method === 'source-only' ? 0 : weights[method] || 1 });
  r.dispose(); m.dispose();
}
const pct = (v) => `${(100 * v).toFixed(2)}%`;
console.log(`\n| method | weight | target (digits test) acc |${evalEvery ? ' mean of 2nd-half evals |' : ''} source (MNIST test[0:2000]) acc | seconds |`);
console.log(`| --- | --- | --- |${evalEvery ? ' --- |' : ''} --- | --- |`);
for (const r of rows) console.log(`| ${r.method} | ${r.weight} | ${pct(r.targetTest)} |${evalEvery ? ` ${pct(r.targetLateMean)} |` : ''} ${pct(r.sourceTest2k)} | ${r.seconds.toFixed(1)} |`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (args.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(args.json, JSON.stringify({ steps, batch: B, lr, seed, optimizer, lrAnneal: anneal, model: modelName, centre, invert: inv, rows }, null, 2));
}
