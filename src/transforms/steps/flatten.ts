// `flatten: { column: items }`: a nested array becomes a child table, as dlt does: the child stream
// `<stream>__<column>` gets one row per element, with `_parent_key` (the parent's key as text; composite keys joined
// with "|") and `_idx` (the element's position). Object elements give their fields as columns; other elements a
// `value` column. The array column leaves the parent row unless `keep: true`.
//
// When child tables replace each parent's rows (env.replaceChildren, see src/engine/child-loads.ts), every parent the step
// processes also yields a marker row (`_parent_key` and `_sluice_parent: true`) ahead of its elements: the child
// load deletes that parent's old child rows, inserts the elements written after the marker, and never inserts the
// marker itself. So a parent whose array is now empty or null, or that carries the stream's delete marker, empties
// its group; a parent seen twice keeps the children of its last row. Without it (append-only destinations) no
// marker is made and children only append.
import { z } from 'zod';
import { isDeleteMarked } from '../../core/delete-marker.js';
import type { Row } from '../../core/types.js';
import { getPath } from '../../expr/compile.js';
import { setKey } from '../frame.js';
import { defineStep, keyText } from '../step.js';
import { dropStep } from './drop.js';
import { parseJson } from '../../core/values/json-parse.js';

const options = z.strictObject({
  column: z.string().describe('Column holding the array (or JSON text of one); a dotted path reads a nested array.'),
  parent_key: z.array(z.string()).min(1).optional().describe('Parent columns identifying the row; default the stream\'s primary key.'),
  keep: z.boolean().default(false).describe('Keep the array column in the parent row too.'),
});

type Options = z.output<typeof options>;

/** Column of the marker row flatten makes for each parent when child tables replace each parent's rows. */
export const PARENT_MARKER = '_sluice_parent';

/** Name of the child stream (and table) a flatten produces. */
export const childStreamName = (stream: string, column: string): string => `${stream}__${column.replace(/\./g, '__')}`;

export const flattenStep = defineStep<Options>({
  kind: 'flatten',
  wholeStream: true,
  description: 'Move a nested array into a child table `<stream>__<column>` with `_parent_key` and `_idx` columns, '
    + 'loaded in the same run. On PostgreSQL, DuckDB, MySQL and SQLite each parent row loaded replaces its child rows (dlt\'s '
    + 'delete-insert): a parent whose array changed, emptied, became null or is marked deleted (`delete_column`) keeps '
    + 'no stale children, and a re-run after a crash duplicates none. Other destinations append child rows; a '
    + 'replaced parent (full refresh, `write: replace`) replaces its child tables.',
  options,
  compile(o, env) {
    const parentKey = o.parent_key ?? env.primaryKey;
    if (!parentKey.length) throw new Error(`flatten ${o.column}: the stream has no primary_key; give \`parent_key: [columns]\``);
    const child = childStreamName(env.stream, o.column);
    const [head, ...rest] = o.column.split('.');
    const drop = o.keep ? undefined : dropStep.compile([head], env);
    const groups = env.replaceChildren;
    let pending: Row[] = [];
    return {
      apply(frame) {
        const get = frame.getter(head);
        const keys = parentKey.map((c) => frame.getter(c));
        const deleted = groups?.deleteColumn === undefined ? undefined : frame.getter(groups.deleteColumn);
        const rows = frame.values;
        /** The parent key as text; undefined when part of it is null. */
        const keyOf = (row: unknown): string | undefined => {
          const parent = keys.map((k) => k(row));
          return parent.some((v) => v === null || v === undefined) ? undefined : parent.map(keyText).join('|');
        };
        const mark = (pk: string) => pending.push({ _parent_key: pk, [PARENT_MARKER]: true });
        for (let i = 0; i < rows.length; i++) {
          if (deleted && isDeleteMarked(deleted(rows[i]))) {
            // A deleted parent keeps no children, whatever its array says.
            const pk = keyOf(rows[i]);
            if (pk !== undefined) mark(pk);
            continue;
          }
          let list = getPath(get(rows[i]), rest);
          if (typeof list === 'string') {
            try {
              list = parseJson(list);
            } catch {
              frame.reject(i, `flatten ${o.column}: not a JSON array`);
              continue;
            }
          }
          if (list === null || list === undefined) {
            // No array now: when children replace, the parent's old children go.
            const pk = groups ? keyOf(rows[i]) : undefined;
            if (pk !== undefined) mark(pk);
            continue;
          }
          if (!Array.isArray(list)) {
            frame.reject(i, `flatten ${o.column}: expected an array, got ${typeof list}`);
            continue;
          }
          const pk = keyOf(rows[i]);
          if (pk === undefined) {
            frame.reject(i, `flatten ${o.column}: parent key ${parentKey.join(', ')} is null`);
            continue;
          }
          if (groups) mark(pk);
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
