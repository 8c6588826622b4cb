// `map: { party: current_party.short_name.en, first_sku: items.0.sku }`: flat columns from nested fields, the way
// a unified model is built from a nested API response. The first path segment is a column; the rest walks objects
// (own keys only) and arrays (by index); JSON text is walked too. A missing field is null, not an error.
import { z } from 'zod';
import { getPath } from '../../expr/compile.js';
import { defineStep, setColumn } from '../step.js';

const PATH = /^[^.]+(\.[^.]+)*$/;

export const mapStep = defineStep<Record<string, string>>({
  kind: 'map',
  description: 'Add flat columns read from nested fields by path (`a.b.c`, arrays by index: `items.0.sku`). '
    + 'Other columns stay; follow with `select` or `drop` to shape the model.',
  options: z.record(z.string(), z.string().regex(PATH, 'a dotted path such as current_party.short_name.en'))
    .describe('New column → dotted path into the row.'),
  compile(mapping) {
    const entries = Object.entries(mapping).map(([name, path]) => {
      const [head, ...rest] = path.split('.');
      return { name, head, rest, owner: {} };
    });
    return {
      adds: entries.length,
      apply(frame) {
        // Read every path before writing any column: `map: { a: b.x, b: a.y }` reads the input row.
        const rows = frame.values;
        const computed = entries.map(({ head, rest }) => {
          const get = frame.getter(head);
          const out = new Array<unknown>(rows.length);
          for (let i = 0; i < rows.length; i++) out[i] = getPath(get(rows[i]), rest);
          return out;
        });
        entries.forEach((e, k) => setColumn(frame, e.owner, e.name, computed[k]));
        return frame;
      },
      types(declared) {
        for (const e of entries) declared.delete(e.name);
      },
    };
  },
});
