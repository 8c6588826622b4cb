// `golden`: one record per entity from the records of several sources about it (after `resolve` gave them one id):
// each column's value is chosen by source priority — the first non-null value in the order of trust — or by a rule
// (max, min, mean, most common), and every source's own value of the columns named in `keep` stays beside it
// (`forty_nfl`, `forty_cfr`), so a golden value can always be traced to where it came from. Blocking: it holds the
// stream's rows to the end; the records folded into another count as filtered.
//
// With `lineage`, each golden value also says where it came from, in a child table loaded with the stream (like
// flatten's): one row per entity and column with the source (and columns such as its record key and extraction id)
// of the record that gave the value, so `data_lineage` answers "why is this the golden forty time" without re-running.
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { compareValues, toNumber } from '../../expr/values.js';
import { Frame, setKey } from '../frame.js';
import { defineStep, FLUSH_ROWS, keyText } from '../step.js';
import { PARENT_MARKER } from './flatten.js';

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
  lineage: z.strictObject({
    table: z.string().min(1).describe('Child table of the lineage rows, loaded with the stream (replaced with it, or per entity on merge).'),
    columns: z.array(z.string()).default([]).describe('Columns of the record that gave each value carried into its lineage row (its source key, `extraction_id`).'),
  }).optional().describe('Where each golden value came from: a row per entity and column with `column`, `source` (the record\'s source; every contributing source for `mean`), `rule` and the `columns` named here, plus `_parent_key` (the entity id as text) and `_idx`.'),
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
  compile(o, env) {
    const rank = new Map(o.priority.map((s, i) => [s, i]));
    const order = (a: string, b: string) => (rank.get(a) ?? rank.size) - (rank.get(b) ?? rank.size) || (a < b ? -1 : a > b ? 1 : 0);
    const skip = new Set([o.by, o.source, ...o.drop]);
    const groups = new Map<string, Row[]>();
    const columns: string[] = [];
    const seen = new Set<string>();
    let rowsIn = 0;
    let lineage: Row[] = [];
    /** The golden records, FLUSH_ROWS at a time; each entity's records are let go once its golden record is made. */
    function* emit(): Generator<Frame> {
      // The records folded into another, counted once.
      let folded = Math.max(rowsIn - groups.size, 0);
      let out: Row[] = [];
      let rejected: { row: Row; reason: string }[] = [];
      const frame = (): Frame => {
        const f = Frame.objects([...out, ...rejected.map((r) => r.row)], new Array(out.length + rejected.length).fill(-1));
        rejected.forEach((r, i) => f.reject(out.length + i, r.reason));
        f.filteredElsewhere = folded;
        folded = 0;
        out = [];
        rejected = [];
        return f;
      };
      for (const [key, rows] of groups) {
        groups.delete(key);
        rows.sort((a, b) => order(String(a[o.source]), String(b[o.source])));
        const golden: Row = {};
        const id = rows[0][o.by];
        setKey(golden, o.by, id);
        const parent = keyText(id);
        const traced: Row[] = o.lineage && env.replaceChildren ? [{ _parent_key: parent, [PARENT_MARKER]: true }] : [];
        let problem: string | undefined;
        columns.forEach((c, idx) => {
          const r = o.rules[c] ?? 'priority';
          try {
            const chosen = choose(rows, c, r, o.source, order);
            setKey(golden, c, chosen.value);
            if (o.lineage && chosen.from.length) traced.push(lineageRow(o, chosen.from, id, parent, c, idx, r));
          } catch (e) {
            problem ??= `golden ${c}: ${(e as Error).message}`;
          }
        });
        const sources = [...new Set(rows.map((r) => String(r[o.source])))];
        for (const c of o.keep) {
          for (const s of sources) setKey(golden, `${c}_${s}`, rows.find((r) => String(r[o.source]) === s && r[c] != null)?.[c] ?? null);
        }
        if (o.sources_column) setKey(golden, o.sources_column, sources.join(','));
        if (problem) {
          rejected.push({ row: golden, reason: problem });
        } else {
          out.push(golden);
          for (const t of traced) lineage.push(t);
        }
        if (out.length + rejected.length >= FLUSH_ROWS) yield frame();
      }
      if (out.length + rejected.length > 0) yield frame();
    }

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
        return groups.size === 0 ? undefined : emit();
      },
      ...(o.lineage ? {
        takeChildren() {
          if (!lineage.length) return undefined;
          const out = new Map([[o.lineage!.table, lineage]]);
          lineage = [];
          return out;
        },
      } : {}),
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

/** The lineage row of one golden value: the record(s) it came from. */
function lineageRow(o: Options, from: Row[], id: unknown, parent: string, column: string, idx: number, rule: Rule): Row {
  const row: Row = { _parent_key: parent, _idx: idx };
  setKey(row, o.by, id);
  row.column = column;
  row.source = [...new Set(from.map((r) => String(r[o.source])))].join(',');
  row.rule = typeof rule === 'object' ? `priority: ${rule.priority.join(', ')}` : rule;
  // A value made of several records (a mean) names them all, and no one record's columns.
  for (const c of o.lineage!.columns) setKey(row, c, from.length === 1 ? from[0][c] ?? null : null);
  return row;
}

/** One column's golden value among an entity's records (sorted by source priority), and the records it came from. */
function choose(rows: Row[], column: string, rule: Rule, sourceColumn: string, order: (a: string, b: string) => number): { value: unknown; from: Row[] } {
  const present = rows.filter((r) => r[column] !== null && r[column] !== undefined);
  if (present.length === 0) return { value: null, from: [] };
  if (rule === 'priority') return { value: present[0][column], from: [present[0]] };
  if (typeof rule === 'object') {
    const own = new Map(rule.priority.map((s, i) => [s, i]));
    const ranked = present.sort((a, b) => (own.get(String(a[sourceColumn])) ?? own.size) - (own.get(String(b[sourceColumn])) ?? own.size)
      || order(String(a[sourceColumn]), String(b[sourceColumn])));
    return { value: ranked[0][column], from: [ranked[0]] };
  }
  if (rule === 'mean') return { value: present.reduce((sum: number, r) => sum + (toNumber(r[column]) ?? 0), 0) / present.length, from: present };
  if (rule === 'most_common') {
    const counts = new Map<string, { n: number; row: Row }>();
    for (const r of present) {
      const c = counts.get(keyText(r[column]));
      if (c) c.n++;
      else counts.set(keyText(r[column]), { n: 1, row: r });
    }
    let best: { n: number; row: Row } | undefined;
    for (const c of counts.values()) if (!best || c.n > best.n) best = c;
    return { value: best!.row[column], from: [best!.row] };
  }
  let best = present[0];
  for (const r of present.slice(1)) {
    const c = compareValues(r[column], best[column]);
    if (c === undefined) throw new Error(`cannot compare ${String(r[column])} with ${String(best[column])}`);
    if (rule === 'max' ? c > 0 : c < 0) best = r;
  }
  return { value: best[column], from: [best] };
}
