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
import { hash as digest } from 'node:crypto';
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
  /**
   * Called every COLLECT_EVERY records matched: `resolve` collects garbage there. What matching drops (the name
   * index's tables as they grow, candidates) reaches V8's old generation, which grows far past what is live before V8
   * collects it: at 1M records the run peaked during matching, 514–532 MB, and 493–503 MB collected so (6 runs each),
   * for about a second more.
   */
  collect?: () => void;
  threshold: number;
  margin: number;
  onePerSource: boolean;
  prefix: string;
}

export type Outcome =
  | { entity: number; rule: 'new' | 'id' | 'name'; score: number | null }
  | { ambiguous: string };

/** One block's part of the NameIndex: the first node of each name key's list. */
type BlockIndex = Map<string, number>;

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

/** `column` with room at `i`: doubled when full (typed: 4 bytes a code, and no old copies left in the heap). */
const room = (column: Int32Array, i: number): Int32Array => {
  if (i < column.length) return column;
  const grown = new Int32Array(Math.max(1024, 2 * column.length));
  grown.set(column);
  return grown;
};

/**
 * The records, as columns indexed by record number (the order they were added in, not the order they are matched in):
 * `resolve` holds a million of them to the end of its stream, and an object each, with three arrays of its own, was
 * most of its memory. Compared values are held as codes (./Codes) in typed arrays, blocks too; the code columns may
 * be longer than the table.
 */
export class MatchTable {
  source: Int32Array = new Int32Array(0);
  /** Each source's name, by its code − 1. */
  readonly sourceNames: string[] = [];
  readonly key: string[] = [];
  block: Int32Array = new Int32Array(0);
  readonly name: (string | null)[] = [];
  /** Per id column, per record: its value's code (0: none); likewise the agree and penalized columns. */
  readonly ids: Int32Array[];
  readonly agree: Int32Array[];
  readonly soft: Int32Array[];
  /** The entity id an earlier run gave each record (undefined: none); may be set after the record is added. */
  readonly previous: (string | undefined)[] = [];
  private readonly sources = new Codes();
  private readonly blocks = new Codes();
  private readonly idCodes: Codes[];
  private readonly agreeCodes: Codes[];
  private readonly softCodes: Codes[];

  constructor(idColumns: number, agreeColumns: number, softColumns: number) {
    this.ids = Array.from({ length: idColumns }, () => new Int32Array(0));
    this.agree = Array.from({ length: agreeColumns }, () => new Int32Array(0));
    this.soft = Array.from({ length: softColumns }, () => new Int32Array(0));
    this.idCodes = this.ids.map(() => new Codes());
    this.agreeCodes = this.agree.map(() => new Codes());
    this.softCodes = this.soft.map(() => new Codes());
  }

  get length(): number {
    return this.key.length;
  }

  /** Add a record; returns its number. */
  add(r: MatchRecord): number {
    const i = this.key.length;
    const source = this.sources.of(r.source);
    if (source > this.sourceNames.length) this.sourceNames.push(r.source);
    (this.source = room(this.source, i))[i] = source - 1;
    this.key.push(r.key);
    (this.block = room(this.block, i))[i] = this.blocks.of(r.block);
    this.name.push(r.name);
    for (let k = 0; k < this.ids.length; k++) (this.ids[k] = room(this.ids[k], i))[i] = this.idCodes[k].of(r.ids[k] ?? null);
    for (let k = 0; k < this.agree.length; k++) (this.agree[k] = room(this.agree[k], i))[i] = this.agreeCodes[k].of(r.agree[k] ?? null);
    for (let k = 0; k < this.soft.length; k++) (this.soft[k] = room(this.soft[k], i))[i] = this.softCodes[k].of(r.soft?.[k] ?? null);
    this.previous.push(r.previous);
    return i;
  }

  sourceOf(i: number): string {
    return this.sourceNames[this.source[i]];
  }
}

/** Records matched between two calls of MatchOptions.collect. */
const COLLECT_EVERY = 250_000;

/** Sources held as bits of one number per entity up to this many; more (rare) in a set per entity. */
const SOURCE_BITS = 31;

/**
 * The entities, as columns indexed by entity number rather than an object each: the candidate search reads a few
 * values of many entities, and at 1M records an object per entity (with a Set and three arrays of its own) made each
 * read a cache miss, the heap twice the size and a third of the time garbage collection. The columns are typed arrays
 * sized for the most entities there can be (one per record): grown by the entity, they left their old copies behind
 * for the collector, a few hundred megabytes at 1M records.
 */
class Entities {
  count = 0;
  /** Index of the record that started it. */
  readonly first: Int32Array;
  /** Its first name (null: none yet); the others, for the few with several, in `moreNames`. */
  readonly name: (string | null)[];
  readonly moreNames: (string[] | undefined)[];
  /** Bit s: it holds a record of source s (s < SOURCE_BITS). */
  readonly sourceBits: Int32Array;
  readonly moreSources = new Map<number, Set<number>>();
  /** Per id column, per entity: the first id value its records had (a code; 0: none yet). */
  readonly ids: Int32Array[];
  /** Per agree column, likewise. */
  readonly agree: Int32Array[];
  /** Per penalized column, likewise. */
  readonly soft: Int32Array[];
  /** The record that last looked at it as a candidate (its place in the order + 1): each is scored once per record. */
  readonly seenBy: Int32Array;

  constructor(capacity: number, idColumns: number, agreeColumns: number, softColumns: number) {
    this.first = new Int32Array(capacity);
    this.name = new Array<string | null>(capacity).fill(null);
    this.moreNames = new Array<string[] | undefined>(capacity);
    this.sourceBits = new Int32Array(capacity);
    this.seenBy = new Int32Array(capacity);
    this.ids = Array.from({ length: idColumns }, () => new Int32Array(capacity));
    this.agree = Array.from({ length: agreeColumns }, () => new Int32Array(capacity));
    this.soft = Array.from({ length: softColumns }, () => new Int32Array(capacity));
  }

  add(first: number): number {
    this.first[this.count] = first;
    return this.count++;
  }

  hasName(n: number, name: string): boolean {
    return this.name[n] === name || this.moreNames[n]?.includes(name) === true;
  }

  addName(n: number, name: string): void {
    if (this.name[n] === null) this.name[n] = name;
    else (this.moreNames[n] ??= []).push(name);
  }

  holds(n: number, source: number): boolean {
    return source < SOURCE_BITS ? (this.sourceBits[n] & (1 << source)) !== 0 : this.moreSources.get(n)?.has(source) === true;
  }

  addSource(n: number, source: number): void {
    if (source < SOURCE_BITS) this.sourceBits[n] |= 1 << source;
    else if (!this.moreSources.get(n)?.add(source)) this.moreSources.set(n, new Set([source]));
  }
}

/**
 * Entities by block and name key (the words of their names, and their first three letters): per block, each key's
 * list of entities, as nodes chained in two typed arrays, newest first. A JS array per list made half a million small
 * arrays at 1M records, grown a push at a time, and most of what matching left for the collector. The order a list is
 * read in decides nothing: every candidate is scored, and the best chosen by score, then entity number.
 */
class NameIndex {
  private readonly blocks: BlockIndex[] = [];
  /** Each node's entity, and the node after it (-1: the end of its list). */
  entityOf: Int32Array = new Int32Array(0);
  next: Int32Array = new Int32Array(0);
  private nodes = 0;

  block(b: number): BlockIndex {
    return (this.blocks[b] ??= new Map());
  }

  /** Entity `e` under key `k` of a block (not twice in a row: a list does not repeat its newest entity). */
  add(block: BlockIndex, k: string, e: number): void {
    const head = block.get(k);
    if (head !== undefined && this.entityOf[head] === e) return;
    const node = this.nodes++;
    this.entityOf = room(this.entityOf, node);
    this.next = room(this.next, node);
    this.entityOf[node] = e;
    this.next[node] = head ?? -1;
    block.set(k, node);
  }
}

/** Whether record `i` contradicts entity `n` in one group of columns: both have a value and they differ. */
const differs = (mine: readonly Int32Array[], theirs: readonly Int32Array[], i: number, n: number): boolean => {
  for (let k = 0; k < mine.length; k++) {
    const a = mine[k][i];
    const b = theirs[k][n];
    if (a !== 0 && b !== 0 && a !== b) return true;
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

export const RULES = ['new', 'id', 'name'] as const;

/** What matching decided for each record of a table, as columns by record number. */
export interface TableMatch {
  /** The record's entity number (into `ids`); -1 when it is ambiguous. */
  entity: Int32Array;
  /** How it matched: an index into RULES. */
  rule: Uint8Array;
  /** The name similarity that matched it (1 for an id); NaN for none (the first record of an entity). */
  score: Float64Array;
  /** The ambiguous records, and why. */
  ambiguous: Map<number, string>;
  /** Each entity's id, by entity number. */
  ids: string[];
  /** Name comparisons made (Jaro–Winkler scores computed): what blocking and the name index keep small. */
  comparisons: number;
}

/** Match the records of `t` in the order `order` gives (record numbers, most trusted first). */
export function matchTable(t: MatchTable, order: ArrayLike<number>, o: MatchOptions): TableMatch {
  const entities = new Entities(t.length, t.ids.length, t.agree.length, t.soft.length);
  /** Per id column: the entity that first held each id value (by its code). */
  const byId = t.ids.map(() => new Map<number, number>());
  const names = new NameIndex();
  const n = t.length;
  const entity = new Int32Array(n);
  const rule = new Uint8Array(n);
  const score = new Float64Array(n).fill(NaN);
  const ambiguous = new Map<number, string>();
  let comparisons = 0;

  const clash = (e: number, i: number): boolean =>
    (o.onePerSource && entities.holds(e, t.source[i])) || differs(t.ids, entities.ids, i, e) || differs(t.agree, entities.agree, i, e);

  const join = (e: number, i: number, index: BlockIndex, keys: string[] | undefined): void => {
    entities.addSource(e, t.source[i]);
    const name = t.name[i];
    if (name && !entities.hasName(e, name)) {
      entities.addName(e, name);
      for (const k of keys ?? nameKeys(name)) names.add(index, k, e);
    }
    for (let k = 0; k < t.ids.length; k++) {
      const v = t.ids[k][i];
      if (v === 0) continue;
      if (entities.ids[k][e] === 0) entities.ids[k][e] = v;
      if (!byId[k].has(v)) byId[k].set(v, e);
    }
    for (let k = 0; k < t.agree.length; k++) if (t.agree[k][i] !== 0 && entities.agree[k][e] === 0) entities.agree[k][e] = t.agree[k][i];
    for (let k = 0; k < t.soft.length; k++) if (t.soft[k][i] !== 0 && entities.soft[k][e] === 0) entities.soft[k][e] = t.soft[k][i];
  };

  // A school written differently by two sources (a transfer, a data error) lowers the score instead of ruling out.
  const penalty = (e: number, i: number): number => {
    let cost = 0;
    for (let k = 0; k < t.soft.length; k++) {
      const mine = t.soft[k][i];
      const theirs = entities.soft[k][e];
      if (mine !== 0 && theirs !== 0 && mine !== theirs) cost += o.penalties?.[k] ?? 0;
    }
    return cost;
  };

  const describe = ({ n: e, score: s }: { n: number; score: number }) => `${t.sourceOf(entities.first[e])} ${t.key[entities.first[e]]} (${s.toFixed(3)})`;

  for (let p = 0; p < n; p++) {
    if (o.collect && p % COLLECT_EVERY === COLLECT_EVERY - 1) o.collect();
    const i = order[p];
    const index = names.block(t.block[i]);
    // An exact id decides, unless what it would join contradicts it.
    let found = -1;
    for (let k = 0; k < t.ids.length && found < 0; k++) {
      const e = t.ids[k][i] === 0 ? undefined : byId[k].get(t.ids[k][i]);
      if (e !== undefined && !clash(e, i)) {
        found = e;
        rule[i] = 1;
        score[i] = 1;
      }
    }
    let keys: string[] | undefined;
    const name = t.name[i];
    if (found < 0 && name) {
      keys = nameKeys(name);
      const scored: { n: number; score: number }[] = [];
      const { entityOf, next } = names;
      for (const k of keys) {
        for (let node = index.get(k) ?? -1; node >= 0; node = next[node]) {
          const e = entityOf[node];
          if (entities.seenBy[e] === p + 1) continue;
          entities.seenBy[e] = p + 1;
          if (clash(e, i)) continue;
          const first = entities.name[e];
          let s = first === null ? 0 : jaroWinkler(name, first);
          const more = entities.moreNames[e];
          if (more) {
            for (const other of more) {
              const js = jaroWinkler(name, other);
              if (js > s) s = js;
            }
          }
          comparisons += (first === null ? 0 : 1) + (more?.length ?? 0);
          s -= penalty(e, i);
          if (s >= o.threshold) scored.push({ n: e, score: s });
        }
      }
      scored.sort((a, b) => b.score - a.score || a.n - b.n);
      if (scored.length > 1 && scored[1].score >= scored[0].score - o.margin) {
        ambiguous.set(i, `ambiguous: ${describe(scored[0])} and ${describe(scored[1])} are within the margin of ${o.margin}`);
        entity[i] = -1;
        continue;
      }
      if (scored.length) {
        found = scored[0].n;
        rule[i] = 2;
        score[i] = Math.round(scored[0].score * 1e4) / 1e4;
      }
    }
    if (found < 0) {
      found = entities.add(i);
      rule[i] = 0;
    }
    entity[i] = found;
    join(found, i, index, keys);
  }
  return { entity, rule, score, ambiguous, ids: entityIds(t, order, entity, entities, o.prefix), comparisons };
}

/** Records as objects matched in the order given (tests, the bench): `matchTable` on a table of them. */
export function matchEntities(records: readonly MatchRecord[], o: MatchOptions): Matched {
  // Every record of a step has the same columns; a record with fewer (hand-made, as in tests) has none in the rest.
  const most = (f: (r: MatchRecord) => number) => records.reduce((m, r) => Math.max(m, f(r)), 0);
  const t = new MatchTable(most((r) => r.ids.length), most((r) => r.agree.length), most((r) => r.soft?.length ?? 0));
  for (const r of records) t.add(r);
  const m = matchTable(t, Array.from({ length: t.length }, (_, i) => i), o);
  const outcomes = records.map((_, i): Outcome => {
    const reason = m.ambiguous.get(i);
    if (reason !== undefined) return { ambiguous: reason };
    return { entity: m.entity[i], rule: RULES[m.rule[i]], score: Number.isNaN(m.score[i]) ? null : m.score[i] };
  });
  return { outcomes, ids: m.ids, comparisons: m.comparisons };
}

/**
 * Each entity's id: the earlier id most of its records had (ties: the first record's), unless an entity before it
 * took that id already (an entity split in two keeps its id once); otherwise a new one from its first record.
 */
function entityIds(t: MatchTable, order: ArrayLike<number>, entity: Int32Array, entities: Entities, prefix: string): string[] {
  // One-shot: a Hash object (and its native context) per entity took 3–4 times as long (350 ms for 333k entities).
  const hash = (seed: string) => prefix + digest('sha256', seed, 'hex').slice(0, 12);
  const count = entities.count;
  // A tally only for entities whose records had earlier ids: on a first run, none (not a map for each entity).
  const votes: (Map<string, number> | undefined)[] = new Array(count);
  for (let p = 0; p < order.length; p++) {
    const i = order[p];
    const prev = t.previous[i];
    if (!prev || entity[i] < 0) continue;
    const tally = (votes[entity[i]] ??= new Map());
    tally.set(prev, (tally.get(prev) ?? 0) + 1);
  }
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
    const first = entities.first[n];
    const seed = `${t.sourceOf(first)}\u0001${t.key[first]}`;
    let id = hash(seed);
    for (let s = 2; taken.has(id); s++) id = hash(`${seed}\u0001${s}`);
    ids[n] = id;
    taken.add(id);
  }
  return ids;
}
