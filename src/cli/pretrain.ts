// `qwasm pretrain`: trains a built-in model on a source dataset — a slice of its classes (QuickDraw categories
// by count and offset, or by name; any dataset's classes likewise) — and writes a checkpoint whose metadata
// records the exact command, the source classes and the record transfer learning needs (src/transfer/).
// The training itself is `qwasm train`'s (trainFromFlags), so both commands take the same training flags.
import { loadDataset } from '../data/registry.js';
import { selectClasses, type DatasetSplits } from '../data/dataset.js';
import { quickdrawCategories } from '../data/sources.js';
import { holdoutSplit, DEFAULT_HOLDOUT } from '../pipeline/split.js';
import { Args, UsageError, flag, type CommandSpec } from './args.js';
import { TRAIN_FLAGS, trainFromFlags } from './train.js';
import type { Command } from './main.js';

const spec: CommandSpec = {
  name: 'pretrain',
  summary: 'pretrain a source model for transfer learning (checkpoint records the command)',
  synopsis: ['qwasm pretrain --model NAME --out FILE [--data NAME] [--categories N|A,B,...] [--offset K] [train flags]'],
  about: `Pretrains a source network for transfer learning and writes its checkpoint (atomic). The checkpoint's
metadata records the exact command ("command", "argv"), the source dataset and class names ("source"),
so the file can be shipped and reproduced.`,
  sections: [
    ['source', {
      data: flag('data', 'source dataset (default quickdraw): quickdraw, mnist, fashion-mnist, digits, or a folder'),
      categories: { type: 'string', value: 'N|A,B', help: 'the N classes starting at --offset (QuickDraw: in the package\'s category order;\ndefault 10), or a comma-separated list of class names' },
      offset: { type: 'string', value: 'K', help: 'first class of the slice (default 0)', num: { int: true, min: 0 } },
      holdout: { type: 'string', value: 'N', help: `instead: every class but N held out by a seeded shuffle (the few-shot target of\n'qwasm pipeline --holdout N --holdout-seed S'; its default is 20 with seed ${DEFAULT_HOLDOUT.seed})`, num: { int: true, min: 1 } },
      'holdout-seed': { type: 'string', value: 'S', help: `seed of the held-out draw (default ${DEFAULT_HOLDOUT.seed})`, num: { int: true, min: 0 } },
      'with-optimizer': { type: 'boolean', help: 'also save the optimiser state (to resume training with train --resume)' },
    }],
    ['training (as qwasm train)', { ...TRAIN_FLAGS, out: flag('out', 'the checkpoint (required); weights only unless --with-optimizer') }],
  ],
};

/** Shell-quotes one argument (for the recorded command line). */
const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export interface SourceSelection { dataset: string; classes: string[]; offset?: number; count?: number; holdout?: { count: number; seed: number; classes: string[] } }

/**
 * Loads a source dataset restricted to a class slice (count from offset), to named classes, or (holdout) to
 * every class but `holdout.count` held out by a seeded draw (src/pipeline/split.ts).
 */
export function loadSource(dataName: string, categories: string | undefined, offset: number, holdout?: { count: number; seed: number }): { splits: DatasetSplits; source: SourceSelection } {
  if (holdout) {
    if (categories !== undefined || offset !== 0) throw new UsageError('--holdout replaces --categories / --offset: give one or the other');
    const isQd = dataName.toLowerCase() === 'quickdraw';
    const full = isQd ? null : loadDataset(dataName);
    const all = isQd ? quickdrawCategories() : [...full!.train.classes];
    if (holdout.count < 1 || holdout.count >= all.length) throw new UsageError(`--holdout must be in [1, ${all.length - 1}] for ${dataName}, got ${holdout.count}`);
    const split = holdoutSplit(all, holdout.count, holdout.seed);
    const splits = isQd ? loadDataset('quickdraw', { categories: split.source })
      : { train: selectClasses(full!.train, split.sourceIndices), test: selectClasses(full!.test, split.sourceIndices) };
    return { splits, source: { dataset: isQd ? 'quickdraw' : dataName, classes: [...splits.train.classes], holdout: { ...holdout, classes: split.target } } };
  }
  const names = categories && !/^\d+$/.test(categories) ? categories.split(',').map((s) => s.trim()).filter(Boolean) : null;
  const count = names ? undefined : categories ? Number(categories) : undefined;
  if (count !== undefined && count < 1) throw new UsageError(`--categories must be at least 1, got ${count}`);
  const isQuickDraw = dataName.toLowerCase() === 'quickdraw';
  if (isQuickDraw) {
    let pick = names;
    if (!pick) {
      const all = quickdrawCategories();
      const n = count ?? 10;
      if (offset + n > all.length) throw new UsageError(`--offset ${offset} + --categories ${n} is past the ${all.length} QuickDraw categories`);
      pick = all.slice(offset, offset + n);
    }
    const splits = loadDataset('quickdraw', { categories: pick });
    return { splits, source: { dataset: 'quickdraw', classes: [...splits.train.classes], ...(names ? {} : { offset, count: pick.length }) } };
  }
  const full = loadDataset(dataName);
  if (!names && count === undefined && offset === 0) return { splits: full, source: { dataset: dataName, classes: [...full.train.classes] } };
  const total = full.train.classes.length;
  let pick: (string | number)[];
  if (names) pick = names;
  else {
    const n = count ?? total - offset;
    if (n < 1 || offset + n > total) throw new UsageError(`--offset ${offset} + --categories ${n} is past the ${total} classes of ${dataName}`);
    pick = Array.from({ length: n }, (_, i) => offset + i);
  }
  const splits = { train: selectClasses(full.train, pick), test: selectClasses(full.test, pick) };
  return { splits, source: { dataset: dataName, classes: [...splits.train.classes], ...(names ? {} : { offset, count: pick.length }) } };
}

async function run(args: Args, argv: string[]): Promise<number> {
  if (!args.has('out')) throw new UsageError('--out FILE is required (pretrain writes a checkpoint)');
  if (!args.has('model')) throw new UsageError('--model is required');
  if (args.has('resume')) throw new UsageError("--resume continues a run with 'qwasm train --resume FILE'");
  const dataName = args.str('data', 'quickdraw');
  const offset = args.num('offset', 0);
  const categories = args.str('categories');
  if (args.has('holdout-seed') && !args.has('holdout')) throw new UsageError('--holdout-seed needs --holdout N');
  const holdout = args.has('holdout') ? { count: args.num('holdout', 0), seed: args.num('holdout-seed', DEFAULT_HOLDOUT.seed) } : undefined;
  let source: SourceSelection | undefined;
  const command = ['qwasm', 'pretrain', ...argv].map(quote).join(' ');
  const withData = new Args(args.spec, { ...args.values, data: dataName }, args.positional);
  return trainFromFlags(withData, {
    label: 'pretrain',
    saveOptimizer: args.bool('with-optimizer'),
    load: (name) => { const r = loadSource(name, categories, offset, holdout); source = r.source; return r.splits; },
    get meta() { return { command, argv: ['pretrain', ...argv], pretrained: true, ...(source ? { source } : {}) }; },
  });
}

export const command: Command = { spec, run };
