// `qwasm bench`: micro-benchmarks one of our kernels at one shape in one (or every) build and prints GOPS.
import { init } from '../index.js';
import { BUILDS, detect, type BuildName } from '../runtime.js';
import { FLAGS, UsageError, type Args, type CommandSpec } from './args.js';
import { KERNELS, ShapeError, timeCase } from './kernels.js';
import type { Command } from './main.js';

const spec: CommandSpec = {
  name: 'bench',
  summary: 'micro-benchmark one kernel (GOPS)',
  synopsis: ['qwasm bench [--kernel NAME] [--shape SHAPE] [--build NAME|all] [--time SECONDS] [--json]'],
  about: 'Micro-benchmarks one qwasm kernel, single thread, weights packed outside the timing.',
  sections: [['', {
    kernel: { type: 'string', value: 'NAME', help: `${Object.keys(KERNELS).join(', ')} (default gemm_s8)` },
    shape: { type: 'string', value: 'SHAPE', help: 'MxKxN for GEMM-like kernels (default 256x256x256); NxHxWxC[:OCxKHxKW] for conv_s8' },
    build: { ...FLAGS.build, value: 'NAME|all', help: 'auto (default), scalar, simd, relaxed, or all (every build this engine runs)', choices: [...(FLAGS.build.choices ?? []), 'all'] },
    threads: FLAGS.threads,
    time: { type: 'string', value: 'SECONDS', help: 'measuring time per build (default 1)', num: { above: 0, max: 600 } },
    json: FLAGS.json,
    list: { type: 'boolean', help: 'list the kernels and their shape syntax' },
  }]],
  footer: 'GOPS = 2 × multiply-accumulates per second of the dense problem (sparse / low-rank: dense-equivalent).',
};

async function run(args: Args): Promise<number> {
  if (args.bool('list')) {
    for (const [name, k] of Object.entries(KERNELS)) console.log(`${name.padEnd(16)} ${k.syntax.padEnd(20)} ${k.about}`);
    return 0;
  }
  const kernel = args.str('kernel', 'gemm_s8');
  const k = KERNELS[kernel];
  if (!k) throw new UsageError(`unknown kernel '${kernel}' (one of ${Object.keys(KERNELS).join(', ')})`);
  const shape = args.str('shape', k.defaultShape);
  const seconds = args.num('time', 1);
  const threads = args.num('threads');
  const want = args.str('build', 'auto');
  let builds: ('auto' | BuildName)[];
  if (want === 'all') {
    const s = await detect();
    builds = ['scalar', ...(s.simd ? ['simd' as const] : []), ...(s.relaxed ? ['relaxed' as const] : [])];
  } else if (want === 'auto' || (BUILDS as readonly string[]).includes(want)) builds = [want as 'auto' | BuildName];
  else throw new UsageError(`--build must be auto, all, ${BUILDS.join(', ')}; got '${want}'`);

  const results = [];
  for (const b of builds) {
    const q = await init({ build: b, threads });
    let c;
    try {
      c = k.make(q, shape);
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
      if (!args.bool('json')) {
        console.log(`${r.kernel.padEnd(16)} ${r.shape.padEnd(18)} ${r.build.padEnd(8)} ${r.gops.toFixed(2).padStart(8)} GOPS` +
          `  (best ${r.gopsBest.toFixed(2)}, ${r.msPerCall} ms/call)`);
      }
    } finally {
      c.dispose();
    }
  }
  if (args.bool('json')) {
    console.log(JSON.stringify({ node: process.version, results: results }, null, 2));
  }
  return 0;
}

export const command: Command = { spec, run };
