// Lists every function in src/ (declarations, methods, constructors, accessors, function expressions, arrows) longer
// than LIMIT lines of code (blank and comment-only lines do not count), and whether the comment block just above it gives a reason (`// long: <why>`, also inside a
// /** … */ block). docs/ARCHITECTURE.md's rule: a function over ~80 lines is split, or says why not.
// test/long-functions.test.js fails on an unexplained one; `node scripts/long-functions.mjs` prints the table
// (`--all` also lists the explained ones).
//
// The parser is the TypeScript compiler's own (TypeScript 7's API runs the native compiler as a child process and
// hands back its syntax tree), so a brace in a string or a regex can never fool the count.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API } from 'typescript/unstable/sync';
import { SyntaxKind, skipTrivia, computeLineStarts } from 'typescript/unstable/ast';

export const LIMIT = 80;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(root, 'src') + '/';

const FUNCTION_KINDS = new Set([
  SyntaxKind.FunctionDeclaration, SyntaxKind.MethodDeclaration, SyntaxKind.Constructor, SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor, SyntaxKind.FunctionExpression, SyntaxKind.ArrowFunction,
]);

/** 0-based line of a position. */
const lineOf = (starts, pos) => {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (starts[mid] <= pos) lo = mid; else hi = mid - 1; }
  return lo;
};

/** A readable name: its own, else the variable / property / class member it is assigned to. */
function nameOf(node) {
  const own = node.name?.text ?? (node.kind === SyntaxKind.Constructor ? 'constructor' : undefined);
  if (own) return own;
  const p = node.parent;
  if (p && (p.kind === SyntaxKind.VariableDeclaration || p.kind === SyntaxKind.PropertyAssignment
    || p.kind === SyntaxKind.PropertyDeclaration)) return p.name?.text ?? '(anonymous)';
  return '(anonymous)';
}

/**
 * Lines of code in lines[first..last]: blank and comment-only lines do not count (as ESLint's max-lines-per-function
 * with skipBlankLines and skipComments), so explaining a function never pushes it over the limit.
 */
function codeLines(lines, first, last) {
  let n = 0, inBlock = false;
  for (let i = first; i <= last; i++) {
    let t = lines[i].trim();
    if (inBlock) {
      const end = t.indexOf('*/');
      if (end < 0) continue;
      inBlock = false;
      t = t.slice(end + 2).trim();
    }
    if (t.startsWith('/*') && !t.includes('*/')) { inBlock = true; continue; }
    if (t === '' || t.startsWith('//') || (t.startsWith('/*') && t.endsWith('*/'))) continue;
    n++;
  }
  return n;
}

/**
 * The reason in the comment lines directly above line `first` (0-based), or undefined: a comment line that starts
 * with "long", maybe a note, then a colon (`// long: <why>`, `// Long (~120 lines): <why>`, also on a " * " line of a doc comment).
 */
function reasonAbove(lines, first) {
  for (let i = first - 1; i >= 0; i--) {
    const t = lines[i].trim();
    if (!(t.startsWith('//') || t.startsWith('*') || t.startsWith('/*') || t.endsWith('*/'))) break;
    const m = t.match(/^(?:\/\/|\/\*\*?|\*)\s*long\b[^:]*:\s*(\S.*)$/i);
    if (m) return { reason: m[1].replace(/\*\/\s*$/, '').trim(), line: t };
  }
  return undefined;
}

/** Every function of src/ with more than `limit` lines: { file, name, line, lines, reason }. */
export function longFunctions(limit = LIMIT) {
  const api = new API({ cwd: root });
  try {
    const project = api.updateSnapshot({ openProject: join(root, 'tsconfig.json') }).getProjects()[0];
    const out = [];
    for (const fileName of project.program.getSourceFileNames()) {
      if (!fileName.startsWith(SRC) || fileName.endsWith('.d.ts')) continue;
      const sf = project.program.getSourceFile(fileName);
      const text = readFileSync(fileName, 'utf8');
      const starts = computeLineStarts(text);
      const lines = text.split('\n');
      // the reason comments of the enclosing functions
      const reasons = [];
      const visit = (node) => {
        let pushed = false;
        if (FUNCTION_KINDS.has(node.kind)) {
          // The statement the function belongs to starts the block a reason comment sits above
          // (`export const f = () => {` → the line of `export`).
          let anchor = node;
          while (anchor.parent && anchor.parent.kind !== SyntaxKind.SourceFile && !FUNCTION_KINDS.has(anchor.parent.kind)
            && anchor.parent.kind !== SyntaxKind.Block && anchor.parent.kind !== SyntaxKind.ClassDeclaration
            && anchor.parent.kind !== SyntaxKind.ObjectLiteralExpression) anchor = anchor.parent;
          const first = lineOf(starts, skipTrivia(text, anchor.pos));
          const startLine = lineOf(starts, skipTrivia(text, node.pos));
          const lastLine = lineOf(starts, node.end - 1);
          const n = codeLines(lines, startLine, lastLine);
          const name = nameOf(node);
          const own = reasonAbove(lines, first) ?? reasonAbove(lines, startLine);
          // a nested function is explained by an enclosing one's comment line that names it
          const inherited = reasons.find((r) => r && new RegExp(`\\b${name.replace(/[$]/g, '\\$&')}\\b`).test(r.line));
          if (n > limit) out.push({ file: relative(root, fileName), name, line: startLine + 1, lines: n, span: lastLine - startLine + 1, reason: (own ?? inherited)?.reason });
          reasons.push(own);
          pushed = true;
        }
        node.forEachChild(visit);
        if (pushed) reasons.pop();
      };
      visit(sf);
    }
    return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  } finally {
    api.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const all = process.argv.includes('--all');
  const found = longFunctions();
  const unexplained = found.filter((f) => !f.reason);
  for (const f of all ? found : unexplained) {
    console.log(`${f.file}:${f.line}  ${f.name}  ${f.lines} code lines (${f.span} in all)${f.reason ? `  (long: ${f.reason})` : '  NO REASON'}`);
  }
  console.log(`${found.length} function(s) over ${LIMIT} lines in src/, ${unexplained.length} without a \`// long: <reason>\` comment`);
  process.exitCode = unexplained.length ? 1 : 0;
}
