// `nullify: { values: ["", "NULL", "N/A"] }`: spellings of "no value" become null.
import { z } from 'zod';
import { defineStep, mapValues } from '../step.js';
import { trimText } from '../text.js';

const DEFAULTS = ['', 'NULL', 'null', 'N/A', 'n/a', 'NA', 'None', '-'];

export const nullifyStep = defineStep<{ values: string[]; columns: string[] | '*'; trim: boolean; ignore_case: boolean }>({
  kind: 'nullify',
  description: 'Turn text values that mean "no value" into null.',
  options: z.strictObject({
    values: z.array(z.string()).default(DEFAULTS).describe(`Texts that mean null. Default: ${DEFAULTS.map((d) => JSON.stringify(d)).join(', ')}.`),
    columns: z.union([z.array(z.string()).min(1), z.literal('*')]).default('*').describe('Columns to look at, or "*" (default) for all.'),
    trim: z.boolean().default(true).describe('Compare values with surrounding whitespace removed (`"  "` matches `""`).'),
    ignore_case: z.boolean().default(false).describe('Compare case-insensitively (`null` matches `NULL`).'),
  }).describe('Which texts are null, and where.'),
  compile(o) {
    const owner = {};
    const norm = (s: string) => {
      const t = o.trim ? trimText(s) : s;
      return o.ignore_case ? t.toLowerCase() : t;
    };
    const nulls = new Set(o.values.map(norm));
    // A value longer than every null spelling, with no whitespace at its ends, cannot be one: no hashing needed.
    const longest = Math.max(0, ...[...nulls].map((s) => s.length));
    const candidate = (s: string) => s.length <= longest || (o.trim && trimText(s) !== s);
    return {
      apply(frame) {
        mapValues(frame, owner, o.columns, (v) => (typeof v === 'string' && candidate(v) && nulls.has(norm(v)) ? null : v));
        return frame;
      },
    };
  },
});
