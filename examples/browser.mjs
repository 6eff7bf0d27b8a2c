#!/usr/bin/env node
// Opens examples/browser.html in headless Chromium (Debian's chromium through playwright-core; QWASM_CHROMIUM=path
// for another) on OUTDIR's refcnn.qwm and digits.u8 (written by examples/classify.mjs), and checks that the page
// gives Node's answers (OUTDIR/digits.json). The repository and OUTDIR are served on 127.0.0.1 only.
// usage: node examples/browser.mjs MODEL.qwm [OUTDIR]
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { openQwasmPage } from '../test/browsers.js';

const [file, outDir = '.'] = process.argv.slice(2);
if (!file) { console.error('usage: node examples/browser.mjs MODEL.qwm [OUTDIR]'); process.exit(2); }
const node = JSON.parse(readFileSync(resolve(outDir, 'digits.json'), 'utf8'));
const mounts = { '/model/': dirname(resolve(file)), '/out/': resolve(outDir) };
const path = `/examples/browser.html?model=/model/${encodeURIComponent(basename(file))}&digits=/out/digits.u8`;
const session = await openQwasmPage({ path, mounts });
try {
  const r = await session.page.evaluate(() => window.result);
  if (r.error) throw new Error(`in the page: ${r.error}`);
  console.log(`Chromium ${session.version} (${r.build} build): ${r.labels.join(' ')}`);
  if (r.labels.join() !== node.labels.join()) throw new Error(`the browser's answers differ from Node's: ${node.labels.join(' ')}`);
} finally { await session.close(); }
