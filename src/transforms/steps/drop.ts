// `drop: [a, b]` removes columns. On columnar rows it only rewrites the layout.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { Layout, setKey } from '../frame.js';
import { defineStep } from '../step.js';

export const dropStep = defineStep<string[]>({
  kind: 'drop',
  description: 'Remove the listed columns (names the row lacks are ignored).',
  options: z.array(z.string()).min(1).describe('Columns to remove.'),
  compile(columns) {
    const owner = {};
    const gone = new Set(columns);
    return {
      apply(frame) {
        if (frame.layout) {
          frame.layout = frame.layout.plan(owner, (l) => {
            const keep = l.names.map((n, i) => i).filter((i) => !gone.has(l.names[i]));
            return new Layout(keep.map((i) => l.names[i]), keep.map((i) => l.slots[i]), l.width);
          });
          return frame;
        }
        for (let i = 0; i < frame.rows.length; i++) {
          const row = frame.rows[i];
          if (!columns.some((c) => Object.hasOwn(row, c))) continue;
          const out: Row = {};
          for (const k of Object.keys(row)) if (!gone.has(k)) setKey(out, k, row[k]);
          frame.rows[i] = out;
        }
        return frame;
      },
      types(declared) {
        for (const c of columns) declared.delete(c);
      },
    };
  },
});
