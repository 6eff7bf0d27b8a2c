// Spawning the real bin (bin/qwasm.js) for the CLI tests: sync for quick calls, async when a test must watch
// the output while the process runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));

/** Runs `qwasm ...args` to completion: { status, stdout, stderr }. */
export const cli = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

/** Starts `qwasm ...args`; onStderr(text so far, child) is called on every stderr chunk. Resolves at exit. */
export function cliWatch(args, onStderr) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args]);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; onStderr?.(err, child); });
    child.on('close', (status, signal) => resolve({ status, signal, stdout: out, stderr: err }));
  });
}

export const tmp = (name) => mkdtempSync(join(tmpdir(), `qwasm-${name}-`));

/** A folder dataset of 28×28 grey PGM images: classes → number of images (a class with 0 gets an empty folder). */
export function pgmFolder(dir, classes, size = 28) {
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; };
  for (const [cls, n] of Object.entries(classes)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const s = typeof size === 'function' ? size(cls, i) : size;
      const px = Buffer.alloc(s * s);
      const c = cls.charCodeAt(cls.length - 1) * 13 % 256;
      for (let k = 0; k < px.length; k++) px[k] = (c + rnd() % 40) & 255;
      writeFileSync(join(dir, cls, `${i}.pgm`), Buffer.concat([Buffer.from(`P5 ${s} ${s} 255\n`), px]));
    }
  }
  return dir;
}

/** The last line of a command's stderr that is not the '--help' pointer. */
export const message = (r) => r.stderr.trim().split('\n').filter((l) => !/^run 'qwasm/.test(l)).pop() ?? '';
