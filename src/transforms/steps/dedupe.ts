// `dedupe: { key: [order_id], keep: first | last | { latest: { by: updated_at } } }` or `dedupe: { hash: true }`.
// Within one run. `first` (and `hash`) stream: memory is one key per distinct key seen (a content hash is 27
// characters whatever the row). `last` and `latest` must see the whole stream before they know which row wins:
// they hold one row per distinct key and emit them at the end of the stream (a blocking step).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { compareValues } from '../../expr/values.js';
import { Frame } from '../frame.js';
import { IntSet, intOfText } from '../int-set.js';
import { defineStep, keyGetter, keyText } from '../step.js';

const options = z.strictObject({
  key: z.array(z.string()).min(1).optional().describe('Columns that identify a row. Rows with a null key part are never duplicates.'),
  keep: z.union([
    z.enum(['first', 'last']),
    z.strictObject({ latest: z.strictObject({ by: z.string().describe('Column ordering the versions of a key (a timestamp, a version number).') }).describe('Keep the row with the greatest `by` value.') }),
  ]).default('first').describe('Which duplicate survives: `first` (streaming), `last` or `{ latest: { by: column } }` (held until the end of the stream).'),
  hash: z.boolean().optional().describe('Deduplicate identical rows (a hash of every column) instead of a key; keeps the first.'),
}).refine((o) => (o.key ? 1 : 0) + (o.hash ? 1 : 0) === 1, { message: 'give either `key: [columns]` or `hash: true`' });

type Options = z.output<typeof options>;

/** SHA-1 of a row's values in column order (objects: sorted keys), so equal rows hash equally. */
function rowHash(frame: Frame, i: number): string {
  const h = createHash('sha1');
  if (frame.layout) {
    const row = frame.values[i];
    for (const s of frame.layout.slots) h.update(`${JSON.stringify(row[s] ?? null, big)}\u0001`);
  } else {
    const row = frame.rows[i];
    for (const k of Object.keys(row).sort()) h.update(`${k}\u0002${JSON.stringify(row[k] ?? null, big)}\u0001`);
  }
  return h.digest('base64');
}
const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export const dedupeStep = defineStep<Options>({
  kind: 'dedupe',
  wholeStream: true,
  description: 'Drop duplicate rows within a run, by key (keep first, last, or latest by a column) or by content '
    + 'hash. Memory grows with the number of distinct keys; `last`/`latest` hold one row per key until the end of '
    + 'the stream. Dropped duplicates count as filtered.',
  options,
  blocking: (o) => !o.hash && o.keep !== 'first',
  compile(o) {
    if (o.hash || o.keep === 'first') {
      const seen = new Set<string>();
      // Integer keys (most ids) are kept as numbers in a typed array: far smaller than text, and no work for the GC.
      const seenInts = new IntSet();
      const single = o.key?.length === 1 ? o.key[0] : undefined;
      return {
        apply(frame) {
          const rows = frame.values;
          if (single !== undefined) {
            const get = frame.getter(single);
            for (let i = 0; i < rows.length; i++) {
              const v = get(rows[i]);
              if (v === null || v === undefined) continue;
              const n = typeof v === 'number' ? (Number.isSafeInteger(v) ? v : undefined) : typeof v === 'string' ? intOfText(v) : undefined;
              if (n !== undefined) {
                if (!seenInts.add(n)) frame.drop(i);
                continue;
              }
              const k = keyText(v);
              if (seen.has(k)) frame.drop(i);
              else seen.add(k);
            }
            return frame;
          }
          const key = o.hash ? undefined : keyGetter(frame, o.key!);
          for (let i = 0; i < rows.length; i++) {
            const k = key ? key(rows[i]) : rowHash(frame, i);
            if (k === null) continue;
            if (seen.has(k)) frame.drop(i);
            else seen.add(k);
          }
          return frame;
        },
      };
    }
    const by = typeof o.keep === 'object' ? o.keep.latest.by : undefined;
    const held = new Map<string, Row>();
    let replaced = 0;
    return {
      apply(frame) {
        const key = keyGetter(frame, o.key!);
        const order = by ? frame.getter(by) : undefined;
        const rows = frame.values;
        for (let i = 0; i < rows.length; i++) {
          const k = key(rows[i]);
          if (k === null) continue;
          frame.hold(i);
          const row = frame.rowAt(i);
          const prev = held.get(k);
          if (prev !== undefined) {
            replaced++;
            // A later row wins ties; a null `by` never beats a value.
            if (order) {
              const mine = order(frame.layout ? rows[i] : row);
              const theirs = prev[by!] ?? null;
              if (mine === null || mine === undefined) { if (theirs !== null) continue; }
              else if (theirs !== null && (compareValues(mine, theirs) ?? 0) < 0) continue;
            }
          }
          held.set(k, frame.layout ? row : { ...row });
        }
        frame.filteredElsewhere += replaced;
        replaced = 0;
        return frame;
      },
      flush() {
        const out = Frame.objects([...held.values()], new Array(held.size).fill(-1));
        held.clear();
        return out;
      },
    };
  },
});
