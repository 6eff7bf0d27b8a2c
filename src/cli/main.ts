// The `qwasm` command line (bin/qwasm.js → main()). Subcommands live in a table, one module each under
// src/cli/, loaded only when used; add a command by adding one line to COMMANDS.
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';

export interface Command {
  /** One line for `qwasm --help`. */
  summary: string;
  /** Full help text (`qwasm CMD --help`). */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, () => Promise<Command>> = {
  bench: async () => (await import('./bench.js')).command,
  train: async () => (await import('./train.js')).command,
  eval: async () => (await import('./eval.js')).command,
  pretrain: async () => (await import('./pretrain.js')).command,
  export: async () => (await import('./export.js')).command,
  run: async () => (await import('./run.js')).command,
  info: async () => (await import('./info.js')).command,
  import: async () => (await import('./import.js')).command,
  pipeline: async () => (await import('./pipeline.js')).command,
  compress: async () => (await import('./compress.js')).command,
  adapt: async () => (await import('./adapt.js')).command,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function help(): Promise<string> {
  const lines = ['usage: qwasm <command> [flags]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${(await load()).summary}`);
  lines.push('', 'flags:', '  --help, -h     this help (qwasm <command> --help for a command\'s flags)', '  --version, -v  print the version');
  return lines.join('\n');
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      if (first === 'help' && rest[0]) {
        const load = COMMANDS[rest[0]];
        if (!load) throw new UsageError(`unknown command '${rest[0]}'`);
        console.log((await load()).usage);
        return 0;
      }
      console.log(await help());
      return first === undefined ? 2 : 0;
    }
    if (first === '--version' || first === '-v') { console.log(version()); return 0; }
    if (first.startsWith('-')) throw new UsageError(`unknown flag '${first}'`);
    const load = COMMANDS[first];
    if (!load) throw new UsageError(`unknown command '${first}' (one of ${Object.keys(COMMANDS).join(', ')})`);
    return await (await load()).run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`qwasm: ${e.message}\nrun 'qwasm --help' for usage`);
      return 2;
    }
    console.error(`qwasm: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
