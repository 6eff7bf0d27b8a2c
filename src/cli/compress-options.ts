// `qwasm compress` flags → compressModel options (src/pipeline/compress-model.ts). The CLI checks only what is its own
// vocabulary: which flags belong to which method, and their syntax (numbers, N:M, BKxBN, hints). The ranges and
// the rules between options are checked once, by the library, in its option names; LIBRARY_FLAGS maps those
// names back to the flags, so the user reads the same rule in flag words (libraryError).
import { COMPRESS_METHODS, type CompressMethod, type CompressOptions, type PruneTerm, type WeightOnlyCompressOptions } from '../pipeline/compress-model.js';
import type { HintSpec } from '../compress/distill.js';
import { FLAGS, UsageError, type Args, type FlagTable } from './args.js';

const num = (help: string, int = false, value = int ? 'N' : 'X') => ({ type: 'string' as const, value, help, num: { int } });

/** Flags of each term, in help order (their ranges are the library's: see LIBRARY_FLAGS). */
export const TERM_FLAGS: Record<'distill' | 'qat' | 'ptq' | 'prune' | 'lowrank', FlagTable> = {
  distill: {
    teacher: { ...FLAGS.teacher, help: 'distillation teacher checkpoint (distill: required; joint: default the --model itself)' },
    alpha: { ...FLAGS.alpha, num: {} }, temperature: { ...FLAGS.temperature, num: {} },
    hint: { type: 'string', value: 'S:T[:W]', help: 'hint loss from student module S to teacher module T (weight W); repeatable with commas' },
  },
  qat: {
    'qerr-weight': num('weight of the mean (W − Q(W))² penalty (default 0)'),
    'freeze-observers-at': num('freeze the activation observers at step N (default 70 % of the steps)', true),
    'freeze-bn-at': num('freeze batch-norm statistics at step N (default 30 % of the steps)', true),
    lsq: { type: 'boolean', help: 'learned step sizes (LSQ, trained as log-scales) for weights and activations' },
  },
  ptq: {
    calib: { type: 'string', value: 'NAME', choices: ['minmax', 'percentile', 'dynamic'], help: `minmax (default) or percentile: static, calibrated activation ranges (all-int8);
dynamic: weight-only int8 (f32 activations and arithmetic; no .qwm, the row's
precision is int8-weights and its int8 accuracy is null)` },
    'calib-batches': num('calibration batches of 64 images (default 16)', true),
    percentile: num('kept fraction in percent for --calib percentile (default 99.99)'),
  },
  prune: {
    sparsity: { ...FLAGS.sparsity, num: {} },
    structure: { type: 'string', value: 'NAME', choices: ['unstructured', 'nm', 'block', 'channel'], help: 'unstructured (default), nm, block, channel (whole output channels, removed after\ntraining: a narrower model)' },
    nm: { type: 'string', value: 'K:M', help: 'N:M pattern for --structure nm (default 2:4)' },
    block: { type: 'string', value: 'BKxBN', help: 'block shape for --structure block (default 1x8)' },
    'prune-schedule': { type: 'string', value: 'NAME', choices: ['polynomial', 'oneshot'], help: 'polynomial (default), oneshot' },
    scope: { type: 'string', value: 'NAME', choices: ['global', 'layer'], help: 'global (default for unstructured / block), layer' },
    'initial-sparsity': num('polynomial schedule (TF-MOT PolynomialDecay): sparsity at --prune-begin (default 0)'),
    'prune-begin': num('first pruning step (default 0)', true),
    'prune-end': num('step at which the sparsity is reached (default 2/3 of the steps)', true),
    'prune-frequency': num('steps between mask updates (default (prune-end − prune-begin) / 10)', true),
    'prune-layers': { type: 'string', value: 'A,B', help: 'only these layers' },
    'prune-exclude': { type: 'string', value: 'A,B', help: 'not these layers' },
  },
  lowrank: {
    rank: { type: 'string', value: 'R', help: 'rank (or NAME=R,NAME=R per layer)' },
    energy: num('smallest rank keeping this fraction of Σσ²'),
    compression: num('per-layer weight compression ratio'),
    layers: { type: 'string', value: 'A,B', help: "layers to factorise (names as in the model, e.g. 7 = refcnn's 1600→128 linear)" },
    conv: { type: 'string', value: 'MODE', choices: ['channel', 'spatial'], help: 'conv factorisation: channel (default: kh×kw conv to r channels + 1×1 conv) or\nspatial (kh×1 conv to r channels + 1×kw conv)' },
  },
};
type Term = keyof typeof TERM_FLAGS;

/** The terms each method uses; a flag of another term is refused. */
const USES: Record<CompressMethod, Term[]> = {
  ptq: ['ptq'], qat: ['qat'], prune: ['prune', 'ptq'], lowrank: ['lowrank', 'ptq'], distill: ['distill', 'ptq'], joint: ['distill', 'qat', 'prune', 'lowrank'],
};

/** Library option name → flag ('prune.beginStep' → '--prune-begin'). */
export const LIBRARY_FLAGS: Record<string, string> = {
  'prune.sparsity': 'sparsity', 'prune.structure': 'structure', 'prune.schedule': 'prune-schedule', 'prune.scope': 'scope', 'prune.initialSparsity': 'initial-sparsity',
  'prune.beginStep': 'prune-begin', 'prune.endStep': 'prune-end', 'prune.frequency': 'prune-frequency', 'prune.nm': 'nm', 'prune.block': 'block',
  'prune.layers': 'prune-layers', 'prune.exclude': 'prune-exclude', 'ptq.method': 'calib', 'ptq.percentile': 'percentile', 'ptq.batches': 'calib-batches',
  'qat.qerrWeight': 'qerr-weight', 'qat.freezeObserversAt': 'freeze-observers-at', 'qat.freezeBnAt': 'freeze-bn-at', 'distill.alpha': 'alpha',
  'distill.temperature': 'temperature', 'distill.hint': 'hint', 'lowrank.rank': 'rank', 'lowrank.energy': 'energy', 'lowrank.compression': 'compression',
  'lowrank.layers': 'layers', 'lowrank.conv': 'conv', epochs: 'epochs', batchSize: 'batch', lr: 'lr', lrSchedule: 'schedule', seed: 'seed',
  maxSteps: 'max-steps', taskWeight: 'task-weight', shift: 'shift', structure: 'structure', schedule: 'prune-schedule',
};

/**
 * A library validation error in flag words (a UsageError), or null when the message names no option.
 * 
 */
export function libraryError(e: unknown): UsageError | null {
  if (!(e instanceof Error)) return null;
  let hit = false;
  const names = Object.keys(LIBRARY_FLAGS).sort((a, b) => b.length - a.length);
  let msg = e.message;
  const flag = (n: string) => (_m: string, v: string | undefined) => { hit = true; return `--${LIBRARY_FLAGS[n]}${v !== undefined ? ` ${v}` : ''}`; };
  for (const n of names) {
    const name = `(?<![\\w.-])${n.replace('.', '\\.')}\\b`;
    // dotted names anywhere; plain ones as the subject, or anywhere with a quoted value ("structure 'nm'")
    if (n.includes('.')) msg = msg.replace(new RegExp(`${name}(?: '([^']*)')?`, 'g'), flag(n));
    else msg = msg.replace(new RegExp(`^${name}(?: '([^']*)')?`), flag(n)).replace(new RegExp(`${name} '([^']*)'`, 'g'), flag(n));
  }
  return hit ? new UsageError(msg) : null;
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

function pair(flag: string, v: string, sep: RegExp): [number, number] {
  const p = v.split(sep).map(Number);
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x > 0)) throw new UsageError(`--${flag} must look like ${flag === 'nm' ? '2:4' : '1x8'}, got '${v}'`);
  return [p[0], p[1]];
}

function hints(v: string): HintSpec[] {
  return v.split(',').map((h) => {
    const p = h.split(':');
    if (p.length < 2 || p.length > 3 || !p[0] || !p[1]) throw new UsageError(`--hint must be STUDENT:TEACHER[:WEIGHT] (module names), got '${h}'`);
    const weight = p[2] === undefined ? undefined : Number(p[2]);
    if (weight !== undefined && !Number.isFinite(weight)) throw new UsageError(`--hint weight must be a number, got '${p[2]}'`);
    return { student: p[0], teacher: p[1], ...(weight !== undefined ? { weight } : {}) };
  });
}

function rankOf(v: string): number | Record<string, number> {
  const one = (r: string) => { const x = Number(r); if (!Number.isInteger(x)) throw new UsageError(`--rank must be R or NAME=R,NAME=R (integers), got '${v}'`); return x; };
  if (!v.includes('=')) return one(v);
  const out: Record<string, number> = {};
  for (const kv of v.split(',')) {
    const [k, r] = kv.split('=');
    if (!k || r === undefined) throw new UsageError(`--rank must be R or NAME=R,NAME=R, got '${v}'`);
    out[k] = one(r);
  }
  return out;
}

/** The method (required) and the checks that are the CLI's own: flags of unused terms, each method's must-have flag. */
export function methodOf(args: Args): CompressMethod {
  const method = args.str('method') as CompressMethod | undefined;
  if (!method) throw new UsageError(`--method is required (one of ${COMPRESS_METHODS.join(', ')})`);
  if (!COMPRESS_METHODS.includes(method)) throw new UsageError(`--method: unknown method '${method}' (one of ${COMPRESS_METHODS.join(', ')})`);
  for (const [term, flags] of Object.entries(TERM_FLAGS) as [Term, FlagTable][]) {
    if (USES[method].includes(term)) continue;
    for (const n of Object.keys(flags)) if (args.has(n)) throw new UsageError(`--${n} is not used by --method ${method}${method === 'joint' ? '' : ' (use --method joint to combine terms)'}`);
  }
  if (method === 'prune' && !args.has('sparsity') && args.str('structure') !== 'nm') throw new UsageError('--method prune needs --sparsity X (or --structure nm)');
  if (method === 'lowrank' && !['rank', 'energy', 'compression'].some((f) => args.has(f))) throw new UsageError('--method lowrank needs --rank, --energy or --compression');
  if (method === 'distill' && !args.has('teacher')) throw new UsageError('--method distill needs --teacher FILE');
  if (args.str('calib') === 'dynamic' && args.has('out')) throw new UsageError('--out writes an all-int8 .qwm; --calib dynamic is weight-only (f32 activations) and has none (use --calib minmax or percentile)');
  return method;
}

/** Only the options whose flags were given (the library fills in its defaults). */
function given<T extends object>(args: Args, map: Record<string, [keyof T, (v: string) => unknown]>): T {
  const o: Record<string, unknown> = {};
  for (const [flag, [key, conv]] of Object.entries(map)) { const v = args.str(flag); if (v !== undefined) o[key as string] = conv(v); }
  return o as T;
}

/** compressModel options from the flags (without data, teacher, evaluation and conversion, which run() adds). */
export function compressOptions(args: Args, method: CompressMethod): CompressOptions | WeightOnlyCompressOptions {
  const N = Number, S = (v: string) => v;
  const uses = (t: Term) => USES[method].includes(t) && Object.keys(TERM_FLAGS[t]).some((n) => args.has(n));
  const opts: CompressOptions = {
    method, epochs: args.num('epochs', method === 'ptq' ? 0 : 1), batchSize: args.num('batch', 64), lrSchedule: args.str('schedule', 'cosine') as 'cosine', seed: args.num('seed', 1),
    ...given<Partial<CompressOptions>>(args, { lr: ['lr', N], shift: ['shift', N], 'max-steps': ['maxSteps', N], 'task-weight': ['taskWeight', N] }),
  };
  if (USES[method].includes('distill')) opts.distill = given(args, { alpha: ['alpha', N], temperature: ['temperature', N], hint: ['hint', hints] });
  if (uses('qat')) {
    opts.qat = given(args, { 'qerr-weight': ['qerrWeight', N], 'freeze-observers-at': ['freezeObserversAt', N], 'freeze-bn-at': ['freezeBnAt', N] });
    if (args.bool('lsq')) opts.qat.options = { lsq: true };
  }
  if (uses('prune')) {
    opts.prune = given<PruneTerm>(args, {
      sparsity: ['sparsity', N], structure: ['structure', S], nm: ['nm', (v) => pair('nm', v, /:/)], block: ['block', (v) => pair('block', v, /x/i)],
      'prune-schedule': ['schedule', S], scope: ['scope', S], 'initial-sparsity': ['initialSparsity', N], 'prune-begin': ['beginStep', N],
      'prune-end': ['endStep', N], 'prune-frequency': ['frequency', N], 'prune-layers': ['layers', list], 'prune-exclude': ['exclude', list],
    });
  }
  if (uses('lowrank')) opts.lowrank = given(args, { rank: ['rank', rankOf], energy: ['energy', N], compression: ['compression', N], layers: ['layers', list], conv: ['conv', S] });
  if (uses('ptq') || USES[method].includes('ptq') && args.has('calib')) {
    opts.ptq = { method: args.str('calib', 'minmax') as 'minmax', ...given(args, { percentile: ['percentile', N], 'calib-batches': ['batches', N] }) };
  }
  return opts;
}
