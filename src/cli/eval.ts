// `qwasm eval`: scores a checkpoint on a dataset's test split.
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { evaluate } from '../train/trainer.js';
import { loadModel } from '../train/model-file.js';
import { parseArgs, UsageError } from './args.js';
import type { Command } from './main.js';

const usage = `usage: qwasm eval --model FILE --data NAME [--build NAME] [--json]

Evaluates a checkpoint written by 'qwasm train --out FILE' on the test split of a dataset.`;

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { model: 'string', data: 'string', build: 'string', json: 'boolean', help: 'boolean', h: 'boolean' });
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  if (!flags.model) throw new UsageError('--model FILE is required');
  if (!flags.data) throw new UsageError('--data is required');
  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const engine = new Engine(q.rt);
  const { model, record } = loadModel(engine, flags.model as string);
  const { test } = loadDataset(flags.data as string);
  const ev = evaluate(model, test);
  const result = { model: record.name, checkpoint: flags.model, data: flags.data, build: q.build, testAccuracy: ev.accuracy, testLoss: ev.loss, count: ev.count, seconds: ev.seconds };
  if (flags.json) console.log(JSON.stringify(result));
  else console.log(`${record.name} on ${flags.data}: test accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${ev.loss.toFixed(4)}, ${ev.count} images, build ${q.build})`);
  return 0;
}

export const command: Command = { summary: 'evaluate a checkpoint on a dataset', usage, run };
