// `resolve`: entity resolution. The stream's rows are records from several sources about the same real-world
// entities (players, companies, customers); each gets the id of the entity it describes, the same on every run.
// Blocking: it holds the stream's rows to the end, then matches them all (src/transforms/entity/matcher.ts says how)
// and emits them with the id, the rule that matched them and the score. Earlier ids are read back from the stream's
// own table (the crosswalk: source, key and id of every record), so a record keeps its entity's id and a new record
// never renumbers an old one. An ambiguous record is not guessed: it goes to the dead-letter queue with both
// candidates in its reason (the review queue: add an alias or an id, then `sluice dlq replay`).
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { aliasTable, comparable, comparableOf, normalizeName } from '../entity/normalize.js';
import { matchEntities, type MatchRecord } from '../entity/matcher.js';
import { Frame, setKey } from '../frame.js';
import { defineStep, keyText } from '../step.js';

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
    const held: { row: Row; record: MatchRecord }[] = [];
    // One string per block, not one per record: a million held records share a few hundred (the matcher keeps a map
    // per block anyway, so this holds no more than it does).
    const blockKeys = new Map<string, string>();
    const blockOf = (row: Row): string => {
      const block = o.block.map((c, k) => blockValues[k](row[c]) ?? '\u0000').join('\u0001');
      const known = blockKeys.get(block);
      if (known !== undefined) return known;
      blockKeys.set(block, block);
      return block;
    };
    let previous: Promise<Map<string, string>> | undefined;
    const recordKey = (source: string, key: string) => `${source}\u0002${key}`;

    async function readPrevious(): Promise<Map<string, string>> {
      const ids = new Map<string, string>();
      const table = o.crosswalk ?? env.targetTable;
      if (!table || !env.readTable) return ids;
      for await (const batch of env.readTable(table, [o.source, ...o.key, o.id])) {
        for (const r of batch) {
          const key = keyOf(r, o.key);
          if (key !== null && r[o.source] != null && r[o.id] != null) ids.set(recordKey(String(r[o.source]), key), String(r[o.id]));
        }
      }
      return ids;
    }

    return {
      adds: 3,
      async apply(frame) {
        const earlier = await (previous ??= readPrevious());
        for (let i = 0; i < frame.length; i++) {
          const row = frame.rowAt(i);
          const source = row[o.source];
          const key = keyOf(row, o.key);
          if (source === null || source === undefined || key === null) {
            frame.reject(i, `resolve: a record needs its source (${o.source}) and key (${o.key.join(', ')})`);
            continue;
          }
          const name = o.name && row[o.name] != null ? normalizeName(String(row[o.name])) || null : null;
          held.push({
            row,
            record: {
              source: String(source), key, name,
              block: blockOf(row),
              ids: o.ids.map((c) => comparable(row[c])),
              agree: o.agree.map((c, k) => agreeValues[k](row[c])),
              soft: soft.map(([c], k) => softValues[k](row[c])),
              previous: earlier.get(recordKey(String(source), key)),
            },
          });
          frame.hold(i);
        }
        return frame;
      },
      flush() {
        if (held.length === 0) return undefined;
        const order = held.map((_, i) => i).sort((a, b) => {
          const ra = held[a].record;
          const rb = held[b].record;
          return sourceRank(rank, ra.source) - sourceRank(rank, rb.source) || (ra.source < rb.source ? -1 : ra.source > rb.source ? 1 : 0)
            || (ra.key < rb.key ? -1 : ra.key > rb.key ? 1 : 0);
        });
        const sorted = order.map((i) => held[i]);
        const { outcomes, ids } = matchEntities(sorted.map((h) => h.record), {
          threshold: o.threshold, margin: o.margin, onePerSource: o.one_per_source, prefix: o.prefix, penalties: soft.map(([, p]) => p),
        });
        const rows = sorted.map((h, i) => {
          const out = outcomes[i];
          const row = h.row;
          setKey(row, o.id, 'entity' in out ? ids[out.entity] : null);
          if (o.rule_column) setKey(row, o.rule_column, 'entity' in out ? out.rule : null);
          if (o.score_column) setKey(row, o.score_column, 'entity' in out ? out.score : null);
          return row;
        });
        held.length = 0;
        const frame = Frame.objects(rows, new Array(rows.length).fill(-1));
        outcomes.forEach((out, i) => { if ('ambiguous' in out) frame.reject(i, `resolve: ${out.ambiguous}`); });
        return frame;
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
function keyOf(row: Row, columns: string[]): string | null {
  const parts: string[] = [];
  for (const c of columns) {
    const v = row[c];
    if (v === null || v === undefined || v === '') return null;
    parts.push(keyText(v));
  }
  return parts.join('\u0001');
}

const sourceRank = (rank: Map<string, number>, source: string): number => rank.get(source) ?? rank.size;
