// Files as the CLI sees them: outputs are checked before any work starts (a missing folder, a folder given as
// a file, an unwritable place → one line naming the flag and the path), inputs are read with a clear error and
// sniffed, so a checkpoint given where a .qwm is expected (or the reverse) says which command takes which file.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { CHECKPOINT_MAGIC } from '../checkpoint/index.js';
import { isQwm } from '../deploy/qwm.js';
import { QwasmError } from '../errors.js';

const statOf = (p: string) => { try { return statSync(p); } catch { return null; } };
const writable = (p: string) => { try { accessSync(p, constants.W_OK); return true; } catch { return false; } };

/**
 * Checks that `file` (the value of `flag`) can be written: its folder exists and is writable, and the file
 * itself is not a folder. With `exts`, the file name must end with one of them (e.g. export's format).
 */
export function checkOutputFile(flag: string, file: string): void {
  const st = statOf(file);
  if (st?.isDirectory()) throw new QwasmError(`${flag} ${file}: is a directory; give a file name (e.g. ${file.replace(/\/$/, '')}/model.qck)`);
  const dir = dirname(resolve(file)), ds = statOf(dir);
  if (!ds) throw new QwasmError(`${flag} ${file}: the directory ${dir} does not exist`);
  if (!ds.isDirectory()) throw new QwasmError(`${flag} ${file}: ${dir} is not a directory`);
  if (!writable(dir)) throw new QwasmError(`${flag} ${file}: the directory ${dir} is not writable`);
  if (st && !writable(file)) throw new QwasmError(`${flag} ${file}: the file exists and is not writable`);
}

/** Checks that a report directory can be created or written (missing parents are created by the writer). */
export function checkOutputDir(flag: string, dir: string): void {
  let p = resolve(dir);
  for (;;) {
    const st = statOf(p);
    if (st) {
      if (!st.isDirectory()) throw new QwasmError(`${flag} ${dir}: ${p} is a file, not a directory`);
      if (!writable(p)) throw new QwasmError(`${flag} ${dir}: the directory ${p} is not writable`);
      return;
    }
    const up = dirname(p);
    if (up === p) return;
    p = up;
  }
}

export type FileKind = 'checkpoint' | 'qwm' | 'other';

export function sniff(bytes: Uint8Array): FileKind {
  if (bytes.length >= CHECKPOINT_MAGIC.length && CHECKPOINT_MAGIC.every((b, i) => bytes[i] === b)) return 'checkpoint';
  return isQwm(bytes) ? 'qwm' : 'other';
}

const TAKES: Record<Exclude<FileKind, 'other'>, string> = {
  checkpoint: "a float checkpoint (.qck): 'qwasm eval', 'qwasm compress', 'qwasm export' and 'train --resume' take it",
  qwm: "an int8 model (.qwm): 'qwasm run' and 'qwasm info' take it ('qwasm export' re-exports it)",
};

/** Reads an input file; one line naming the flag (or argument) and the file when it cannot. */
export function readInput(what: string, file: string): Uint8Array {
  try { return readFileSync(file); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new QwasmError(`${what} ${file}: cannot read (${code ?? (e as Error).message})`);
  }
}

/** Refuses a file of the wrong kind for this command with a line saying which command takes it. */
export function expectKind(command: string, file: string, bytes: Uint8Array, want: readonly FileKind[]): FileKind {
  const kind = sniff(bytes);
  if (want.includes(kind)) return kind;
  const takes = want.filter((k) => k !== 'other').map((k) => (k === 'checkpoint' ? 'a checkpoint (.qck)' : 'a .qwm model'));
  if (kind !== 'other') throw new QwasmError(`${file} is ${TAKES[kind]}; 'qwasm ${command}' takes ${takes.length ? takes.join(' or ') : 'an ONNX model'}`);
  return kind;
}

/** A file's extension in lower case ('' when none). */
export const extOf = (file: string): string => extname(file).toLowerCase();
