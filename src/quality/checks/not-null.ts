// `not_null: [order_id, customer_id]`: every listed column has a value.
import { z } from 'zod';
import { defineCheck } from '../check.js';

export const notNullCheck = defineCheck<string[]>({
  kind: 'not_null',
  description: 'Fails a row where any of the columns is null (or missing).',
  level: 'row',
  options: z.union([z.string().transform((s) => [s]), z.array(z.string()).min(1)]).describe('Column(s) that must have a value.'),
  compile(columns) {
    return {
      label: `not_null(${columns.join(', ')})`,
      columns,
      row(resolve) {
        const at = columns.map(resolve);
        return (row) => {
          for (let k = 0; k < at.length; k++) {
            const v = at[k] < 0 ? null : row[at[k]];
            if (v === null || v === undefined) return `column "${columns[k]}" is null`;
          }
          return undefined;
        };
      },
    };
  },
});
