// Whether the rows of one checkpoint repeat a primary key. A merge whose staged rows have unique keys can upsert
// them as they are; only when a key repeats does it need the sort that keeps the last row per key (measured on
// PostgreSQL: 100k staged rows into a 1M-row table, 530 ms with DISTINCT ON, 330 ms without).

export class KeyTracker {
  private seen = new Set<string>();
  private repeated = false;
  /**
   * Single numeric keys arriving in ascending order (ids of an export, a generated file) cannot repeat: each is only
   * compared with the one before, and none is kept, since keeping 100k keys per checkpoint is what made a merge's
   * heap grow. The first key out of order cannot be checked against the ones before it: that checkpoint counts as
   * repeating (its merge sorts), and the stream, evidently unordered, is tracked key by key from the next one on.
   * Numbers and bigints compare by value, so 1 and 1n are one key here as they are to the database.
   */
  private ordered: boolean;
  private last: number | bigint | undefined;

  /** `indexes` are the key columns' positions in a row; `limit` bounds the memory (keys of one checkpoint). */
  constructor(private readonly indexes: readonly number[], private readonly limit = 1_000_000) {
    this.ordered = indexes.length === 1;
  }

  add(rows: readonly unknown[][]): void {
    if (this.repeated) return;
    const from = this.ordered ? this.addAscending(rows) : 0;
    const idx = this.indexes;
    for (let r = from; r < rows.length; r++) {
      const row = rows[r];
      // String() for every part: a key column widened mid-run (1 then '1') is still one key to the database.
      const key = idx.length === 1 ? keyPart(row[idx[0]]) : idx.map((i) => keyPart(row[i])).join('\u0001');
      if (this.seen.has(key) || this.seen.size >= this.limit) {
        this.repeated = true;
        this.seen.clear();
        return;
      }
      this.seen.add(key);
    }
  }

  /** Takes rows while their keys ascend; returns where tracking key by key goes on (rows.length: nothing left). */
  private addAscending(rows: readonly unknown[][]): number {
    const at = this.indexes[0];
    for (let r = 0; r < rows.length; r++) {
      const k = rows[r][at];
      if ((typeof k === 'number' || typeof k === 'bigint') && (this.last === undefined || k > this.last)) {
        this.last = k;
        continue;
      }
      this.ordered = false;
      // Nothing of this checkpoint was let through unkept: go on key by key from here.
      if (this.last === undefined) return r;
      this.repeated = true;
      return rows.length;
    }
    return rows.length;
  }

  /** True when some key may repeat since the last reset (also when there were too many keys to remember). */
  get mayRepeat(): boolean {
    return this.repeated;
  }

  reset(): void {
    this.seen.clear();
    this.repeated = false;
    this.last = undefined;
  }
}

const keyPart = (v: unknown): string =>
  v instanceof Date ? `d${v.getTime()}` : typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
