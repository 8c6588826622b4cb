// `aggregate: { group_by: [customer_id], metrics: { orders: count, revenue: { sum: total } } }`: one row per group
// at the end of the stream (a blocking step: memory is one accumulator per group). Rows folded into a group count as
// filtered, so extracted = loaded + dead_lettered + filtered still holds.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { compareValues, toNumber } from '../../expr/values.js';
import { Frame, setKey } from '../frame.js';
import { defineStep, keyText } from '../step.js';

type Fn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'count_distinct';

const metric = z.union([
  z.literal('count').describe('Rows in the group.'),
  z.strictObject({ count: z.string().describe('Non-null values of this column.') }),
  z.strictObject({ sum: z.string().describe('Sum of this column (numbers or numeric text).') }),
  z.strictObject({ avg: z.string().describe('Average of this column, ignoring nulls.') }),
  z.strictObject({ min: z.string().describe('Smallest value of this column.') }),
  z.strictObject({ max: z.string().describe('Largest value of this column.') }),
  z.strictObject({ count_distinct: z.string().describe('Distinct non-null values of this column.') }),
]);

const options = z.strictObject({
  group_by: z.array(z.string()).default([]).describe('Columns to group by; empty: one row for the whole stream.'),
  metrics: z.record(z.string(), metric).refine((m) => Object.keys(m).length > 0, 'at least one metric')
    .describe('Output column → `count` or `{ count | sum | avg | min | max | count_distinct: column }`.'),
});

type Options = z.output<typeof options>;

interface Acc { n: number; sum: number; best: unknown; distinct?: Set<string> }

export const aggregateStep = defineStep<Options>({
  kind: 'aggregate',
  description: 'Group rows and compute count, sum, avg, min, max, count_distinct. Emits one row per group at the '
    + 'end of the stream (blocking; memory grows with the number of groups). Folded rows count as filtered. It sees '
    + 'the rows of one run: on an incremental stream only the new ones, so load a stream of totals with `write: replace`.',
  options,
  blocking: () => true,
  compile(o) {
    const metrics = Object.entries(o.metrics).map(([name, m]) => {
      if (m === 'count') return { name, fn: 'count' as Fn, column: undefined };
      const [fn, column] = Object.entries(m)[0] as [Fn, string];
      return { name, fn, column };
    });
    const groups = new Map<string, { keys: unknown[]; accs: Acc[] }>();
    let rowsIn = 0;
    return {
      apply(frame) {
        const keyGets = o.group_by.map((c) => frame.getter(c));
        const colGets = metrics.map((m) => (m.column ? frame.getter(m.column) : undefined));
        const rows = frame.values;
        const prepared: unknown[] = new Array(metrics.length);
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i];
          const keys = keyGets.map((g) => g(r));
          const k = keys.map((v) => (v === null || v === undefined ? '\u0000' : keyText(v))).join('\u0001');
          let g = groups.get(k);
          // Check every metric's value first, so a row that fails one metric adds to none.
          let bad: string | undefined;
          for (let m = 0; m < metrics.length && !bad; m++) {
            const get = colGets[m];
            const v = get ? get(r) : undefined;
            prepared[m] = v;
            if (v === null || v === undefined) continue;
            const fn = metrics[m].fn;
            try {
              if (fn === 'sum' || fn === 'avg') prepared[m] = toNumber(v);
              else if ((fn === 'min' || fn === 'max') && g && g.accs[m].best !== null && compareValues(v, g.accs[m].best) === undefined) {
                bad = `aggregate ${metrics[m].name}: cannot compare ${String(v)} with ${String(g.accs[m].best)}`;
              }
            } catch (e) {
              bad = `aggregate ${metrics[m].name}: ${(e as Error).message}`;
            }
          }
          if (bad) {
            frame.reject(i, bad);
            continue;
          }
          if (!g) {
            g = { keys, accs: metrics.map((m) => ({ n: 0, sum: 0, best: null, ...(m.fn === 'count_distinct' ? { distinct: new Set<string>() } : {}) })) };
            groups.set(k, g);
          }
          for (let m = 0; m < metrics.length; m++) {
            const acc = g.accs[m];
            const fn = metrics[m].fn;
            if (!colGets[m]) { acc.n++; continue; }
            const v = prepared[m];
            if (v === null || v === undefined) continue;
            acc.n++;
            if (fn === 'sum' || fn === 'avg') acc.sum += v as number;
            else if (fn === 'count_distinct') acc.distinct!.add(keyText(v));
            else if (fn === 'min' || fn === 'max') {
              const c = acc.best === null ? 0 : compareValues(v, acc.best)!;
              if (acc.best === null || (fn === 'min' ? c < 0 : c > 0)) acc.best = v;
            }
          }
          frame.hold(i);
          rowsIn++;
        }
        return frame;
      },
      flush() {
        const out: Row[] = [];
        for (const g of groups.values()) {
          const row: Row = {};
          o.group_by.forEach((c, k) => setKey(row, c, g.keys[k] ?? null));
          metrics.forEach((m, k) => {
            const a = g.accs[k];
            const value = m.fn === 'count' ? a.n : m.fn === 'sum' ? (a.n ? a.sum : null) : m.fn === 'avg' ? (a.n ? a.sum / a.n : null)
              : m.fn === 'count_distinct' ? a.distinct!.size : a.best;
            setKey(row, m.name, value);
          });
          out.push(row);
        }
        const frame = Frame.objects(out, new Array(out.length).fill(-1));
        // Every input row became part of a group row: the difference is accounted as filtered.
        frame.filteredElsewhere = Math.max(rowsIn - out.length, 0);
        groups.clear();
        return frame;
      },
      types(declared) {
        declared.clear();
      },
    };
  },
});
