// Built-in model definitions, named for the CLI. Every model is rebuilt from {name, options}, which is what
// checkpoints record (plus the tensors).
import type { Engine } from '../autograd/tensor.js';
import { Module } from './module.js';
import { InitRng } from '../util/rng.js';
import {
  BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU, ReLU6, Residual, Sequential,
} from './layers.js';
import { QwasmError } from '../errors.js';

export interface ModelOptions {
  /** Input [height, width, channels]; default [28, 28, 1]. */
  input?: [number, number, number];
  classes?: number;
  seed?: number;
  /** mlp: hidden sizes; default [256, 128]. */
  hidden?: number[];
  /** mlp: dropout after each hidden layer (0 = none). */
  dropout?: number;
  /** resnet / mobilenet: base width (channels of the first stage). */
  width?: number;
  /** resnet: residual blocks per stage; default [1, 1, 1]. */
  blocks?: number[];
}

export const MODEL_NAMES = ['mlp', 'refcnn', 'resnet', 'mobilenet'] as const;
export type ModelName = typeof MODEL_NAMES[number];

export function buildModel(engine: Engine, name: string, o: ModelOptions = {}): Sequential {
  const [h, w, c] = o.input ?? [28, 28, 1];
  const classes = o.classes ?? 10;
  const rng = new InitRng(o.seed ?? 1);
  const E = engine;
  switch (name) {
    case 'mlp': {
      const sizes = [h * w * c, ...(o.hidden ?? [256, 128])];
      const layers: Module[] = [new Flatten(E)];
      for (let i = 1; i < sizes.length; i++) {
        layers.push(new Linear(E, sizes[i - 1], sizes[i], rng), new ReLU(E));
        if (o.dropout) layers.push(new Dropout(E, o.dropout, rng.u32()));
      }
      layers.push(new Linear(E, sizes[sizes.length - 1], classes, rng));
      return new Sequential(E, layers);
    }
    case 'refcnn': {
      // conv 3×3×32 ReLU, maxpool 2, conv 3×3×64 ReLU, maxpool 2, linear → 128 ReLU, linear → classes
      const h1 = Math.floor((h - 2) / 2), w1 = Math.floor((w - 2) / 2);
      const h2 = Math.floor((h1 - 2) / 2), w2 = Math.floor((w1 - 2) / 2);
      if (h2 < 1 || w2 < 1) throw new QwasmError(`refcnn needs inputs of at least 10×10, got ${h}×${w}`);
      return new Sequential(E, [
        new Conv2d(E, { inChannels: c, outChannels: 32, kernel: 3 }, rng), new ReLU(E), new MaxPool2d(E, { kernel: 2 }),
        new Conv2d(E, { inChannels: 32, outChannels: 64, kernel: 3 }, rng), new ReLU(E), new MaxPool2d(E, { kernel: 2 }),
        new Flatten(E),
        new Linear(E, h2 * w2 * 64, 128, rng), new ReLU(E),
        new Linear(E, 128, classes, rng),
      ]);
    }
    case 'resnet': {
      const base = o.width ?? 16;
      const blocks = o.blocks ?? [1, 1, 1];
      const convBn = (cin: number, cout: number, k: number, stride: number) => [
        new Conv2d(E, { inChannels: cin, outChannels: cout, kernel: k, stride, padding: (k - 1) / 2, bias: false }, rng),
        new BatchNorm2d(E, cout),
      ];
      const layers: Module[] = [...convBn(c, base, 3, 1), new ReLU(E)];
      let cin = base;
      blocks.forEach((count, stage) => {
        const cout = base << stage;
        for (let b = 0; b < count; b++) {
          const stride = stage > 0 && b === 0 ? 2 : 1;
          const body = new Sequential(E, [...convBn(cin, cout, 3, stride), new ReLU(E), ...convBn(cout, cout, 3, 1)]);
          const shortcut = stride !== 1 || cin !== cout ? new Sequential(E, convBn(cin, cout, 1, stride)) : null;
          layers.push(new Residual(E, body, shortcut, new ReLU(E)));
          cin = cout;
        }
      });
      layers.push(new GlobalAvgPool(E), new Linear(E, cin, classes, rng));
      return new Sequential(E, layers);
    }
    case 'mobilenet': {
      const base = o.width ?? 16;
      const cbr = (cin: number, cout: number, k: number, stride: number, groups = 1) => [
        new Conv2d(E, { inChannels: cin, outChannels: cout, kernel: k, stride, padding: (k - 1) / 2, groups, bias: false }, rng),
        new BatchNorm2d(E, cout), new ReLU6(E),
      ];
      const layers: Module[] = [...cbr(c, base, 3, 1)];
      let cin = base;
      for (const [cout, stride] of [[base * 2, 1], [base * 4, 2], [base * 4, 1], [base * 8, 2]] as [number, number][]) {
        layers.push(...cbr(cin, cin, 3, stride, cin), ...cbr(cin, cout, 1, 1));
        cin = cout;
      }
      layers.push(new GlobalAvgPool(E), new Linear(E, cin, classes, rng));
      return new Sequential(E, layers);
    }
    default:
      throw new QwasmError(`unknown model '${name}': built-in models are ${MODEL_NAMES.join(', ')}`);
  }
}

