// `resolve`: entity resolution. The stream's rows are records from several sources about the same real-world
// entities (players, companies, customers); each gets the id of the entity it describes, the same on every run.
// Blocking: it holds the stream's records to the end, then matches them all (src/transforms/entity/matcher.ts says how)
// and emits them with the id, the rule that matched them and the score — in the order they came, a few thousand at a
// time. Only what matching compares is held in memory (as columns); the rows wait in a temporary file (../spill.ts):
// at 1M records, holding them whole, and emitting them as one batch, took 2 GB. Earlier ids are read back from the
// stream's own table (the crosswalk: source, key and id of every record), so a record keeps its entity's id and a new
// record never renumbers an old one. An ambiguous record is not guessed: it goes to the dead-letter queue with both
// candidates in its reason (the review queue: add an alias or an id, then `sluice dlq replay`).
import { z } from 'zod';
import { collectGarbage } from '../../core/collect-garbage.js';
import { objectResolver, type Getter } from '../../expr/compile.js';
import { aliasTable, comparable, comparableOf, normalizeName } from '../entity/normalize.js';
import { MatchTable, RULES, matchTable } from '../entity/matcher.js';
import type { Frame } from '../frame.js';
import { RowSpill } from '../spill.js';
import { defineStep, keyText, setColumn } from '../step.js';

const options = z.strictObject({
  id: z.string().describe('Column the entity id is written to (e.g. `prospect_id`).'),
  source: z.string().describe('Column naming the source of each record (e.g. the `_source` a `tables` stream adds).'),
  key: z.array(z.string()).min(1).describe('Columns identifying a record within its source; with `source`, the key of the crosswalk.'),
  name: z.string().optional().describe('Column compared by similarity: Jaro–Winkler on names normalized for case, accents, punctuation and suffixes (Jr., II).'),
  block: z.array(z.string()).default([]).describe('Blocking columns: only records with equal (normalized) values here are compared by name, e.g. `[draft_year, position_group]`.'),
  ids: z.array(z.string()).default([]).describe('Exact-id columns: records with the same value are one entity; different values are never one.'),
  agree: z.array(z.string()).default([]).describe('Columns that must not disagree (normalized, through `aliases`) when both records have a value, e.g. `[school]`.'),
  penalties: z.record(z.string(), z.number().min(0).max(1)).default({})
    .describe('Columns that count against a match without ruling it out: when both records have a value and they differ (normalized, through `aliases`), the name similarity is lowered by this much, e.g. `{ school: 0.06 }` (a transfer, or a source with the wrong school).'),
  aliases: z.record(z.string(), z.record(z.string(), z.string())).default({})
    .describe('Per column, other spellings and the one they stand for: `{ school: { "Southern California": USC } }`.'),
  threshold: z.number().min(0).max(1).default(0.92).describe('Lowest name similarity (0–1) that matches.'),
  margin: z.number().min(0).max(1).default(0.02).describe('A record whose two best candidates score within this of each other is ambiguous: sent for review, not guessed.'),
  priority: z.array(z.string()).default([])
    .describe('Sources in order of trust: their records are matched first and found the entities others join. Sources not named follow, by name.'),
  one_per_source: z.boolean().default(true).describe('An entity holds at most one record of each source (two records of one source are two entities).'),
  prefix: z.string().default('').describe('Text before every new entity id (ids are derived from the first record\'s source and key).'),
  score_column: z.string().nullable().default('match_score').describe('Column for the name similarity that matched the record (null for the first record of an entity); null: none.'),
  rule_column: z.string().nullable().default('match_rule').describe('Column for how the record matched: `new`, `id` or `name`; null: none.'),
  crosswalk: z.string().optional().describe('Table holding earlier runs\' ids (its `source`, `key` and `id` columns); default: this stream\'s own table.'),
});

type Options = z.output<typeof options>;

export const resolveStep = defineStep<Options>({
  kind: 'resolve',
  description: 'Entity resolution: give every record the id of the real-world entity it describes, matching records of '
    + 'several sources by exact ids and by name similarity within blocks, with ids stable across runs and ambiguous '
    + 'records sent to the dead-letter queue for review. Blocking: holds the stream\'s rows until its end.',
  options,
  blocking: () => true,
  compile(o, env) {
    const soft = Object.entries(o.penalties);
    const agreeValues = o.agree.map((c) => comparableOf(aliasTable(o.aliases[c])));
    const softValues = soft.map(([c]) => comparableOf(aliasTable(o.aliases[c])));
    const blockValues = o.block.map((c) => comparableOf(aliasTable(o.aliases[c])));
    const rank = new Map(o.priority.map((s, i) => [s, i]));
    // Held to the end: what matching reads, as columns (MatchTable); the rows themselves wait in a file, in the order
    // they came, and go out in that order with their ids.
    let table = new MatchTable(o.ids.length, o.agree.length, soft.length);
    const spill = new RowSpill();

    /**
     * Earlier runs' ids of the held records, from the crosswalk, read once every record is known: a map of the whole
     * crosswalk by source and key (text made for each of its rows), held through the stream, was the most memory a
     * second run of 1M records took.
     */
    async function readPrevious(): Promise<void> {
      const crosswalk = o.crosswalk ?? env.targetTable;
      if (!crosswalk || !env.readTable) return;
      const keys = o.key.map(objectResolver);
      // Held records by source, then key (the held key strings themselves); made at the crosswalk's first row, as a
      // first run reads none.
      let held: Map<string, Map<string, number | number[]>> | undefined;
      const ids = new Map<string, string>();
      for await (const batch of env.readTable(crosswalk, [o.source, ...o.key, o.id])) {
        for (const r of batch) {
          const key = keyOf(r, keys);
          if (key === null || r[o.source] == null || r[o.id] == null) continue;
          held ??= heldByKey();
          const at = held.get(String(r[o.source]))?.get(key);
          if (at === undefined) continue;
          // One string per id, not per record.
          let id = String(r[o.id]);
          id = ids.get(id) ?? (ids.set(id, id), id);
          if (typeof at === 'number') table.previous[at] = id;
          else for (const i of at) table.previous[i] = id;
        }
      }
    }

    function heldByKey(): Map<string, Map<string, number | number[]>> {
      const bySource = table.sourceNames.map(() => new Map<string, number | number[]>());
      for (let i = 0; i < table.length; i++) {
        const records = bySource[table.source[i]];
        const key = table.key[i];
        const had = records.get(key);
        if (had === undefined) records.set(key, i);
        else if (typeof had === 'number') records.set(key, [had, i]);
        else had.push(i);
      }
      return new Map(table.sourceNames.map((s, k) => [s, bySource[k]]));
    }

    /** The held records in the order they are matched: by source priority, then source, then key. */
    function matchOrder(): number[] {
      const ranks = table.sourceNames.map((s) => sourceRank(rank, s));
      const { source, key, sourceNames } = table;
      return Array.from({ length: table.length }, (_, i) => i).sort((a, b) => {
        const sa = source[a];
        const sb = source[b];
        if (sa !== sb) return ranks[sa] - ranks[sb] || (sourceNames[sa] < sourceNames[sb] ? -1 : 1);
        return key[a] < key[b] ? -1 : key[a] > key[b] ? 1 : 0;
      });
    }

    async function* emit(): AsyncGenerator<Frame> {
      await readPrevious();
      // What the stream's rows left behind on their way to the spill goes before matching builds its indexes.
      collectGarbage();
      const m = matchTable(table, matchOrder(), {
        threshold: o.threshold, margin: o.margin, onePerSource: o.one_per_source, prefix: o.prefix, penalties: soft.map(([, p]) => p),
        collect: collectGarbage,
      });
      table = new MatchTable(o.ids.length, o.agree.length, soft.length);
      // The match table and the matching's working sets are garbage now; the rows about to go out would otherwise
      // pile up beside them (../../core/collect-garbage.ts).
      collectGarbage();
      let at = 0;
      const owner = {};
      for (const frame of spill.frames()) {
        const n = frame.length;
        const id = new Array<unknown>(n);
        const rule = new Array<unknown>(n);
        const score = new Array<unknown>(n);
        for (let j = 0; j < n; j++, at++) {
          const e = m.entity[at];
          id[j] = e < 0 ? null : m.ids[e];
          rule[j] = e < 0 ? null : RULES[m.rule[at]];
          score[j] = Number.isNaN(m.score[at]) ? null : m.score[at];
          const reason = m.ambiguous.get(at);
          if (reason !== undefined) frame.reject(j, `resolve: ${reason}`);
        }
        setColumn(frame, owner, o.id, id);
        if (o.rule_column) setColumn(frame, owner, o.rule_column, rule);
        if (o.score_column) setColumn(frame, owner, o.score_column, score);
        yield frame;
      }
    }

    return {
      adds: 3,
      apply(frame) {
        const rows = frame.values;
        const sourceOf = frame.getter(o.source);
        const keys = o.key.map((c) => frame.getter(c));
        const nameOf = o.name ? frame.getter(o.name) : undefined;
        const block = o.block.map((c) => frame.getter(c));
        const ids = o.ids.map((c) => frame.getter(c));
        const agree = o.agree.map((c) => frame.getter(c));
        const penalized = soft.map(([c]) => frame.getter(c));
        const held: number[] = [];
        for (let i = 0; i < frame.length; i++) {
          const row = rows[i];
          const source = sourceOf(row);
          const key = keyOf(row, keys);
          if (source === null || source === undefined || key === null) {
            frame.reject(i, `resolve: a record needs its source (${o.source}) and key (${o.key.join(', ')})`);
            continue;
          }
          const name = nameOf?.(row);
          table.add({
            source: String(source), key,
            name: name != null ? normalizeName(String(name)) || null : null,
            block: block.map((g, k) => blockValues[k](g(row)) ?? '\u0000').join('\u0001'),
            ids: ids.map((g) => comparable(g(row))),
            agree: agree.map((g, k) => agreeValues[k](g(row))),
            soft: penalized.map((g, k) => softValues[k](g(row))),
          });
          held.push(i);
          frame.hold(i);
        }
        spill.add(frame, held);
        return frame;
      },
      flush() {
        return table.length === 0 ? undefined : emit();
      },
      types(declared) {
        declared.set(o.id, 'text');
        if (o.rule_column) declared.set(o.rule_column, 'text');
        if (o.score_column) declared.set(o.score_column, 'double');
      },
    };
  },
});

/** The record's key columns as one text; null when one of them is missing. */
function keyOf(row: unknown, columns: readonly Getter[]): string | null {
  const parts: string[] = [];
  for (const c of columns) {
    const v = c(row);
    if (v === null || v === undefined || v === '') return null;
    parts.push(keyText(v));
  }
  return parts.join('\u0001');
}

const sourceRank = (rank: Map<string, number>, source: string): number => rank.get(source) ?? rank.size;
