// Atomic file writes: the bytes go to a temporary file of our own naming beside the target
// (`.<name>.<pid>.<random>.qwasm-tmp`), are fsynced, then renamed over the target, and the folder is fsynced;
// a crash or error mid-write leaves the previous file intact. A process killed mid-write (SIGKILL) cannot
// remove its temporary file, so every write first removes stale ones of the same target: those whose
// writer process is gone.
import { fs, path } from '../util/node.js';

export interface SaveOptions {
  /** Called after the temporary file is written and fsynced, before the rename (tests use it to simulate a crash). */
  beforeRename?: (tmpPath: string) => void;
}

const SUFFIX = '.qwasm-tmp';
const proc = () => (globalThis as { process?: { pid?: number; kill?: (pid: number, sig: number) => void } }).process;

/** Temporary-file name for `file` written by process `pid`. */
export function tempName(file: string, pid = proc()?.pid ?? 0): string {
  const p = path();
  return p.join(p.dirname(p.resolve(file)), `.${p.basename(file)}.${pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}${SUFFIX}`);
}

function alive(pid: number): boolean {
  if (pid === proc()?.pid) return true;
  try { proc()?.kill?.(pid, 0); return true; } catch (e) { return (e as { code?: string }).code === 'EPERM'; }
}

/** Removes temporary files of `file` left by writers that no longer run; returns their paths. */
export function removeStaleTemps(file: string): string[] {
  const f = fs(), p = path();
  const dir = p.dirname(p.resolve(file)), base = `.${p.basename(file)}.`;
  let names: string[];
  try { names = f.readdirSync(dir); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    if (!n.startsWith(base) || !n.endsWith(SUFFIX)) continue;
    const m = /^(\d+)\.[0-9a-z]+$/.exec(n.slice(base.length, -SUFFIX.length));
    if (!m || alive(Number(m[1]))) continue;
    try { f.unlinkSync(p.join(dir, n)); removed.push(p.join(dir, n)); } catch { /* raced with another cleaner */ }
  }
  return removed;
}

/** Writes `bytes` to `file` atomically; returns the number of bytes written. */
export function writeFileAtomic(file: string, bytes: Uint8Array, opts: SaveOptions = {}): number {
  const f = fs(), p = path();
  removeStaleTemps(file);
  const tmp = tempName(file);
  let fd: number | null = null;
  try {
    fd = f.openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += f.writeSync(fd, bytes, off, bytes.length - off);
    f.fsyncSync(fd);
    f.closeSync(fd);
    fd = null;
    opts.beforeRename?.(tmp);
    f.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) try { f.closeSync(fd); } catch { /* already failing */ }
    try { f.unlinkSync(tmp); } catch { /* never created or already renamed */ }
    throw e;
  }
  // Make the rename itself durable (not supported on every platform: best effort).
  try { const d = f.openSync(p.dirname(p.resolve(file)), 'r'); try { f.fsyncSync(d); } finally { f.closeSync(d); } } catch { /* e.g. Windows */ }
  return bytes.length;
}
