// The int8 / training scenario of test/browser.test.js, one source for both sides: Node runs it on
// ../../dist/index.js, the page (test/browser-page/index.html) on the same module imported as 'qwasm'. Each
// function takes the library's namespace `qw` and plain data (typed arrays, numbers), and returns plain data,
// so Node can compare the two sides bit for bit (through test/wire.js).

export const SEED = 7;
export const IMAGE = [28, 28, 1];
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function dataset(qw, { images, labels, norm }) {
  return qw.createDataset({ name: 'mnist-sample', images, labels, height: IMAGE[0], width: IMAGE[1], channels: IMAGE[2], classes: CLASSES, norm });
}

/** int8 codes of every quantised layer (name → Int8Array) of an Int8Model on the probe batch. */
function codesOf(i8, probe) {
  const out = {};
  for (const [name, v] of i8.trace(probe, probe.length / (IMAGE[0] * IMAGE[1] * IMAGE[2]))) out[name] = v.data;
  return out;
}

function weightsOf(model) {
  const out = {};
  for (const [k, v] of Object.entries(model.stateDict())) out[k] = { shape: v.shape, data: v.data };
  return out;
}

/**
 * Trains a seeded refcnn for `steps` Adam steps on the sample, QAT-calibrates it (observers on `calib` batches,
 * then frozen), converts it to int8 and traces the probe batch. Returns the step losses, the trained float
 * weights, the quantisation state and the int8 codes of every layer.
 */
export async function trainCalibrateConvert(qw, { build, sample, steps, batchSize, calib, probe }) {
  const q = await qw.init({ build, threads: 1 }); // one thread on both sides: data-parallel training sums gradients per shard (docs/THREADS.md)
  const ds = dataset(qw, sample);
  const engine = new qw.Engine(q.rt);
  const model = qw.buildModel(engine, 'refcnn', { seed: SEED, input: IMAGE });
  const losses = [];
  const fit = qw.fit(model, ds, { epochs: 1000, maxSteps: steps, batchSize, lr: 2e-3, seed: SEED, onStep: (s) => losses.push(s.loss) });
  fit.optimizer.dispose();
  const weights = weightsOf(model);
  const qat = qw.prepareQAT(model);
  qw.calibrate(qat, ds, { batches: calib, batchSize, seed: SEED });
  qat.freezeObservers();
  qat.eval();
  const quantState = qat.quantState();
  const i8 = qw.convertToInt8(qat);
  try {
    // the int8 model as a .qwm file, and its output codes on the probe's input codes
    const inputCodes = qw.quantizeInput(probe, i8.input);
    return {
      build: q.build, losses, weights, quantState: JSON.stringify(quantState), codes: codesOf(i8, probe), logits: i8.predict(probe),
      qwm: i8.qwm(), inputCodes, outputCodes: i8.predictCodes(inputCodes),
    };
  } finally {
    i8.dispose();
  }
}

/**
 * The int8 half alone, from given float weights and quantisation state (both from the other side): a fresh
 * refcnn loads the weights, is converted with that state, and traces the probe batch.
 */
export async function convertGiven(qw, { build, weights, quantState, probe }) {
  const q = await qw.init({ build, threads: 1 }); // one thread on both sides: data-parallel training sums gradients per shard (docs/THREADS.md)
  const engine = new qw.Engine(q.rt);
  const model = qw.buildModel(engine, 'refcnn', { seed: SEED + 1, input: IMAGE }); // other init: every weight must come from `weights`
  model.loadStateDict(weights);
  const i8 = qw.convertToInt8(model, JSON.parse(quantState), { inputShape: IMAGE });
  try {
    return { build: q.build, codes: codesOf(i8, probe), logits: i8.predict(probe) };
  } finally {
    i8.dispose();
  }
}

/**
 * A .qwm file run by the deployment-only entry `qwasm/runtime` (`rtEntry` is its namespace): output codes of
 * given input codes, and the logits of the float probe batch.
 */
export async function runQwm(rtEntry, { build, qwm, inputCodes, probe }) {
  const m = await rtEntry.loadQwm(qwm, { build });
  try {
    return { build: m.info().build, outputCodes: m.predictCodes(inputCodes), logits: m.predict(probe) };
  } finally {
    m.dispose();
  }
}
