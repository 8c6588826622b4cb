// `lookback` on an append stream: the rows read again behind the watermark must not load twice. A merge makes the
// overlap harmless by its key; an append keeps every row, so it remembers which rows it loaded near the watermark —
// a hash of each row's primary key and cursor value, for the rows whose cursor is within `lookback` of the newest —
// in the state committed with them (as dlt keeps the hashes of the rows at its last value). A re-read row whose hash
// is there was loaded before and is filtered; one that is not arrived late and loads. A row changed since keeps its
// key but not its cursor: it is new, and appends as any new version does.
import { createHash } from 'node:crypto';
import { behind } from '../core/values/lookback.js';

/** [cursor value, row hash]: a row loaded within `lookback` of the watermark. */
export type SeenRow = [string | number, string];

/** How many rows recorded this run before the older ones (beyond `lookback` of the newest cursor) are dropped. */
const PRUNE_AT = 20_000;

export class SeenRows {
  /** The hashes the stored state holds: rows an earlier run loaded. */
  private readonly stored: Set<string>;
  /** The stored rows, then the rows loaded this run, oldest first as they came. */
  private rows: SeenRow[];
  private pruneAt = PRUNE_AT;

  constructor(stored: readonly SeenRow[] | undefined, private readonly lookback: number | string) {
    this.rows = stored ? [...stored] : [];
    this.stored = new Set(this.rows.map((r) => r[1]));
  }

  /** The hash of a row by its key values and cursor. */
  static hash(key: readonly unknown[], cursor: unknown): string {
    const h = createHash('sha1');
    for (const v of key) h.update(`${String(v)}\u0001`);
    return h.update(String(cursor)).digest('base64').slice(0, 16);
  }

  /** An earlier run loaded this row. */
  loaded(hash: string): boolean {
    return this.stored.has(hash);
  }

  /** A row of this run passed the gate. */
  add(cursor: string | number, hash: string, newest: unknown, compare: (a: unknown, b: unknown) => number): void {
    this.rows.push([cursor, hash]);
    if (this.rows.length >= this.pruneAt) {
      this.rows = this.within(newest, compare);
      this.pruneAt = Math.max(PRUNE_AT, this.rows.length * 2);
    }
  }

  /** The rows the state keeps: those within `lookback` of the newest cursor value. */
  within(newest: unknown, compare: (a: unknown, b: unknown) => number): SeenRow[] {
    if (newest === null || newest === undefined) return this.rows;
    const from = behind(typeof newest === 'number' ? newest : String(newest), this.lookback);
    if (from instanceof Error) return this.rows;
    return this.rows.filter((r) => compare(r[0], from) >= 0);
  }
}
