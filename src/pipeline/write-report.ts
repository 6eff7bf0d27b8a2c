// Writes a pipeline result as report.md, report.html and report.json into a directory (created if needed; each
// file written to a temporary name and renamed, so a reader never sees half a report).
import { fs, path } from '../util/node.js';
import { packageRoot } from './defaults.js';
import { renderMarkdown, type ReportMeta } from './report-md.js';
import { renderHtml } from './report-html.js';
import type { PipelineResult } from './run.js';

/** The package version and, in a git checkout, the commit (read from .git without running git). */
export function buildInfo(): { version: string; commit: string | null } {
  const root = packageRoot();
  let version = 'unknown', commit: string | null = null;
  try { version = (JSON.parse(fs().readFileSync(path().join(root, 'package.json'), 'utf8')) as { version: string }).version; } catch { /* not in a package */ }
  try {
    const head = fs().readFileSync(path().join(root, '.git', 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) commit = head;
    else if (head.startsWith('ref: ')) {
      const ref = head.slice(5);
      const loose = path().join(root, '.git', ref);
      if (fs().existsSync(loose)) commit = fs().readFileSync(loose, 'utf8').trim();
      else {
        const packed = fs().readFileSync(path().join(root, '.git', 'packed-refs'), 'utf8');
        commit = packed.split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0] ?? null;
      }
    }
  } catch { /* not a git checkout */ }
  return { version, commit };
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs().writeFileSync(tmp, text);
  fs().renameSync(tmp, file);
}

/** The JSON report: the result plus how it was made. */
export function reportJson(r: PipelineResult, meta: ReportMeta): Record<string, unknown> {
  return { qwasm: meta.version, commit: meta.commit, command: meta.command, ...r };
}

export function writeReport(dir: string, r: PipelineResult, meta: ReportMeta): { markdown: string; html: string; json: string } {
  fs().mkdirSync(dir, { recursive: true });
  const out = { markdown: path().join(dir, 'report.md'), html: path().join(dir, 'report.html'), json: path().join(dir, 'report.json') };
  writeAtomic(out.markdown, renderMarkdown(r, meta));
  writeAtomic(out.html, renderHtml(r, meta));
  writeAtomic(out.json, `${JSON.stringify(reportJson(r, meta), null, 1)}\n`);
  return out;
}
