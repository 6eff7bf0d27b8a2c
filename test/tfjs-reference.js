// TF.js (tfjs-layers on the cpu backend) as the reference for the TF.js importer: loads the same artefacts
// qwasm imports through an in-memory IOHandler, so both decode the same bytes. Shared by test/tfjs.test.js
// and bench/tfjs-import.mjs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

let ready = null;
export async function tfReady() {
  ready ??= tf.setBackend('cpu').then(() => tf.ready());
  await ready;
  return { tf, tfl };
}

/**
 * A tfjs-layers model of the artefacts, its softmax output turned linear (qwasm outputs logits), and
 * `outputs` extra layer outputs (e.g. a cut layer's features) as further model outputs.
 */
export async function referenceModel(art, { outputs = [] } = {}) {
  await tfReady();
  const topo = JSON.parse(JSON.stringify(art.modelTopology));
  const cfg = topo.model_config ?? topo;
  const layers = Array.isArray(cfg.config) ? cfg.config : cfg.config.layers;
  const last = layers[layers.length - 1];
  if (last.config.activation === 'softmax') last.config.activation = 'linear';
  const w = art.weightData;
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topo, weightSpecs: art.weightSpecs, weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) }));
  if (!outputs.length) return model;
  return tfl.model({ inputs: model.inputs, outputs: [model.outputs[0], ...outputs.map((n) => model.getLayer(n).output)] });
}

/** Runs the reference on NHWC float32 input; returns the Float32Array of each output. */
export function runReference(model, x, shape) {
  return tf.tidy(() => {
    const y = model.predict(tf.tensor4d(x, shape));
    return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync().slice());
  });
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
