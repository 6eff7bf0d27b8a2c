// The `qwasm` command line (bin/qwasm.js → main()). Subcommands live in a table, one module each under
// src/cli/, loaded only when used; add a command by adding one line to COMMANDS. Every command declares its
// flags as a CommandSpec (args.ts): main parses them, prints --help from them, and maps errors to exit codes
// (usage 2, bad input or a runtime failure 1).
import { readFileSync } from 'node:fs';
import { UsageError, parseCommand, usageText, type Args, type CommandSpec } from './args.js';

export interface Command {
  /** Flags, help text and summary (args.ts). */
  spec: CommandSpec;
  /** Runs with the parsed flags (argv: the raw arguments after the command name); resolves to the exit code. */
  run(args: Args, argv: string[]): Promise<number>;
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
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${(await load()).spec.summary}`);
  lines.push('', 'flags:', '  --help, -h     this help (qwasm <command> --help for a command\'s flags)', '  --version, -v  print the version',
    '', 'Every command takes --build NAME and --threads N; the flag vocabulary is in docs/CLI.md.');
  return lines.join('\n');
}

async function load(name: string): Promise<Command> {
  const l = COMMANDS[name];
  if (!l) throw new UsageError(`unknown command '${name}' (one of ${Object.keys(COMMANDS).join(', ')})`);
  return l();
}

/** Runs the CLI; returns the exit code (0 ok, 1 bad input or failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  let current: string | null = null;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      if (first === 'help' && rest[0]) { console.log(usageText((await load(rest[0])).spec)); return 0; }
      console.log(await help());
      return first === undefined ? 2 : 0;
    }
    if (first === '--version' || first === '-v') { console.log(version()); return 0; }
    if (first.startsWith('-')) throw new UsageError(`unknown flag '${first}'`);
    const cmd = await load(first);
    current = first;
    const args = parseCommand(cmd.spec, rest);
    if (args.bool('help')) { console.log(usageText(cmd.spec)); return 0; }
    return await cmd.run(args, rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`qwasm${current ? ` ${current}` : ''}: ${e.message}\nrun 'qwasm ${current ? `${current} ` : ''}--help' for usage`);
      return 2;
    }
    console.error(`qwasm${current ? ` ${current}` : ''}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
