// `mask: { columns: [card_number], keep_last: 4 }`: `4111111111111111` → `************1111`.
import { z } from 'zod';
import { columnList, defineStep, keyText, mapValues, type Columns } from '../step.js';
import { hasAstral } from '../text.js';

const options = z.strictObject({
  columns: columnList('mask'),
  keep_last: z.int().min(0).default(4).describe('Characters left visible at the end.'),
  keep_first: z.int().min(0).default(0).describe('Characters left visible at the start.'),
  char: z.string().length(1).default('*').describe('Character that replaces the hidden ones.'),
});

export const maskStep = defineStep<z.output<typeof options> & { columns: Columns }>({
  kind: 'mask',
  description: 'Hide all but the first/last characters of values (card numbers, phone numbers).',
  options,
  compile(o) {
    const owner = {};
    const fills: string[] = [];
    const fill = (n: number): string => (n < 256 ? (fills[n] ??= o.char.repeat(n)) : o.char.repeat(n));
    return {
      apply(frame) {
        mapValues(frame, owner, o.columns, (v) => {
          const text = keyText(v);
          // Code points, not UTF-16 units, when the text has any outside the BMP (an emoji is one character).
          const chars: string | string[] = hasAstral(text) ? [...text] : text;
          const hide = Math.max(chars.length - o.keep_first - o.keep_last, 0);
          if (!hide) return fill(chars.length);
          const part = (from: number, to: number) => (typeof chars === 'string' ? chars.slice(from, to) : chars.slice(from, to).join(''));
          return part(0, o.keep_first) + fill(hide) + part(chars.length - o.keep_last, chars.length);
        });
        return frame;
      },
      types(declared) {
        if (o.columns === '*') declared.clear();
        else for (const c of o.columns) declared.delete(c);
      },
    };
  },
});
