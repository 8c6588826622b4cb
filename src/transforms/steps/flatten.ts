// `flatten: { column: items }`: a nested array becomes a child table, as dlt does: the child stream
// `<stream>__<column>` gets one row per element, with `_parent_key` (the parent's key as text; composite keys joined
// with "|") and `_idx` (the element's position). Object elements give their fields as columns; other elements a
// `value` column. The array column leaves the parent row unless `keep: true`.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { getPath } from '../expr/compile.js';
import { setKey } from '../frame.js';
import { defineStep, keyText } from '../step.js';
import { dropStep } from './drop.js';

const options = z.strictObject({
  column: z.string().describe('Column holding the array (or JSON text of one); a dotted path reads a nested array.'),
  parent_key: z.array(z.string()).min(1).optional().describe('Parent columns identifying the row; default the stream\'s primary key.'),
  keep: z.boolean().default(false).describe('Keep the array column in the parent row too.'),
});

type Options = z.output<typeof options>;

/** Name of the child stream (and table) a flatten produces. */
export const childStreamName = (stream: string, column: string): string => `${stream}__${column.replace(/\./g, '__')}`;

export const flattenStep = defineStep<Options>({
  kind: 'flatten',
  description: 'Move a nested array into a child table `<stream>__<column>` with `_parent_key` and `_idx` columns, '
    + 'loaded in the same run with the same write disposition as append.',
  options,
  compile(o, env) {
    const parentKey = o.parent_key ?? env.primaryKey;
    if (!parentKey.length) throw new Error(`flatten ${o.column}: the stream has no primary_key; give \`parent_key: [columns]\``);
    const child = childStreamName(env.stream, o.column);
    const [head, ...rest] = o.column.split('.');
    const drop = o.keep ? undefined : dropStep.compile([head], env);
    let pending: Row[] = [];
    return {
      apply(frame) {
        const get = frame.getter(head);
        const keys = parentKey.map((c) => frame.getter(c));
        const rows = frame.values;
        for (let i = 0; i < rows.length; i++) {
          let list = getPath(get(rows[i]), rest);
          if (typeof list === 'string') {
            try {
              list = JSON.parse(list);
            } catch {
              frame.reject(i, `flatten ${o.column}: not a JSON array`);
              continue;
            }
          }
          if (list === null || list === undefined) continue;
          if (!Array.isArray(list)) {
            frame.reject(i, `flatten ${o.column}: expected an array, got ${typeof list}`);
            continue;
          }
          const parent = keys.map((k) => k(rows[i]));
          if (parent.some((v) => v === null || v === undefined)) {
            frame.reject(i, `flatten ${o.column}: parent key ${parentKey.join(', ')} is null`);
            continue;
          }
          const pk = parent.map(keyText).join('|');
          list.forEach((el, idx) => {
            const row: Row = {};
            if (el !== null && typeof el === 'object' && !Array.isArray(el)) for (const [k, v] of Object.entries(el)) setKey(row, k, v);
            else row.value = el;
            row._parent_key = pk;
            row._idx = idx;
            pending.push(row);
          });
        }
        return drop ? drop.apply(frame) : frame;
      },
      takeChildren() {
        if (!pending.length) return undefined;
        const out = new Map([[child, pending]]);
        pending = [];
        return out;
      },
      types(declared) {
        if (!o.keep) declared.delete(head);
      },
    };
  },
});
