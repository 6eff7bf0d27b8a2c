// `qwasm bench`: micro-benchmarks one of our kernels at one shape in one (or every) build and prints GOPS.
import { init } from '../index.js';
import { BUILDS, detect, type BuildName } from '../runtime.js';
import { parseArgs, UsageError } from './args.js';
import { KERNELS, ShapeError, timeCase } from './kernels.js';
import type { Command } from './main.js';

const usage = `usage: qwasm bench [--kernel NAME] [--shape SHAPE] [--build NAME|all] [--time SECONDS] [--json]

Micro-benchmarks one qwasm kernel, single thread, weights packed outside the timing.
  --kernel NAME    ${Object.keys(KERNELS).join(', ')} (default gemm_s8)
  --shape SHAPE    MxKxN for GEMM-like kernels (default 256x256x256); NxHxWxC[:OCxKHxKW] for conv_s8
  --build NAME     auto (default), scalar, simd, relaxed, or all (every build this engine runs)
  --time SECONDS   measuring time per build (default 1)
  --json           print one JSON object instead of text
  --list           list the kernels and their shape syntax

GOPS = 2 × multiply-accumulates per second of the dense problem (sparse / low-rank: dense-equivalent).`;

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    kernel: 'string', shape: 'string', build: 'string', time: 'string', json: 'boolean', list: 'boolean', help: 'boolean', h: 'boolean',
  });
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  if (flags.list) {
    for (const [name, k] of Object.entries(KERNELS)) console.log(`${name.padEnd(16)} ${k.syntax.padEnd(20)} ${k.about}`);
    return 0;
  }
  const kernel = (flags.kernel as string | undefined) ?? 'gemm_s8';
  const spec = KERNELS[kernel];
  if (!spec) throw new UsageError(`unknown kernel '${kernel}' (one of ${Object.keys(KERNELS).join(', ')})`);
  const shape = (flags.shape as string | undefined) ?? spec.defaultShape;
  const seconds = flags.time === undefined ? 1 : Number(flags.time);
  if (!(seconds > 0 && seconds <= 600)) throw new UsageError(`--time must be a number of seconds in (0, 600], got '${flags.time}'`);
  const want = (flags.build as string | undefined) ?? 'auto';
  let builds: ('auto' | BuildName)[];
  if (want === 'all') {
    const s = await detect();
    builds = ['scalar', ...(s.simd ? ['simd' as const] : []), ...(s.relaxed ? ['relaxed' as const] : [])];
  } else if (want === 'auto' || (BUILDS as readonly string[]).includes(want)) builds = [want as 'auto' | BuildName];
  else throw new UsageError(`--build must be auto, all, ${BUILDS.join(', ')}; got '${want}'`);

  const results = [];
  for (const b of builds) {
    const q = await init({ build: b });
    let c;
    try {
      c = spec.make(q, shape);
    } catch (e) {
      if (e instanceof ShapeError) throw new UsageError(e.message);
      throw e;
    }
    if (!c) throw new Error(`kernel '${kernel}' is not available in this version of qwasm`);
    try {
      const t = timeCase(c, seconds);
      const r = {
        kernel: c.kernel, shape: c.shape, build: q.build, ops: c.ops,
        gops: +(c.ops / t.median / 1e9).toFixed(3), gopsBest: +(c.ops / t.best / 1e9).toFixed(3),
        msPerCall: +(t.median * 1e3).toFixed(4), calls: t.calls,
      };
      results.push(r);
      if (!flags.json) {
        console.log(`${r.kernel.padEnd(16)} ${r.shape.padEnd(18)} ${r.build.padEnd(8)} ${r.gops.toFixed(2).padStart(8)} GOPS` +
          `  (best ${r.gopsBest.toFixed(2)}, ${r.msPerCall} ms/call)`);
      }
    } finally {
      c.dispose();
    }
  }
  if (flags.json) {
    console.log(JSON.stringify({ node: process.version, results: results }, null, 2));
  }
  return 0;
}

export const command: Command = { summary: 'micro-benchmark one kernel (GOPS)', usage, run };
