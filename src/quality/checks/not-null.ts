// `not_null: [order_id, customer_id]`: every listed column has a value.
import { z } from 'zod';
import { defineCheck, scanCheck } from '../check.js';

export const notNullCheck = defineCheck<string[]>({
  kind: 'not_null',
  description: 'Fails a row where any of the columns is null (or missing).',
  level: 'row',
  options: z.union([z.string().transform((s) => [s]), z.array(z.string()).min(1)]).describe('Column(s) that must have a value.'),
  compile(columns) {
    const reasons = columns.map((c) => `column "${c}" is null`);
    return scanCheck({
      label: `not_null(${columns.join(', ')})`,
      columns,
      scan(resolve) {
        const at = columns.map(resolve);
        // A column the stream lacks is null in every row: the first such one (in the listed order) is the reason
        // for rows that pass the columns before it.
        const missing = at.findIndex((a) => a < 0);
        const known = missing < 0 ? at : at.slice(0, missing);
        return (rows, fail) => {
          for (let i = 0; i < rows.length; i++) {
            const row = rows[i];
            let k = 0;
            for (; k < known.length; k++) {
              const v = row[known[k]];
              if (v === null || v === undefined) break;
            }
            if (k < known.length) fail(i, reasons[k]);
            else if (missing >= 0) fail(i, reasons[missing]);
          }
        };
      },
    });
  },
});
