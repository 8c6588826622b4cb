// Validation of `transforms:`: each step against its kind's spec, so an error names the file, line and key path
// (`transforms.orders[2].cast.total.type`); an unknown kind suggests the nearest; a stream no source declares is
// an error too.
import type { StepConfig } from '../transforms/chain.js';
import { CODE_ONLY_STEPS, getStepSpec, stepSpecs } from '../transforms/registry.js';
import type { KeyPath } from './locate.js';
import { isMapping, unknownKind, validateStreamLists } from './validate-stream-lists.js';
import { describeType, mapIssues, type ConfigIssue } from './zod-issues.js';

function validateStep(raw: unknown, path: KeyPath, issues: ConfigIssue[]): StepConfig | undefined {
  const yamlKinds = stepSpecs().map((s) => s.kind).filter((k) => !CODE_ONLY_STEPS.has(k));
  if (!isMapping(raw) || Object.keys(raw).length !== 1) {
    const got = isMapping(raw) ? `a mapping with ${Object.keys(raw).length} keys` : describeType(raw);
    issues.push({ path, message: `expected a step: a mapping with one key, the step kind (${yamlKinds.join(', ')}), got ${got}`, expected: `{ <kind>: <options> }` });
    return undefined;
  }
  const [kind] = Object.keys(raw);
  const spec = getStepSpec(kind);
  if (!spec) {
    issues.push(unknownKind('transform step', 'steps', kind, yamlKinds, path, [...CODE_ONLY_STEPS]));
    return undefined;
  }
  const r = spec.options.safeParse(raw[kind]);
  if (!r.success) {
    issues.push(...mapIssues(r.error.issues, spec.options, raw[kind], [...path, kind]));
    return undefined;
  }
  return { [kind]: r.data };
}

/** The validated `transforms` mapping (undefined when absent); issues are pushed for every problem found. */
export const validateTransforms = (raw: unknown, streams: string[], issues: ConfigIssue[]): Record<string, StepConfig[]> | undefined =>
  validateStreamLists(raw, 'transforms', 'step', streams, issues, (step, path) => validateStep(step, path, issues));
