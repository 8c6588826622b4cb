// `row_count: { min: 1, max: 1000000 }`: bounds on the rows a run loads for the stream.
import { z } from 'zod';
import { defineCheck } from '../check.js';

const options = z.strictObject({
  min: z.int().min(0).optional().describe('Fewest rows the run may load.'),
  max: z.int().min(0).optional().describe('Most rows the run may load.'),
}).refine((o) => o.min !== undefined || o.max !== undefined, 'give `min`, `max` or both');

export const rowCountCheck = defineCheck<z.output<typeof options>>({
  kind: 'row_count',
  description: 'Dataset check: fails when the rows loaded by this run (after row checks) are outside [min, max]. With severity error it is a gate.',
  level: 'dataset',
  options,
  compile({ min, max }) {
    return {
      label: 'row_count',
      columns: [],
      gate: true,
      verdict({ rows }) {
        const limit = [min !== undefined ? `min ${min}` : '', max !== undefined ? `max ${max}` : ''].filter(Boolean).join(', ');
        return { ok: (min === undefined || rows >= min) && (max === undefined || rows <= max), measured: `${rows} rows`, limit };
      },
    };
  },
});
