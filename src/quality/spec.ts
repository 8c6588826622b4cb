// The `checks:` key of a pipeline file as zod schemas, for the JSON Schema and the config reference (validation goes
// check by check in src/config/validate-checks.ts, so errors name the right kind's keys).
import { z } from 'zod';
import { SEVERITIES, type CheckSpec } from './check.js';
import { thresholdSchema } from './measures.js';
import { checkSpecs } from './registry.js';

export const CHECKS_DESCRIPTION = 'Data-quality checks per stream: stream name → list of checks, each `{ <kind>: <options> }` plus optional '
  + '`severity` (error | warn | info) and `threshold`; row checks run on coerced rows, dataset checks (and checks with a threshold) '
  + 'gate the load (see "Checks").';

/** Keys an entry may carry beside its kind. */
export const checkModifiers = {
  severity: z.enum(SEVERITIES).default('error').describe('error: failing rows go to the dead-letter queue (a dataset check, or a check with a threshold, blocks the load); warn: counted and reported, rows load; info: counted only.'),
  threshold: thresholdSchema.optional(),
};

/** One check of a kind: the kind key plus the modifiers. */
export const checkSchema = (spec: CheckSpec): z.ZodObject<any> =>
  z.strictObject({ [spec.kind]: spec.options, ...checkModifiers })
    .meta({ title: `${spec.kind} check`, description: `${spec.level === 'row' ? 'Row check' : 'Dataset check'}. ${spec.description}` });

export function checksSchema() {
  const checks = checkSpecs().map(checkSchema);
  return z.record(z.string(), z.array(z.union(checks as [z.ZodObject<any>, ...z.ZodObject<any>[]])))
    .optional().describe(CHECKS_DESCRIPTION);
}
