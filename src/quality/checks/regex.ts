// `regex: { column: email, format: email }` or `{ column: code, pattern: "^[A-Z]{3}$" }`.
import { z } from 'zod';
import { defineCheck, valueCheck } from '../check.js';

/** Deliberately simple patterns: they catch what is plainly wrong, and stay linear (no catastrophic backtracking). */
export const FORMATS = {
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  url: /^https?:\/\/[^\s/$.?#][^\s]*$/i,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  iso_date: /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/,
} as const;
type Format = keyof typeof FORMATS;

const options = z.strictObject({
  column: z.string().describe('Column to check.'),
  pattern: z.string().refine((p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  }, 'a valid regular expression').optional().describe('A JavaScript regular expression the value must match (anchor it with ^…$ to match the whole value).'),
  format: z.enum(Object.keys(FORMATS) as [Format, ...Format[]]).optional().describe('A named format instead of a pattern: email, url, uuid or iso_date.'),
}).refine((o) => (o.pattern === undefined) !== (o.format === undefined), 'give exactly one of `pattern` or `format`');

export const regexCheck = defineCheck<z.output<typeof options>>({
  kind: 'regex',
  description: 'Fails a row whose value (as text) does not match the pattern or format. Nulls pass (use not_null).',
  level: 'row',
  options,
  compile({ column, pattern, format }) {
    const re = format ? FORMATS[format] : new RegExp(pattern!);
    const what = format ? `a valid ${format}` : `matching /${pattern}/`;
    return valueCheck('regex', column, (v) => {
      const text = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
      return re.test(text) ? undefined : `is not ${what}`;
    });
  },
});
