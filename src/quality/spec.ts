// The `checks:` key of a pipeline file as zod schemas, for the JSON Schema and the config reference (validation goes
// check by check in validate.ts, so errors name the right kind's keys).
import { z } from 'zod';
import type { CheckSpec } from './check.js';
import { checkSpecs } from './registry.js';
import { checkModifiers } from './validate.js';

export const CHECKS_DESCRIPTION = 'Data-quality checks per stream: stream name → list of checks, each `{ <kind>: <options> }` plus optional '
  + '`severity` (error | warn | info) and `threshold`; row checks run on coerced rows, dataset checks (and checks with a threshold) '
  + 'gate the load (see "Checks").';

/** One check of a kind: the kind key plus the modifiers. */
export const checkSchema = (spec: CheckSpec): z.ZodObject<any> =>
  z.strictObject({ [spec.kind]: spec.options, ...checkModifiers })
    .meta({ title: `${spec.kind} check`, description: `${spec.level === 'row' ? 'Row check' : 'Dataset check'}. ${spec.description}` });

export function checksSchema() {
  const checks = checkSpecs().map(checkSchema);
  return z.record(z.string(), z.array(z.union(checks as [z.ZodObject<any>, ...z.ZodObject<any>[]])))
    .optional().describe(CHECKS_DESCRIPTION);
}
