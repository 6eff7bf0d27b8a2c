// Flag parsing for the CLI: `--name value`, `--name=value` and boolean `--name`, against a declared table,
// so an unknown or malformed flag is a UsageError (exit code 2) instead of being silently ignored.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagKind = 'string' | 'boolean';
export type FlagTable = Record<string, FlagKind>;
export type Parsed = { flags: Record<string, string | boolean>; positional: string[] };

export function parseArgs(argv: readonly string[], table: FlagTable): Parsed {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = (eq >= 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
      const kind = table[name];
      if (!kind) throw new UsageError(`unknown flag '${eq >= 0 ? a.slice(0, eq) : a}'`);
      if (kind === 'boolean') {
        if (eq >= 0) throw new UsageError(`flag --${name} takes no value`);
        flags[name] = true;
      } else {
        let v: string | undefined;
        if (eq >= 0) v = a.slice(eq + 1);
        else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) v = argv[++i];
        if (v === undefined || v === '') throw new UsageError(`flag --${name} needs a value`);
        flags[name] = v;
      }
    } else positional.push(a);
  }
  return { flags, positional };
}
