// `qwasm eval`: scores a checkpoint on a dataset's test split.
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { evaluate } from '../train/trainer.js';
import { FLAGS, flag, type Args, type CommandSpec } from './args.js';
import { checkModelFitsData, firstIndices, loadCheckpointFlag, startQwasm } from './common.js';
import type { Command } from './main.js';

const spec: CommandSpec = {
  name: 'eval',
  summary: 'evaluate a checkpoint on a dataset',
  synopsis: ['qwasm eval --model FILE --data NAME [flags]'],
  about: "Evaluates a float checkpoint (.qck, from 'qwasm train --out FILE', compress --checkpoint or import) on the\ntest split of a dataset. (An int8 .qwm model runs with 'qwasm run MODEL.qwm --data NAME'.)",
  sections: [['', {
    model: FLAGS.model, data: FLAGS.data, limit: flag('limit', 'evaluate on the first N test images only (N ≥ 1)'),
    batch: flag('batch', 'evaluation batch size (default 250)'), build: FLAGS.build, threads: FLAGS.threads, json: FLAGS.json,
  }]],
};

async function run(args: Args): Promise<number> {
  const file = args.need('model', 'FILE'), dataName = args.need('data');
  const q = await startQwasm(args);
  const engine = new Engine(q.rt);
  const { model, record } = loadCheckpointFlag('eval', engine, '--model', file);
  const { test } = loadDataset(dataName);
  checkModelFitsData(`${file} (${record.name})`, record.options.input ?? [28, 28, 1], record.options.classes ?? 10, dataName, test);
  const limit = args.num('limit');
  const ev = evaluate(model, test, args.num('batch', 250), limit !== undefined ? firstIndices(limit, test.length) : undefined);
  const result = { model: record.name, checkpoint: file, data: dataName, build: q.build, testAccuracy: ev.accuracy, testLoss: ev.loss, count: ev.count, seconds: ev.seconds };
  if (args.bool('json')) console.log(JSON.stringify(result));
  else console.log(`${record.name} on ${dataName}: test accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${ev.loss.toFixed(4)}, ${ev.count} images, build ${q.build})`);
  return 0;
}

export const command: Command = { spec, run };
