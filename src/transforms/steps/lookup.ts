// `lookup: { stream: customers, on: { customer_id: id }, columns: { customer_name: name } }`: enrich rows from
// another stream of the pipeline (read in full from its source, before that stream's own transforms) or from a
// destination table (`table: dim_customers`). The lookup side is loaded once per run into a Map, on the first batch:
// it is meant for dimension-sized data (up to `max_rows`), not for joining two large streams.
import { z } from 'zod';
import { RunError } from '../../core/errors.js';
import type { Row } from '../../core/types.js';
import { defineStep, keyGetter, keyText, setColumn } from '../step.js';

const options = z.strictObject({
  stream: z.string().optional().describe('Another stream of this pipeline to look rows up in.'),
  table: z.string().optional().describe('A table of the destination to look rows up in (e.g. one an earlier run loaded).'),
  on: z.union([z.array(z.string()).min(1), z.record(z.string(), z.string())])
    .describe('Join columns: `[id]` when both sides use the same names, or `{ this_column: lookup_column }`. Values match as text (`1` matches "1").'),
  columns: z.union([z.array(z.string()).min(1), z.record(z.string(), z.string())])
    .describe('Lookup columns to add: `[name]`, or `{ new_column: lookup_column }` to rename them.'),
  // Not `null`: YAML reads an unquoted null as no value at all.
  on_missing: z.enum(['keep', 'reject', 'drop']).default('keep')
    .describe('No match: `keep` the row with null lookup columns, `reject` it to the dead-letter queue, or `drop` it (counted as filtered).'),
  max_rows: z.int().min(1).default(1_000_000).describe('Fail the stream rather than hold a lookup side larger than this in memory.'),
}).refine((o) => !!o.stream !== !!o.table, { message: 'give either `stream` or `table`' });

type Options = z.output<typeof options>;

const pairs = (v: string[] | Record<string, string>): [string, string][] =>
  Array.isArray(v) ? v.map((c) => [c, c]) : Object.entries(v);

export const lookupStep = defineStep<Options>({
  kind: 'lookup',
  description: 'Add columns from another stream of the pipeline or a destination table, matched on key columns. '
    + 'The lookup side is loaded into memory once per run (dimension-sized data; see `max_rows`).',
  options,
  compile(o, env) {
    const on = pairs(o.on);
    const cols = pairs(o.columns);
    const owners = cols.map(() => ({}));
    let table: Promise<Map<string, unknown[]>> | undefined;
    const source = o.stream ? `stream "${o.stream}"` : `table "${o.table}"`;

    async function load(): Promise<Map<string, unknown[]>> {
      const wanted = [...new Set([...on.map(([, r]) => r), ...cols.map(([, r]) => r)])];
      let rows: AsyncIterable<Row[]>;
      if (o.stream) {
        if (!env.readStream) throw new RunError(`lookup: cannot read ${source} here`, env.stream);
        rows = env.readStream(o.stream);
      } else {
        if (!env.readTable) throw new RunError(`lookup: the destination cannot be read, so ${source} cannot be looked up`, env.stream);
        rows = env.readTable(o.table!, wanted);
      }
      const map = new Map<string, unknown[]>();
      for await (const batch of rows) {
        for (const row of batch) {
          let key = '';
          let ok = true;
          on.forEach(([, r], k) => {
            const v = Object.hasOwn(row, r) ? row[r] : null;
            if (v === null || v === undefined) ok = false;
            else key += (k ? '\u0001' : '') + keyText(v);
          });
          if (!ok) continue;
          map.set(key, cols.map(([, r]) => (Object.hasOwn(row, r) ? row[r] ?? null : null)));
          if (map.size > o.max_rows) throw new RunError(`lookup: ${source} has more than max_rows=${o.max_rows} keys; raise max_rows or join in the warehouse`, env.stream);
        }
      }
      return map;
    }

    return {
      adds: cols.length,
      async apply(frame) {
        const map = await (table ??= load());
        const key = keyGetter(frame, on.map(([l]) => l));
        const rows = frame.values;
        const found = new Array<unknown[] | undefined>(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const k = key(rows[i]);
          const hit = k === null ? undefined : map.get(k);
          found[i] = hit;
          if (hit === undefined) {
            if (o.on_missing === 'reject') frame.reject(i, `lookup: no row in ${source} matches ${on.map(([l]) => l).join(', ')}`);
            else if (o.on_missing === 'drop') frame.drop(i);
          }
        }
        cols.forEach(([name], c) => setColumn(frame, owners[c], name, found.map((f) => f?.[c] ?? null)));
        return frame;
      },
      types(declared) {
        for (const [name] of cols) declared.delete(name);
      },
    };
  },
});
