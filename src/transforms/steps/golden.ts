// `golden`: one record per entity from the records of several sources about it (after `resolve` gave them one id):
// each column's value is chosen by source priority — the first non-null value in the order of trust — or by a rule
// (max, min, mean, most common), and every source's own value of the columns named in `keep` stays beside it
// (`forty_nfl`, `forty_cfr`), so a golden value can always be traced to where it came from. Blocking: it holds the
// stream's rows to the end; the records folded into another count as filtered.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { compareValues, toNumber } from '../../expr/values.js';
import { Frame, setKey } from '../frame.js';
import { defineStep, keyText } from '../step.js';

const rule = z.union([
  z.enum(['priority', 'max', 'min', 'mean', 'most_common']),
  z.strictObject({ priority: z.array(z.string()).min(1).describe('Sources in order of trust for this column.') }),
]);

const options = z.strictObject({
  by: z.string().describe('The entity id column (the one `resolve` writes).'),
  source: z.string().describe('Column naming each record\'s source.'),
  priority: z.array(z.string()).default([]).describe('Sources in order of trust: by default a column takes the first non-null value in this order (sources not named follow, by name).'),
  rules: z.record(z.string(), rule).default({})
    .describe('Per column, another way to choose: `max`, `min`, `mean`, `most_common` (ties: by priority), or `{ priority: [..] }` of its own.'),
  keep: z.array(z.string()).default([]).describe('Columns whose value from each source is kept beside the golden one, as `<column>_<source>`.'),
  drop: z.array(z.string()).default([]).describe('Columns not carried into the golden record (a source\'s own keys, match scores).'),
  sources_column: z.string().nullable().default('sources').describe('Column listing the sources that described the entity (`cfr,nfl`, in priority order); null: none.'),
});

type Options = z.output<typeof options>;
type Rule = z.output<typeof rule>;

export const goldenStep = defineStep<Options>({
  kind: 'golden',
  description: 'Merge the records of one entity from several sources into one golden record: per column the first '
    + 'non-null value by source priority, or a rule (max, min, mean, most_common), with each source\'s value of the '
    + '`keep` columns beside it. Blocking: holds the stream\'s rows until its end.',
  options,
  blocking: () => true,
  compile(o) {
    const rank = new Map(o.priority.map((s, i) => [s, i]));
    const order = (a: string, b: string) => (rank.get(a) ?? rank.size) - (rank.get(b) ?? rank.size) || (a < b ? -1 : a > b ? 1 : 0);
    const skip = new Set([o.by, o.source, ...o.drop]);
    const groups = new Map<string, Row[]>();
    const columns: string[] = [];
    const seen = new Set<string>();
    let rowsIn = 0;
    return {
      apply(frame) {
        for (let i = 0; i < frame.length; i++) {
          const row = frame.rowAt(i);
          const id = row[o.by];
          if (id === null || id === undefined || row[o.source] === null || row[o.source] === undefined) {
            frame.reject(i, `golden: a record needs its entity id (${o.by}) and source (${o.source})`);
            continue;
          }
          for (const c of Object.keys(row)) {
            if (!seen.has(c)) {
              seen.add(c);
              if (!skip.has(c)) columns.push(c);
            }
          }
          const k = keyText(id);
          const list = groups.get(k);
          if (list) list.push(row);
          else groups.set(k, [row]);
          frame.hold(i);
          rowsIn++;
        }
        return frame;
      },
      flush() {
        if (groups.size === 0) return undefined;
        const out: Row[] = [];
        const rejected: { row: Row; reason: string }[] = [];
        for (const rows of groups.values()) {
          rows.sort((a, b) => order(String(a[o.source]), String(b[o.source])));
          const golden: Row = {};
          setKey(golden, o.by, rows[0][o.by]);
          let problem: string | undefined;
          for (const c of columns) {
            try {
              setKey(golden, c, choose(rows, c, o.rules[c] ?? 'priority', o.source, order));
            } catch (e) {
              problem ??= `golden ${c}: ${(e as Error).message}`;
            }
          }
          const sources = [...new Set(rows.map((r) => String(r[o.source])))];
          for (const c of o.keep) {
            for (const s of sources) setKey(golden, `${c}_${s}`, rows.find((r) => String(r[o.source]) === s && r[c] != null)?.[c] ?? null);
          }
          if (o.sources_column) setKey(golden, o.sources_column, sources.join(','));
          if (problem) rejected.push({ row: golden, reason: problem });
          else out.push(golden);
        }
        const frame = Frame.objects([...out, ...rejected.map((r) => r.row)], new Array(out.length + rejected.length).fill(-1));
        rejected.forEach((r, i) => frame.reject(out.length + i, r.reason));
        frame.filteredElsewhere = Math.max(rowsIn - groups.size, 0);
        groups.clear();
        return frame;
      },
      types(declared) {
        for (const c of o.keep) {
          const t = declared.get(c);
          if (t) for (const s of o.priority) declared.set(`${c}_${s}`, t);
        }
        for (const [c, r] of Object.entries(o.rules)) if (r === 'mean') declared.set(c, 'double');
        declared.delete(o.source);
        for (const c of o.drop) declared.delete(c);
        if (o.sources_column) declared.set(o.sources_column, 'text');
      },
    };
  },
});

/** One column's golden value among an entity's records (sorted by source priority). */
function choose(rows: Row[], column: string, rule: Rule, sourceColumn: string, order: (a: string, b: string) => number): unknown {
  const values = rows.map((r) => r[column]).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) return null;
  if (rule === 'priority') return values[0];
  if (typeof rule === 'object') {
    const own = new Map(rule.priority.map((s, i) => [s, i]));
    const ranked = rows.filter((r) => r[column] !== null && r[column] !== undefined)
      .sort((a, b) => (own.get(String(a[sourceColumn])) ?? own.size) - (own.get(String(b[sourceColumn])) ?? own.size)
        || order(String(a[sourceColumn]), String(b[sourceColumn])));
    return ranked[0][column];
  }
  if (rule === 'mean') return values.reduce((sum: number, v) => sum + (toNumber(v) ?? 0), 0) / values.length;
  if (rule === 'most_common') {
    const counts = new Map<string, { n: number; v: unknown }>();
    for (const v of values) {
      const c = counts.get(keyText(v));
      if (c) c.n++;
      else counts.set(keyText(v), { n: 1, v });
    }
    let best: { n: number; v: unknown } | undefined;
    for (const c of counts.values()) if (!best || c.n > best.n) best = c;
    return best!.v;
  }
  let best = values[0];
  for (const v of values.slice(1)) {
    const c = compareValues(v, best);
    if (c === undefined) throw new Error(`cannot compare ${String(v)} with ${String(best)}`);
    if (rule === 'max' ? c > 0 : c < 0) best = v;
  }
  return best;
}
