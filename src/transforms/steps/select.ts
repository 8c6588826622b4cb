// `select: [a, b]` keeps only these columns, in this order. On columnar rows it only rewrites the layout.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { Layout, setKey } from '../frame.js';
import { defineStep } from '../step.js';

export const selectStep = defineStep<string[]>({
  kind: 'select',
  description: 'Keep only the listed columns, in that order; a listed column the row lacks becomes null.',
  options: z.array(z.string()).min(1).describe('Columns to keep, in output order.'),
  compile(columns) {
    const owner = {};
    return {
      apply(frame) {
        if (frame.layout) {
          frame.layout = frame.layout.plan(owner, (l) => {
            // A missing column gets a fresh (always empty) slot past the row's width.
            let width = l.width;
            const slots = columns.map((c) => l.index.get(c) ?? width++);
            return new Layout(columns, slots, width);
          });
          return frame;
        }
        for (let i = 0; i < frame.rows.length; i++) {
          const row = frame.rows[i];
          const out: Row = {};
          for (const c of columns) setKey(out, c, Object.hasOwn(row, c) ? row[c] : null);
          frame.rows[i] = out;
        }
        return frame;
      },
      types(declared) {
        for (const k of [...declared.keys()]) if (!columns.includes(k)) declared.delete(k);
      },
    };
  },
});
