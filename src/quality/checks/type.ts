// `type: { column: amount, type: decimal }`: the value reads as the logical type (useful on inferred text columns,
// where the schema accepted anything).
import { z } from 'zod';
import { COLUMN_TYPES } from '../../core/types.js';
import { FAIL, valueCoercer } from '../../core/values/coerce.js';
import { defineCheck, valueCheck } from '../check.js';

const options = z.strictObject({
  column: z.string().describe('Column to check.'),
  type: z.enum(COLUMN_TYPES).describe('Logical type the value must read as (the same rules as declared columns).'),
});

export const typeCheck = defineCheck<z.output<typeof options>>({
  kind: 'type',
  description: 'Fails a row whose value does not read as the given column type. Nulls pass (use not_null).',
  level: 'row',
  options,
  compile({ column, type }) {
    const coerce = valueCoercer(type);
    return valueCheck('type', column, (v) => (coerce(v) === FAIL ? `is not a valid ${type}` : undefined));
  },
});
