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
    const first = o.keep_first;
    const last = o.keep_last;
    const mask = (text: string): string => {
      // Code points, not UTF-16 units, when the text has any outside the BMP (an emoji is one character).
      if (hasAstral(text)) {
        const chars = [...text];
        const hide = Math.max(chars.length - first - last, 0);
        return hide ? chars.slice(0, first).join('') + fill(hide) + chars.slice(chars.length - last).join('') : fill(chars.length);
      }
      const n = text.length;
      const hide = Math.max(n - first - last, 0);
      if (!hide) return fill(n);
      return (first ? text.slice(0, first) + fill(hide) : fill(hide)) + text.slice(n - last);
    };
    return {
      apply(frame) {
        mapValues(frame, owner, o.columns, (v) => mask(keyText(v)));
        return frame;
      },
      types(declared) {
        if (o.columns === '*') declared.clear();
        else for (const c of o.columns) declared.delete(c);
      },
    };
  },
});
