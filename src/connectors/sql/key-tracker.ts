// Whether the rows of one checkpoint repeat a primary key. A merge whose staged rows have unique keys can upsert
// them as they are; only when a key repeats does it need the sort that keeps the last row per key (measured on
// PostgreSQL: 100k staged rows into a 1M-row table, 530 ms with DISTINCT ON, 330 ms without).

export class KeyTracker {
  private seen = new Set<string>();
  private repeated = false;

  /** `indexes` are the key columns' positions in a row; `limit` bounds the memory (keys of one checkpoint). */
  constructor(private readonly indexes: readonly number[], private readonly limit = 1_000_000) {}

  add(rows: readonly unknown[][]): void {
    if (this.repeated) return;
    const idx = this.indexes;
    for (const row of rows) {
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

  /** True when some key may repeat since the last reset (also when there were too many keys to remember). */
  get mayRepeat(): boolean {
    return this.repeated;
  }

  reset(): void {
    this.seen.clear();
    this.repeated = false;
  }
}

const keyPart = (v: unknown): string =>
  v instanceof Date ? `d${v.getTime()}` : typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
