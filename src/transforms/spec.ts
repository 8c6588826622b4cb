// The `transforms:` key of a pipeline file as zod schemas, for the JSON Schema and the config reference
// (validation goes step by step in src/config/validate-transforms.ts, so errors name the right step's keys).
import { z } from 'zod';
import { CODE_ONLY_STEPS, stepSpecs } from './registry.js';
import type { StepSpec } from './step.js';

export const TRANSFORMS_DESCRIPTION = 'Transform steps per stream: stream name → list of steps, each `{ <kind>: <options> }`, '
  + 'run in order on every batch right after extraction (see "Transform steps").';

/** One step of a kind: a mapping with the kind as its only key. */
export const stepSchema = (spec: StepSpec): z.ZodObject<any> =>
  z.strictObject({ [spec.kind]: spec.options }).meta({ title: `${spec.kind} step`, description: spec.description });

/** Step kinds a YAML file can use (not the TypeScript-only function steps). */
export const yamlStepSpecs = (): StepSpec[] => stepSpecs().filter((s) => !CODE_ONLY_STEPS.has(s.kind));

export function transformsSchema() {
  const steps = yamlStepSpecs().map(stepSchema);
  return z.record(z.string(), z.array(z.union(steps as [z.ZodObject<any>, ...z.ZodObject<any>[]])))
    .optional().describe(TRANSFORMS_DESCRIPTION);
}
