#!/usr/bin/env node
// qwasm command line: subcommands are dispatched by dist/cli/main.js (sources in src/cli/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
