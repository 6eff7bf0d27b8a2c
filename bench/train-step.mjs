// One f32 training step of an imported model on a fixed synthetic batch (cross-entropy, Adam, every layer
// trained): what the MobileNetV2 benchmarks time. Returns { step, dispose }.
import { crossEntropy } from '../dist/autograd/ops.js';
import { Optimizer } from '../dist/optim/optimizer.js';

export function trainStep(engine, model, { batch, size, classes }) {
  const rt = engine.rt;
  const x = Float32Array.from({ length: batch * size * size * 3 }, (_, i) => ((i * 7919) % 255) / 255);
  const labels = rt.alloc(batch * 4);
  rt.i32().set(Array.from({ length: batch }, (_, i) => i % classes), labels >> 2);
  const opt = new Optimizer(engine, model.namedParameters(), { kind: 'adam' });
  model.train();
  return {
    step: () => {
      const t = engine.persistent([batch, size, size, 3], x, false);
      const loss = crossEntropy(model.forward(t), labels);
      model.zeroGrad(); loss.backward(); opt.step(1e-4);
      t.dispose(); engine.endStep();
    },
    dispose: () => { opt.dispose?.(); rt.free(labels); },
  };
}
