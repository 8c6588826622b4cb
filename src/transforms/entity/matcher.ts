// Which records describe the same entity. Records come in priority order (the most trusted source first, then by
// key, so a run over the same records always decides the same way). Each record joins an entity already seen, or
// starts one:
// - by an exact id (`ids`): a record whose id value an entity already holds joins it;
// - else by name, within its block (records that cannot be the same entity — another year, another position group —
//   are never compared): the best-scoring entity at or above the threshold, Jaro–Winkler on normalized names;
// - never an entity holding a different value of an id column or an `agree` column (two players of one name and year
//   at different positions stay two), nor, with one record per source, an entity that already has this source's record;
//   a differing `penalties` column (a school) lowers the name's score rather than ruling the entity out;
// - two candidates within `margin` of each other are not guessed between: the record is ambiguous (for review).
// Entities keep the id their records had in earlier runs (the one most of them had); a new entity's id is derived from
// its first record's source and key, so it is the same in every run and never renumbers another.
import { createHash } from 'node:crypto';
import { jaroWinkler } from './similarity.js';

export interface MatchRecord {
  source: string;
  /** The record's key within its source, as text. */
  key: string;
  /** Its blocking key: only records of one block are compared by name. */
  block: string;
  /** Normalized name; null: matched by id only. */
  name: string | null;
  /** Normalized values of the exact-id columns (null: none). */
  ids: (string | null)[];
  /** Normalized values of the columns that must agree when both sides have one. */
  agree: (string | null)[];
  /** Normalized values of the columns that count against a match when both sides have one and they differ. */
  soft?: (string | null)[];
  /** The entity id an earlier run gave this record. */
  previous?: string;
}

export interface MatchOptions {
  /** What a differing `soft` value costs a name's similarity, by column (MatchRecord.soft's order). */
  penalties?: number[];
  threshold: number;
  margin: number;
  onePerSource: boolean;
  prefix: string;
}

export type Outcome =
  | { entity: number; rule: 'new' | 'id' | 'name'; score: number | null }
  | { ambiguous: string };

interface Entity {
  first: number;
  sources: Set<string>;
  names: string[];
  ids: (string | null)[];
  agree: (string | null)[];
  soft: (string | null)[];
}

/** Index of entities in one block by the words of their names and their names' first three letters. */
type BlockIndex = Map<string, number[]>;

const nameKeys = (name: string): string[] => {
  const keys = name.split(' ').filter((w) => w.length > 1);
  keys.push(`^${name.slice(0, 3)}`);
  return keys;
};

export function matchEntities(records: readonly MatchRecord[], o: MatchOptions): { outcomes: Outcome[]; ids: string[] } {
  const entities: Entity[] = [];
  const byId = new Map<string, number>();
  const blocks = new Map<string, BlockIndex>();
  const outcomes: Outcome[] = [];

  const clash = (e: Entity, r: MatchRecord): boolean =>
    (o.onePerSource && e.sources.has(r.source))
    || r.ids.some((v, k) => v !== null && e.ids[k] !== null && e.ids[k] !== v)
    || r.agree.some((v, k) => v !== null && e.agree[k] !== null && e.agree[k] !== v);

  const join = (n: number, r: MatchRecord): void => {
    const e = entities[n];
    e.sources.add(r.source);
    if (r.name && !e.names.includes(r.name)) {
      e.names.push(r.name);
      const index = blocks.get(r.block)!;
      for (const k of nameKeys(r.name)) {
        const list = index.get(k);
        if (!list) index.set(k, [n]);
        else if (list[list.length - 1] !== n) list.push(n);
      }
    }
    r.ids.forEach((v, k) => {
      if (v === null) return;
      e.ids[k] ??= v;
      if (!byId.has(`${k}\u0001${v}`)) byId.set(`${k}\u0001${v}`, n);
    });
    r.agree.forEach((v, k) => { if (v !== null) e.agree[k] ??= v; });
    r.soft?.forEach((v, k) => { if (v !== null) e.soft[k] ??= v; });
  };

  // A school written differently by two sources (a transfer, a data error) lowers the score instead of ruling out.
  const penalty = (e: Entity, r: MatchRecord): number => {
    let cost = 0;
    r.soft?.forEach((v, k) => { if (v !== null && e.soft[k] !== null && e.soft[k] !== v) cost += o.penalties?.[k] ?? 0; });
    return cost;
  };

  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (!blocks.has(r.block)) blocks.set(r.block, new Map());
    // An exact id decides, unless what it would join contradicts it.
    let found: Outcome | undefined;
    for (let k = 0; k < r.ids.length && !found; k++) {
      const v = r.ids[k];
      const n = v === null ? undefined : byId.get(`${k}\u0001${v}`);
      if (n !== undefined && !clash(entities[n], r)) found = { entity: n, rule: 'id', score: 1 };
    }
    if (!found && r.name) {
      const seen = new Set<number>();
      const scored: { n: number; score: number }[] = [];
      const index = blocks.get(r.block)!;
      for (const k of nameKeys(r.name)) {
        for (const n of index.get(k) ?? []) {
          if (seen.has(n)) continue;
          seen.add(n);
          const e = entities[n];
          if (clash(e, r)) continue;
          let score = 0;
          for (const name of e.names) score = Math.max(score, jaroWinkler(r.name, name));
          score -= penalty(e, r);
          if (score >= o.threshold) scored.push({ n, score });
        }
      }
      scored.sort((a, b) => b.score - a.score || a.n - b.n);
      if (scored.length > 1 && scored[1].score >= scored[0].score - o.margin) {
        const [a, b] = scored;
        found = {
          ambiguous: `ambiguous: ${records[entities[a.n].first].source} ${records[entities[a.n].first].key} (${a.score.toFixed(3)}) and `
            + `${records[entities[b.n].first].source} ${records[entities[b.n].first].key} (${b.score.toFixed(3)}) are within the margin of ${o.margin}`,
        };
      } else if (scored.length) {
        found = { entity: scored[0].n, rule: 'name', score: Math.round(scored[0].score * 1e4) / 1e4 };
      }
    }
    if (!found) {
      entities.push({ first: i, sources: new Set(), names: [], ids: r.ids.map(() => null), agree: r.agree.map(() => null), soft: (r.soft ?? []).map(() => null) });
      found = { entity: entities.length - 1, rule: 'new', score: null };
    }
    if ('entity' in found) join(found.entity, r);
    outcomes.push(found);
  }
  return { outcomes, ids: entityIds(records, outcomes, entities.length, o.prefix) };
}

/**
 * Each entity's id: the earlier id most of its records had (ties: the first record's), unless an entity before it
 * took that id already (an entity split in two keeps its id once); otherwise a new one from its first record.
 */
function entityIds(records: readonly MatchRecord[], outcomes: readonly Outcome[], count: number, prefix: string): string[] {
  const votes: Map<string, number>[] = Array.from({ length: count }, () => new Map());
  const first: (number | undefined)[] = new Array(count);
  outcomes.forEach((out, i) => {
    if (!('entity' in out)) return;
    first[out.entity] ??= i;
    const prev = records[i].previous;
    if (prev) votes[out.entity].set(prev, (votes[out.entity].get(prev) ?? 0) + 1);
  });
  const taken = new Set<string>();
  const ids: string[] = new Array(count);
  for (let n = 0; n < count; n++) {
    const ranked = [...votes[n]].sort((a, b) => b[1] - a[1]);
    const kept = ranked.find(([id]) => !taken.has(id))?.[0];
    if (kept) {
      ids[n] = kept;
      taken.add(kept);
    }
  }
  for (let n = 0; n < count; n++) {
    if (ids[n]) continue;
    const r = records[first[n]!];
    let id = prefix + createHash('sha256').update(`${r.source}\u0001${r.key}`).digest('hex').slice(0, 12);
    for (let s = 2; taken.has(id); s++) id = `${prefix}${createHash('sha256').update(`${r.source}\u0001${r.key}\u0001${s}`).digest('hex').slice(0, 12)}`;
    ids[n] = id;
    taken.add(id);
  }
  return ids;
}
