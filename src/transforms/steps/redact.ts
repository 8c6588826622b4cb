// `redact: [ssn]` or `redact: { columns: [ssn], with: "[removed]" }`: replace values with a fixed text.
import { z } from 'zod';
import { defineStep, mapValues, type Columns } from '../step.js';

const cols = z.union([z.array(z.string()).min(1), z.literal('*')]);
const options = z.union([
  cols,
  z.strictObject({
    columns: cols.describe('Columns to redact, or "*".'),
    with: z.string().default('[REDACTED]').describe('Text that replaces every non-null value.'),
  }),
]).describe('Columns to redact (`[ssn]`), or `{ columns, with }`.');

export const redactStep = defineStep<Columns | { columns: Columns; with: string }>({
  kind: 'redact',
  description: 'Replace non-null values with a fixed text (default "[REDACTED]").',
  options,
  compile(o) {
    const columns = Array.isArray(o) || o === '*' ? o : o.columns;
    const text = Array.isArray(o) || o === '*' ? '[REDACTED]' : o.with;
    const owner = {};
    return {
      apply(frame) {
        mapValues(frame, owner, columns, () => text);
        return frame;
      },
      types(declared) {
        if (columns === '*') declared.clear();
        else for (const c of columns) declared.delete(c);
      },
    };
  },
});
