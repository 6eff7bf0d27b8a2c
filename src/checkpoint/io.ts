// Checkpoint files: atomic save (temporary file in the same folder, fsync, rename, fsync the folder), so a
// crash or error mid-save leaves the previous checkpoint intact; load validates everything (format.ts).
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type LoadedCheckpoint } from './format.js';
import { fs, path } from '../util/node.js';

export interface SaveOptions {
  /** Called after the temporary file is written and fsynced, before the rename (tests use it to simulate a crash). */
  beforeRename?: (tmpPath: string) => void;
}

/** Writes `ckpt` to `file` atomically. Returns the number of bytes written. */
export function saveCheckpoint(file: string, ckpt: Checkpoint, opts: SaveOptions = {}): number {
  const bytes = encodeCheckpoint(ckpt);
  const f = fs(), p = path();
  const dir = p.dirname(p.resolve(file));
  const tmp = p.join(dir, `.${p.basename(file)}.${(globalThis as { process?: { pid?: number } }).process?.pid ?? 0}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
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
  try { const d = f.openSync(dir, 'r'); try { f.fsyncSync(d); } finally { f.closeSync(d); } } catch { /* e.g. Windows */ }
  return bytes.length;
}

/** Reads and validates a checkpoint file; throws a CheckpointError for a missing, truncated or corrupt file. */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = fs().readFileSync(file);
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(bytes, file);
}
