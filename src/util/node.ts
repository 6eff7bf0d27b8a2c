// Synchronous access to Node's built-in modules without a static `import` (dist/index.js is also loaded by
// browsers, which cannot resolve `node:*`): process.getBuiltinModule exists from Node 20.16 / 22.3 on.
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as Zlib from 'node:zlib';
import type * as Module from 'node:module';
import { QwasmError } from '../errors.js';

type Builtins = { 'node:fs': typeof Fs; 'node:path': typeof Path; 'node:zlib': typeof Zlib; 'node:module': typeof Module };

export function builtin<K extends keyof Builtins>(name: K): Builtins[K] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(name);
  if (!mod) throw new QwasmError(`${name} is needed here: this function runs only in Node.js (>= 20.16)`);
  return mod as Builtins[K];
}

export const fs = () => builtin('node:fs');
export const path = () => builtin('node:path');
export const zlib = () => builtin('node:zlib');

/** Bytes of a file, gunzipped when it starts with the gzip magic (1f 8b). `maxBytes` bounds the inflated size. */
export function readMaybeGz(file: string, maxBytes = 2 ** 31 - 1): Uint8Array {
  const raw = fs().readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib().gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch (e) {
      throw new QwasmError(`${file}: cannot gunzip (${(e as Error).message})`);
    }
  }
  return raw;
}

/** Directory of an installed npm package, or null. */
export function packageDir(pkg: string): string | null {
  const req = builtin('node:module').createRequire(import.meta.url);
  try {
    return path().dirname(req.resolve(`${pkg}/package.json`));
  } catch {
    // a package whose "exports" map hides package.json (nsfwjs): look in the node_modules folders Node searches
    for (const dir of req.resolve.paths(pkg) ?? []) if (exists(path().join(dir, pkg, 'package.json'))) return path().join(dir, pkg);
    return null;
  }
}

export function exists(p: string): boolean {
  try { fs().statSync(p); return true; } catch { return false; }
}

/** An environment variable (undefined outside Node). */
export function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}
