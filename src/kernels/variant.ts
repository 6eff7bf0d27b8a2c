// Picks between a kernel's fast path and its plain-loop `_ref` twin: every pointer-level wrapper takes a
// `reference` / `ref` flag, and this is the one place that turns it into an export.
import type { Runtime } from '../runtime.js';
import type { KernelExports } from '../exports.js';

/** Export names that have a `<name>_ref` twin. */
export type WithRef = { [K in keyof KernelExports]: `${K & string}_ref` extends keyof KernelExports ? K : never }[keyof KernelExports];

/** The fast kernel `name`, or its twin `<name>_ref` when `reference` is truthy. */
export function variant<K extends WithRef>(rt: Runtime, name: K, reference: unknown): KernelExports[K] {
  return rt.exports[(reference ? `${name}_ref` : name) as K];
}
