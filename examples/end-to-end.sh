#!/usr/bin/env bash
# The README's example, end to end: train a small CNN on MNIST, compress it to int8 (QAT + pruning + distillation),
# then run the one .qwm file in Node, in a browser (headless Chromium) and in a WebAssembly engine with no JS at all
# (wasm3 if it is on PATH, else wabt's wasm-interp), and check that all three give the same answers.
# usage: bash examples/end-to-end.sh [OUTDIR]     (default ./qwasm-example)
# QWASM_EXAMPLE_LIMIT=N trains and fine-tunes on the first N images only (test/examples.test.js uses it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-qwasm-example}; mkdir -p "$out"; cd "$out"
qwasm() { node "$root/bin/qwasm.js" "$@"; }     # = npx qwasm, without npx's start-up
limit=(); [ -n "${QWASM_EXAMPLE_LIMIT:-}" ] && limit=(--limit "$QWASM_EXAMPLE_LIMIT")

qwasm train    --model refcnn --data mnist --epochs 1 "${limit[@]}" --out refcnn.qck --quiet
qwasm compress --model refcnn.qck --data mnist --method joint --sparsity 0.75 --epochs 1 "${limit[@]}" --out refcnn.qwm --quiet
qwasm info     refcnn.qwm | head -3
qwasm run      refcnn.qwm --data mnist --count 1000
qwasm export   refcnn.qwm --format wasm -o refcnn.wasm     # the model alone, for your own host (qwm_load / qwm_run)
qwasm export   refcnn.qwm --format onnx -o refcnn.onnx     # QDQ int8 ONNX
node "$root/examples/classify.mjs" refcnn.qwm .            # qwasm/runtime in Node; writes digits.{u8,json,wasm}
node "$root/examples/browser.mjs"  refcnn.qwm .            # examples/browser.html in headless Chromium
want=$(node -e "process.stdout.write(String(require('./digits.json').checksum))")
if command -v wasm3 >/dev/null; then got=$(wasm3 --func qwm_main digits.wasm | grep -o '[0-9-]*$')
else got=$(wasm-interp digits.wasm --run-all-exports | sed -n 's/^qwm_main() => i32:\([0-9-]*\)$/\1/p'); fi
echo "no-JS engine: qwm_main() = $got (Node: $want)"
[ "$got" = "$want" ] || { echo "the no-JS run differs from Node's" >&2; exit 1; }
