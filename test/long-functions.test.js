// The long-function rule of docs/ARCHITECTURE.md: every function in src/ (declaration, method, constructor,
// accessor, function expression, arrow) has at most 80 lines of code (blank and comment-only lines do not count),
// or says why it is longer in a `// long: <reason>` comment just above it. scripts/long-functions.mjs parses
// src/ with the TypeScript compiler and lists them; `node scripts/long-functions.mjs --all` prints the table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LIMIT, longFunctions } from '../scripts/long-functions.mjs';

// one scan (the compiler runs as a child process): every function over 20 lines, then those over the limit
const over20 = longFunctions(20);
const found = over20.filter((f) => f.lines > LIMIT);

test('the scan sees the functions of src/ (a long one is found at a lower limit)', () => {
  // guards against a scan that silently finds nothing (a parser change, a wrong folder)
  assert.ok(over20.length > 20, `only ${over20.length} functions over 20 lines found in src/`);
  assert.ok(over20.some((f) => f.file === 'src/onnx/import.ts'), 'src/onnx/import.ts has a function over 20 lines');
  assert.ok(over20.every((f) => f.lines > 20 && f.line > 0 && f.name));
});

test(`no function in src/ over ${LIMIT} lines of code without a \`// long: <reason>\` comment`, () => {
  const bad = found.filter((f) => !f.reason).map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines of code`);
  assert.equal(bad, [], `split these, or say why not in a '// long: <reason>' comment just above:\n${bad.join('\n')}`);
});

test('every reason says something', () => {
  const thin = found.filter((f) => f.reason && f.reason.length < 20).map((f) => `${f.file}:${f.line} ${f.name}: '${f.reason}'`);
  assert.equal(thin, [], thin.join('\n'));
});

test.run();
