// `accepted_values: { column: status, values: [new, paid, shipped] }`: a closed list of values.
import { z } from 'zod';
import { defineCheck, keyOf, valueCheck } from '../check.js';

const options = z.strictObject({
  column: z.string().describe('Column to check.'),
  values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).describe('The values allowed; compared as text, so `1` matches "1". Nulls pass (use not_null).'),
});

export const acceptedValuesCheck = defineCheck<z.output<typeof options>>({
  kind: 'accepted_values',
  description: 'Fails a row whose value is not one of the listed values.',
  level: 'row',
  options,
  compile({ column, values }) {
    const allowed = new Set(values.map(keyOf));
    const list = values.map((v) => String(v)).join(', ');
    return valueCheck('accepted_values', column, (v) => (allowed.has(keyOf(v)) ? undefined : `is not one of ${list}`));
  },
});
