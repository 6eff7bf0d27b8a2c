// The README's end-to-end example (examples/end-to-end.sh) runs as written, on a small training budget:
// train → compress → export → the same answers in Node, headless Chromium and wabt's wasm-interp (no JS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from './helpers.js';

const script = fileURLToPath(new URL('../examples/end-to-end.sh', import.meta.url));

needs(test, 'chromium', 'wabt')('examples/end-to-end.sh: train → compress → export → Node, Chromium and wasm-interp agree', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-example-'));
  try {
    const r = spawnSync('bash', [script, dir], { encoding: 'utf8', env: { ...process.env, QWASM_EXAMPLE_LIMIT: '1000' }, maxBuffer: 1 << 24 });
    assert.is(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    for (const f of ['refcnn.qck', 'refcnn.qwm', 'refcnn.wasm', 'digits.wasm']) assert.ok(existsSync(join(dir, f)), `${f} missing`);
    const node = JSON.parse(readFileSync(join(dir, 'digits.json'), 'utf8'));
    assert.is(node.labels.length, 8);
    // each host printed its own line with the same answers
    assert.match(r.stdout, new RegExp(`Node \\(\\w+ build\\): ${node.labels.join(' ')} `));
    assert.match(r.stdout, new RegExp(`Chromium [\\d.]+ \\(\\w+ build\\): ${node.labels.join(' ')}\\n`));
    assert.match(r.stdout, new RegExp(`no-JS engine: qwm_main\\(\\) = ${node.checksum} \\(Node: ${node.checksum}\\)`));
    // the compressed model is really int8 and pruned
    assert.match(r.stdout, /refcnn\.qwm: \.qwm v1, \d+ bytes, 7 nodes, 224800 int8 weights \(7\d\.\d % zero\)/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.run();
