// Validation of `transforms:`: each step against its kind's spec, so an error names the file, line and key path
// (`transforms.orders[2].cast.total.type`); an unknown kind suggests the nearest; a stream no source declares is
// an error too.
import { nearest } from '../config/nearest.js';
import type { KeyPath } from '../config/locate.js';
import { describeType, mapIssues, type ConfigIssue } from '../config/zod-issues.js';
import type { StepConfig } from './chain.js';
import { CODE_ONLY_STEPS, getStepSpec, stepSpecs } from './registry.js';

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function validateStep(raw: unknown, path: KeyPath, issues: ConfigIssue[]): StepConfig | undefined {
  const kinds = stepSpecs().map((s) => s.kind);
  const yamlKinds = kinds.filter((k) => !CODE_ONLY_STEPS.has(k));
  if (!isMapping(raw) || Object.keys(raw).length !== 1) {
    const got = isMapping(raw) ? `a mapping with ${Object.keys(raw).length} keys` : describeType(raw);
    issues.push({ path, message: `expected a step: a mapping with one key, the step kind (${yamlKinds.join(', ')}), got ${got}`, expected: `{ <kind>: <options> }` });
    return undefined;
  }
  const [kind] = Object.keys(raw);
  const spec = getStepSpec(kind);
  if (!spec) {
    const near = nearest(kind, kinds);
    issues.push({
      path: [...path, kind], atKey: true, message: `unknown transform step \`${kind}\` (known steps: ${yamlKinds.join(', ')})`,
      expected: `one of: ${yamlKinds.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
    });
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
export function validateTransforms(raw: unknown, streams: string[], issues: ConfigIssue[]): Record<string, StepConfig[]> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    issues.push({ path: ['transforms'], message: `expected a mapping of stream name → list of steps, got ${describeType(raw)}`, expected: 'mapping' });
    return undefined;
  }
  const out: Record<string, StepConfig[]> = {};
  for (const [stream, steps] of Object.entries(raw)) {
    const path: KeyPath = ['transforms', stream];
    if (!streams.includes(stream)) {
      const near = nearest(stream, streams);
      issues.push({
        path, atKey: true, message: `no source declares a stream \`${stream}\` (streams: ${streams.join(', ') || 'none'})`,
        expected: `one of: ${streams.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
      });
    }
    if (!Array.isArray(steps)) {
      issues.push({ path, message: `expected a list of steps, got ${describeType(steps)}`, expected: 'list' });
      continue;
    }
    const parsed = steps.map((s, i) => validateStep(s, [...path, i], issues));
    if (parsed.every((p) => p !== undefined)) out[stream] = parsed as StepConfig[];
  }
  return out;
}
