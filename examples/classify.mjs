#!/usr/bin/env node
// qwasm/runtime in Node: load a .qwm model, classify the first 8 MNIST test digits on the int8 kernels, and write
// what the other hosts of examples/end-to-end.sh need, into OUTDIR:
//   digits.u8    the 8 images (28×28 grey, 0..255) for examples/browser.html
//   digits.json  Node's answers, which the browser and the no-JS run must repeat
//   digits.wasm  the scalar build with the model and these 8 images embedded: runs under wasm3 / WAMR /
//                wabt's wasm-interp with no JS; its qwm_main() returns a checksum of the 8 output rows.
// usage: node examples/classify.mjs MODEL.qwm [OUTDIR]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadQwm, quantizeInput } from 'qwasm/runtime';        // what a deployed app imports
import { loadDataset, bundleWasm, bundleChecksum } from 'qwasm'; // the sample digits and the no-JS bundle

const [file, outDir = '.'] = process.argv.slice(2);
if (!file) { console.error('usage: node examples/classify.mjs MODEL.qwm [OUTDIR]'); process.exit(2); }
const bytes = new Uint8Array(readFileSync(file));
const model = await loadQwm(bytes);
const n = 8, { test } = loadDataset('mnist');
const pixels = test.images.slice(0, n * 28 * 28);

const top = model.classify(pixels, n);
const labels = top.map((t) => t.label);
console.log(`Node (${model.info().build} build): ${labels.join(' ')}   true labels: ${Array.from(test.labels.subarray(0, n)).join(' ')}`);

// The same 8 images inside one import-free .wasm: qwm_main() runs them and returns the checksum of the int8 outputs.
const x = model.normalize(pixels);
const checksum = bundleChecksum(model.predictCodes(quantizeInput(x, model.info().input), n));
const scalar = new Uint8Array(readFileSync(fileURLToPath(import.meta.resolve('qwasm/build/qwasm.scalar.wasm'))));
writeFileSync(join(outDir, 'digits.wasm'), bundleWasm(scalar, bytes, { input: x }).wasm);
writeFileSync(join(outDir, 'digits.u8'), pixels);
writeFileSync(join(outDir, 'digits.json'), JSON.stringify({ labels, checksum }));
console.log(`wrote ${join(outDir, 'digits.wasm')}: its qwm_main() returns ${checksum}`);
model.dispose();
