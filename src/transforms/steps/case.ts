// `case: { lower: [email], upper: [country], title: [name] }`: letter case of text values.
import { z } from 'zod';
import { defineStep } from '../step.js';
import { mapText } from './trim.js';

const cols = z.union([z.array(z.string()).min(1), z.literal('*')]);

/** Title Case: the first letter of every word upper, the rest lower (`o'neil-smith` → `O'Neil-Smith`). */
export const titleCase = (s: string): string => s.toLowerCase().replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());

export const caseStep = defineStep<{ lower?: string[] | '*'; upper?: string[] | '*'; title?: string[] | '*' }>({
  kind: 'case',
  description: 'Change the letter case of text values: lower, upper or Title Case, per column.',
  options: z.strictObject({
    lower: cols.optional().describe('Columns to lower-case (or "*").'),
    upper: cols.optional().describe('Columns to upper-case (or "*").'),
    title: cols.optional().describe('Columns to Title Case (or "*").'),
  }).describe('Which columns get which case.'),
  compile(o) {
    const parts = ([
      ['lower', (s: string) => s.toLowerCase()],
      ['upper', (s: string) => s.toUpperCase()],
      ['title', titleCase],
    ] as const).filter(([k]) => o[k]).map(([k, fn]) => ({ cols: o[k]!, fn, owner: {} }));
    return {
      apply(frame) {
        for (const p of parts) mapText(frame, p.owner, p.cols, p.fn);
        return frame;
      },
    };
  },
});
