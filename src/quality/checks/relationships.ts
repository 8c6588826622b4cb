// `relationships: { column: customer_id, to: { stream: customers, column: id } }` (or `to: { table: dim_customers,
// column: id }`): every value references an existing key. The referenced keys are read into a Set once per run.
import { z } from 'zod';
import { RunError } from '../../core/errors.js';
import { defineCheck, keyOf, scanCheck, shown } from '../check.js';
import { KeySet } from './int-set.js';
import { collectKeys } from './keys.js';

const options = z.strictObject({
  column: z.string().describe('Column holding the reference.'),
  to: z.union([
    z.strictObject({
      stream: z.string().describe('Another stream of this pipeline (read in full from its source).'),
      column: z.string().describe('Its key column.'),
    }),
    z.strictObject({
      table: z.string().describe('A table of the destination (`schema.table` or a table of the destination\'s schema).'),
      column: z.string().describe('Its key column.'),
    }),
  ]).describe('What the column references: `{ stream, column }` or `{ table, column }`.'),
});

export const relationshipsCheck = defineCheck<z.output<typeof options>>({
  kind: 'relationships',
  description: 'Referential integrity: fails a row whose value is not a key of the referenced stream or table. Nulls pass (use not_null).',
  level: 'row',
  options,
  streams: ({ to }) => ('stream' in to ? [{ stream: to.stream, path: ['to', 'stream'] }] : []),
  compile({ column, to }, env) {
    let keys: Set<string> | undefined;
    // The keys that are an integer's text as String() writes it, as numbers: an integer value is then looked up
    // without making its text (keyOf) and hashing it; it is in `ints` exactly when its text is in `keys`.
    let ints: KeySet | undefined;
    const target = 'stream' in to ? `${to.stream}.${to.column}` : `${to.table}.${to.column}`;
    return scanCheck({
      label: `relationships(${column} → ${target})`,
      columns: [column],
      consistency: true,
      async prepare() {
        if ('stream' in to) {
          if (!env.readStream) throw new RunError(`check relationships(${column}): streams cannot be read here`, env.stream);
          keys = await collectKeys(env.readStream(to.stream), [to.column]);
        } else {
          if (!env.readTable) throw new RunError(`check relationships(${column}): the destination cannot be read back`, env.stream);
          keys = await collectKeys(env.readTable(to.table, [to.column]), [to.column]);
        }
        ints = new KeySet();
        for (const k of keys) {
          const n = Number(k);
          if ((n | 0) === n && String(n) === k) ints.add(n);
        }
      },
      scan(resolve) {
        const at = resolve(column);
        return (rows, fail) => {
          if (at < 0) return;
          const known = keys!;
          const knownInts = ints!;
          for (let i = 0; i < rows.length; i++) {
            const v = rows[i][at];
            if (v === null || v === undefined) continue;
            if (typeof v === 'number' && (v | 0) === v ? !knownInts.has(v) : !known.has(keyOf(v))) fail(i, `column "${column}": ${shown(v)} is not in ${target}`);
          }
        };
      },
    });
  },
});
