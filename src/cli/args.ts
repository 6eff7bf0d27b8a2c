// The CLI's one flag vocabulary: every flag is declared once (FLAGS below for the ones several commands share,
// a command's own table for the rest) with its type, value name, numeric range and help line. Parsing is
// Node's util.parseArgs; each command's --help and docs/CLI.md are generated from the same declarations,
// and numbers are checked by one parser whose messages name the flag.
import { parseArgs as nodeParseArgs } from 'node:util';

/** A usage error: exit code 2, and the message ends with a pointer to the command's --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Numeric constraints of a flag, checked when it is read (the message names the flag). */
export interface NumSpec { int?: boolean; min?: number; max?: number; /** exclusive lower bound */ above?: number; /** exclusive upper bound */ below?: number }

export interface FlagDef {
  type: 'string' | 'boolean';
  short?: string;
  /** Value placeholder in the help (e.g. N, FILE). */
  value?: string;
  help: string;
  num?: NumSpec;
  /** Allowed values (strings). */
  choices?: readonly string[];
}

export type FlagTable = Record<string, FlagDef>;

const int = (min: number, max?: number): NumSpec => ({ int: true, min, ...(max !== undefined ? { max } : {}) });

/** Flags shared by several commands: same name, same meaning, same checks everywhere. */
export const FLAGS = {
  help: { type: 'boolean', short: 'h', help: 'this help' },
  build: { type: 'string', value: 'NAME', help: 'WASM build: auto (default), scalar, simd, relaxed', choices: ['auto', 'scalar', 'simd', 'relaxed'] },
  threads: { type: 'string', value: 'N', help: 'threads for batch-parallel int8 inference and data-parallel training\n(default: every core, or env QWASM_THREADS; 1 = one thread)', num: int(1, 256) },
  json: { type: 'boolean', help: 'print one JSON object on stdout' },
  quiet: { type: 'boolean', help: 'no progress output' },
  out: { type: 'string', short: 'o', value: 'FILE', help: 'the file to write (atomic; checked before any work)' },
  data: { type: 'string', value: 'NAME', help: 'mnist, fashion-mnist, quickdraw, digits, or a folder (IDX files or class sub-folders)' },
  model: { type: 'string', value: 'FILE', help: 'a checkpoint (.qck) written by train / compress / import' },
  limit: { type: 'string', value: 'N', help: 'use only the first N examples (N ≥ 1)', num: int(1) },
  seed: { type: 'string', value: 'N', help: 'random seed (default 1; same seed and build → same result)', num: int(0) },
  batch: { type: 'string', value: 'N', help: 'batch size (default 64)', num: int(2, 65536) },
  epochs: { type: 'string', value: 'N', help: 'epochs (default 1)', num: int(1, 100000) },
  lr: { type: 'string', value: 'X', help: 'learning rate (default 1e-3)', num: { above: 0 } },
  schedule: { type: 'string', value: 'NAME', help: 'learning-rate schedule: constant (default), step, cosine', choices: ['constant', 'step', 'cosine'] },
  shift: { type: 'string', value: 'N', help: 'random shifts of ±N pixels (augmentation)', num: int(0, 64) },
  'max-steps': { type: 'string', value: 'N', help: 'stop after N optimiser steps', num: int(1) },
  teacher: { type: 'string', value: 'FILE', help: 'teacher checkpoint (distillation)' },
  alpha: { type: 'string', value: 'X', help: 'distillation weight of the soft targets in [0, 1] (default 0.5)', num: { min: 0, max: 1 } },
  temperature: { type: 'string', value: 'X', help: 'distillation temperature (default 4)', num: { above: 0 } },
  sparsity: { type: 'string', value: 'X', help: 'target sparsity in (0, 1)', num: { min: 0, below: 1 } },
} satisfies FlagTable;

export type SharedFlag = keyof typeof FLAGS;

/** A shared flag with a command-specific help line (same name, type and checks). */
export const flag = (name: SharedFlag, help?: string): FlagDef => (help ? { ...FLAGS[name], help } : FLAGS[name]);

/** Picks shared flags by name (their shared help lines). */
export function shared(...names: SharedFlag[]): FlagTable {
  return Object.fromEntries(names.map((n) => [n, FLAGS[n]]));
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage lines after 'usage: ' (e.g. 'qwasm eval --model FILE --data NAME [flags]'). */
  synopsis: string[];
  /** Paragraphs after the usage lines. */
  about?: string;
  /** Flag sections (title '' = no heading), in help order. */
  sections: [title: string, flags: FlagTable][];
  /** Positional arguments allowed (default none). */
  positionals?: boolean;
  /** Text after the flags. */
  footer?: string;
}

export function allFlags(spec: CommandSpec): FlagTable {
  return Object.assign({}, ...spec.sections.map(([, f]) => f), { help: FLAGS.help });
}

/** The --help text of a command, generated from its flag tables. */
export function usageText(spec: CommandSpec): string {
  const lines = spec.synopsis.map((s, i) => `${i ? '       ' : 'usage: '}${s}`);
  if (spec.about) lines.push('', spec.about);
  const rows: [string, string][] = [];
  for (const [title, flags] of [...spec.sections, ['', { help: FLAGS.help }] as [string, FlagTable]]) {
    if (title) rows.push([` ${title}`, '']);
    for (const [name, d] of Object.entries(flags)) rows.push([`  ${d.short ? `-${d.short}, ` : ''}--${name}${d.value ? ` ${d.value}` : ''}`, d.help]);
  }
  const w = Math.min(28, Math.max(...rows.map(([l, h]) => (h ? l.length : 0)))) + 2;
  lines.push('', 'flags:');
  for (const [l, h] of rows) {
    if (!h) { lines.push(l); continue; }
    const help = h.split('\n');
    lines.push(l.length >= w ? `${l}\n${' '.repeat(w)}${help[0]}` : `${l.padEnd(w)}${help[0]}`, ...help.slice(1).map((x) => `${' '.repeat(w)}${x}`));
  }
  if (spec.footer) lines.push('', spec.footer);
  return lines.join('\n');
}

export type FlagValues = Record<string, string | boolean | undefined>;

/** Parsed flags with typed, checked readers. */
export class Args {
  constructor(readonly spec: CommandSpec, readonly values: FlagValues, readonly positional: string[]) {}

  has(name: string): boolean { return this.values[name] !== undefined; }
  bool(name: string): boolean { return this.values[name] === true; }
  str(name: string): string | undefined;
  str(name: string, def: string): string;
  str(name: string, def?: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : def;
  }
  /** A required string flag. */
  need(name: string, what = ''): string {
    const v = this.str(name);
    if (v === undefined) throw new UsageError(`--${name}${what ? ` ${what}` : ''} is required`);
    return v;
  }
  /** A numeric flag checked against its table's range (or `spec`); `def` when not given. */
  num(name: string): number | undefined;
  num(name: string, def: number): number;
  num(name: string, def?: number, spec?: NumSpec): number | undefined {
    const v = this.values[name];
    if (v === undefined) return def;
    return parseNumber(`--${name}`, String(v), spec ?? allFlags(this.spec)[name]?.num ?? {});
  }
}

/** The one number parser of the CLI: `what` is the flag as the user typed it. */
export function parseNumber(what: string, v: string, s: NumSpec): number {
  const x = v.trim() === '' ? NaN : Number(v);
  const range = [s.min !== undefined ? `≥ ${s.min}` : s.above !== undefined ? `> ${s.above}` : '', s.max !== undefined ? `≤ ${s.max}` : s.below !== undefined ? `< ${s.below}` : ''].filter(Boolean).join(' and ');
  const kind = `${s.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`;
  const bad = !Number.isFinite(x) || (s.int && !Number.isInteger(x)) || (s.min !== undefined && x < s.min) || (s.max !== undefined && x > s.max)
    || (s.above !== undefined && !(x > s.above)) || (s.below !== undefined && !(x < s.below));
  if (bad) throw new UsageError(`${what} must be ${kind}, got '${v}'`);
  return x;
}

/** A comma-separated list of integers (e.g. --hidden 256,128). */
export function parseIntList(what: string, v: string, s: NumSpec): number[] {
  const parts = v.split(',');
  if (parts.some((p) => p.trim() === '')) throw new UsageError(`${what} must be a comma-separated list of integers, got '${v}'`);
  return parts.map((p) => {
    try { return parseNumber(what, p, s); } catch { throw new UsageError(`${what} must be a comma-separated list of ${s.int ? 'integers' : 'numbers'}${s.min !== undefined ? ` ≥ ${s.min}` : ''}, got '${v}'`); }
  });
}

/** Parses argv against a command's flags with util.parseArgs; unknown, valueless or misplaced flags → UsageError. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Args {
  const table = allFlags(spec);
  const options = Object.fromEntries(Object.entries(table).map(([n, d]) => [n, { type: d.type, ...(d.short ? { short: d.short } : {}) }]));
  // util.parseArgs refuses a value that starts with '-' ("ambiguous"); a negative number after a string flag is
  // a value (e.g. --clip -1, which then fails the flag's own range check with a clear message)
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : a.length === 2 && a[0] === '-' ? Object.keys(table).find((k) => table[k].short === a[1]) : undefined;
    if (name && table[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) { args.push(`${a.startsWith('--') ? a : `--${name}`}=${next}`); i++; } else args.push(a);
  }
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args, options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (e) {
    const err = e as Error & { code?: string };
    const opt = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown flag '${opt}'`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/does not take an argument/.test(err.message)) throw new UsageError(`flag ${opt} takes no value`);
      throw new UsageError(`flag ${opt} needs a value`);
    }
    throw new UsageError(err.message);
  }
  const r = new Args(spec, parsed.values, parsed.positionals);
  if (r.bool('help')) return r;
  if (!spec.positionals && r.positional.length) throw new UsageError(`unexpected argument '${r.positional[0]}'`);
  for (const [n, d] of Object.entries(table)) {
    const v = r.values[n];
    if (typeof v !== 'string') continue;
    if (v === '') throw new UsageError(`flag --${n} needs a value`);
    if (d.choices && !d.choices.includes(v)) throw new UsageError(`--${n} must be ${d.choices.slice(0, -1).join(', ')} or ${d.choices[d.choices.length - 1]}, got '${v}'`);
    if (d.num) r.num(n);
  }
  return r;
}
