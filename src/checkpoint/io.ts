// Checkpoint files: atomic save (atomic.ts: temporary file in the same folder, fsync, rename, fsync the folder),
// so a crash or error mid-save leaves the previous checkpoint intact; load validates everything (format.ts).
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type LoadedCheckpoint } from './format.js';
import { writeFileAtomic, type SaveOptions } from './atomic.js';
import { fs } from '../util/node.js';

export type { SaveOptions };

/** Writes `ckpt` to `file` atomically. Returns the number of bytes written. */
export function saveCheckpoint(file: string, ckpt: Checkpoint, opts: SaveOptions = {}): number {
  return writeFileAtomic(file, encodeCheckpoint(ckpt), opts);
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
