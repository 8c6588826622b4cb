// `rename: { old: new }`. On columnar rows it only rewrites the layout's names.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { Layout, setKey } from '../frame.js';
import { defineStep } from '../step.js';

export const renameStep = defineStep<Record<string, string>>({
  kind: 'rename',
  description: 'Rename columns: `{ "Release Date": release_date }`. Columns not named keep their names; a column '
    + 'already called like a new name gives way to the renamed one.',
  options: z.record(z.string(), z.string().min(1)).describe('Old name → new name.'),
  compile(mapping) {
    const owner = {};
    const to = new Map(Object.entries(mapping));
    const targets = new Set(to.values());
    // A column that is not renamed but has a new name's name is replaced by the renamed column.
    const kept = (name: string) => to.has(name) || !targets.has(name);
    return {
      apply(frame) {
        if (frame.layout) {
          frame.layout = frame.layout.plan(owner, (l) => {
            const keep = l.names.map((_, i) => i).filter((i) => kept(l.names[i]));
            return new Layout(keep.map((i) => to.get(l.names[i]) ?? l.names[i]), keep.map((i) => l.slots[i]), l.width);
          });
          return frame;
        }
        for (let i = 0; i < frame.rows.length; i++) {
          const row = frame.rows[i];
          const out: Row = {};
          for (const k of Object.keys(row)) if (kept(k)) setKey(out, to.get(k) ?? k, row[k]);
          frame.rows[i] = out;
        }
        return frame;
      },
      types(declared) {
        const moved = [...declared].filter(([k]) => to.has(k));
        for (const [k] of moved) declared.delete(k);
        for (const [k, t] of moved) declared.set(to.get(k)!, t);
      },
    };
  },
});
