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

/** Index of entities in one block by the words of their names and their names' first three letters. */
type BlockIndex = Map<string, number[]>;

const nameKeys = (name: string): string[] => {
  const keys = name.split(' ').filter((w) => w.length > 1);
  keys.push(`^${name.slice(0, 3)}`);
  return keys;
};

/** Values compared only for equality, as small integers (0: none): a clash test compares numbers, not strings. */
class Codes {
  private readonly codes = new Map<string, number>();
  of(v: string | null): number {
    if (v === null) return 0;
    let code = this.codes.get(v);
    if (code === undefined) this.codes.set(v, (code = this.codes.size + 1));
    return code;
  }
}

/** Sources held as bits of one number per entity up to this many; more (rare) in a set per entity. */
const SOURCE_BITS = 31;

/**
 * The entities, as columns indexed by entity number rather than an object each: the candidate search reads a few
 * values of many entities, and at 1M records an object per entity (with a Set and three arrays of its own) made each
 * read a cache miss, the heap twice the size and a third of the time garbage collection.
 */
class Entities {
  /** Index of the record that started it. */
  readonly first: number[] = [];
  readonly names: string[][] = [];
  /** Bit s: it holds a record of source s (s < SOURCE_BITS). */
  readonly sourceBits: number[] = [];
  readonly moreSources = new Map<number, Set<number>>();
  /** Per id column, per entity: the first id value its records had (a code; 0: none yet). */
  readonly ids: number[][];
  /** Per agree column, likewise. */
  readonly agree: number[][];
  /** Per penalized column, likewise. */
  readonly soft: number[][];
  /** The record that last looked at it as a candidate (index + 1): each candidate is scored once per record. */
  readonly seenBy: number[] = [];

  constructor(idColumns: number, agreeColumns: number, softColumns: number) {
    this.ids = Array.from({ length: idColumns }, () => []);
    this.agree = Array.from({ length: agreeColumns }, () => []);
    this.soft = Array.from({ length: softColumns }, () => []);
  }

  get count(): number {
    return this.first.length;
  }

  add(first: number): number {
    this.first.push(first);
    this.names.push([]);
    this.sourceBits.push(0);
    this.seenBy.push(0);
    for (const column of this.ids) column.push(0);
    for (const column of this.agree) column.push(0);
    for (const column of this.soft) column.push(0);
    return this.first.length - 1;
  }

  holds(n: number, source: number): boolean {
    return source < SOURCE_BITS ? (this.sourceBits[n] & (1 << source)) !== 0 : this.moreSources.get(n)?.has(source) === true;
  }

  addSource(n: number, source: number): void {
    if (source < SOURCE_BITS) this.sourceBits[n] |= 1 << source;
    else if (!this.moreSources.get(n)?.add(source)) this.moreSources.set(n, new Set([source]));
  }
}

/** A record's values as codes, computed once: the candidate search compares them with every candidate's. */
interface Coded {
  source: number;
  ids: number[];
  agree: number[];
  soft: number[];
}

/** Whether a value (code) contradicts the entity's in one column: both have one and they differ. */
const differs = (values: readonly number[], columns: readonly number[][], n: number): boolean => {
  for (let k = 0; k < values.length; k++) {
    const mine = values[k];
    const theirs = columns[k][n];
    if (mine !== 0 && theirs !== 0 && mine !== theirs) return true;
  }
  return false;
};

export interface Matched {
  outcomes: Outcome[];
  /** Each entity's id, by the entity numbers of `outcomes`. */
  ids: string[];
  /** Name comparisons made (Jaro–Winkler scores computed): what blocking and the name index keep small. */
  comparisons: number;
}

export function matchEntities(records: readonly MatchRecord[], o: MatchOptions): Matched {
  // Every record of a step has the same columns; a record with fewer (hand-made, as in tests) has none in the rest.
  const idColumns = records.reduce((most, r) => Math.max(most, r.ids.length), 0);
  const agreeColumns = records.reduce((most, r) => Math.max(most, r.agree.length), 0);
  const softColumns = records.reduce((most, r) => Math.max(most, r.soft?.length ?? 0), 0);
  const entities = new Entities(idColumns, agreeColumns, softColumns);
  const sources = new Codes();
  const idCodes = Array.from({ length: idColumns }, () => new Codes());
  const agreeCodes = Array.from({ length: agreeColumns }, () => new Codes());
  const softCodes = Array.from({ length: softColumns }, () => new Codes());
  /** Per id column: the entity that first held each id value (by its code). */
  const byId = Array.from({ length: idColumns }, () => new Map<number, number>());
  const blocks = new Map<string, BlockIndex>();
  const outcomes: Outcome[] = [];
  let comparisons = 0;

  const clash = (n: number, r: Coded): boolean =>
    (o.onePerSource && entities.holds(n, r.source)) || differs(r.ids, entities.ids, n) || differs(r.agree, entities.agree, n);

  const join = (n: number, r: MatchRecord, c: Coded, index: BlockIndex, keys: string[] | undefined): void => {
    entities.addSource(n, c.source);
    const names = entities.names[n];
    if (r.name && !names.includes(r.name)) {
      names.push(r.name);
      for (const k of keys ?? nameKeys(r.name)) {
        const list = index.get(k);
        if (!list) index.set(k, [n]);
        else if (list[list.length - 1] !== n) list.push(n);
      }
    }
    for (let k = 0; k < c.ids.length; k++) {
      const v = c.ids[k];
      if (v === 0) continue;
      if (entities.ids[k][n] === 0) entities.ids[k][n] = v;
      if (!byId[k].has(v)) byId[k].set(v, n);
    }
    for (let k = 0; k < c.agree.length; k++) if (c.agree[k] !== 0 && entities.agree[k][n] === 0) entities.agree[k][n] = c.agree[k];
    for (let k = 0; k < c.soft.length; k++) if (c.soft[k] !== 0 && entities.soft[k][n] === 0) entities.soft[k][n] = c.soft[k];
  };

  // A school written differently by two sources (a transfer, a data error) lowers the score instead of ruling out.
  const penalty = (n: number, c: Coded): number => {
    let cost = 0;
    for (let k = 0; k < c.soft.length; k++) {
      const mine = c.soft[k];
      const theirs = entities.soft[k][n];
      if (mine !== 0 && theirs !== 0 && mine !== theirs) cost += o.penalties?.[k] ?? 0;
    }
    return cost;
  };

  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const c: Coded = {
      source: sources.of(r.source),
      ids: idCodes.map((codes, k) => codes.of(r.ids[k] ?? null)),
      agree: agreeCodes.map((codes, k) => codes.of(r.agree[k] ?? null)),
      soft: softCodes.map((codes, k) => codes.of(r.soft?.[k] ?? null)),
    };
    let index = blocks.get(r.block);
    if (!index) blocks.set(r.block, (index = new Map()));
    // An exact id decides, unless what it would join contradicts it.
    let found: Outcome | undefined;
    for (let k = 0; k < c.ids.length && !found; k++) {
      const n = c.ids[k] === 0 ? undefined : byId[k].get(c.ids[k]);
      if (n !== undefined && !clash(n, c)) found = { entity: n, rule: 'id', score: 1 };
    }
    let keys: string[] | undefined;
    if (!found && r.name) {
      keys = nameKeys(r.name);
      const scored: { n: number; score: number }[] = [];
      for (const k of keys) {
        const list = index.get(k);
        if (!list) continue;
        for (const n of list) {
          if (entities.seenBy[n] === i + 1) continue;
          entities.seenBy[n] = i + 1;
          if (clash(n, c)) continue;
          let score = 0;
          for (const name of entities.names[n]) {
            const s = jaroWinkler(r.name, name);
            if (s > score) score = s;
          }
          comparisons += entities.names[n].length;
          score -= penalty(n, c);
          if (score >= o.threshold) scored.push({ n, score });
        }
      }
      scored.sort((a, b) => b.score - a.score || a.n - b.n);
      if (scored.length > 1 && scored[1].score >= scored[0].score - o.margin) {
        const describe = ({ n, score }: { n: number; score: number }) =>
          `${records[entities.first[n]].source} ${records[entities.first[n]].key} (${score.toFixed(3)})`;
        found = { ambiguous: `ambiguous: ${describe(scored[0])} and ${describe(scored[1])} are within the margin of ${o.margin}` };
      } else if (scored.length) {
        found = { entity: scored[0].n, rule: 'name', score: Math.round(scored[0].score * 1e4) / 1e4 };
      }
    }
    found ??= { entity: entities.add(i), rule: 'new', score: null };
    if ('entity' in found) join(found.entity, r, c, index, keys);
    outcomes.push(found);
  }
  return { outcomes, ids: entityIds(records, outcomes, entities.count, o.prefix), comparisons };
}

/**
 * Each entity's id: the earlier id most of its records had (ties: the first record's), unless an entity before it
 * took that id already (an entity split in two keeps its id once); otherwise a new one from its first record.
 */
function entityIds(records: readonly MatchRecord[], outcomes: readonly Outcome[], count: number, prefix: string): string[] {
  // A tally only for entities whose records had earlier ids: on a first run, none (not a map for each entity).
  const votes: (Map<string, number> | undefined)[] = new Array(count);
  const first: (number | undefined)[] = new Array(count);
  outcomes.forEach((out, i) => {
    if (!('entity' in out)) return;
    first[out.entity] ??= i;
    const prev = records[i].previous;
    if (!prev) return;
    const tally = (votes[out.entity] ??= new Map());
    tally.set(prev, (tally.get(prev) ?? 0) + 1);
  });
  const taken = new Set<string>();
  const ids: string[] = new Array(count);
  for (let n = 0; n < count; n++) {
    const tally = votes[n];
    if (!tally) continue;
    const ranked = [...tally].sort((a, b) => b[1] - a[1]);
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
