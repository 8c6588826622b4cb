// Whether the rows of one checkpoint repeat a primary key. A merge whose staged rows have unique keys can upsert
// them as they are; only when a key repeats does it need the sort that keeps the last row per key (measured on
// PostgreSQL: 100k staged rows into a 1M-row table, 530 ms with DISTINCT ON, 330 ms without).

export class KeyTracker {
  private seen = new Set<string>();
  private repeated = false;
  /**
   * Single numeric keys arriving in ascending order (ids of an export, a generated file) cannot repeat: they are
   * only compared with the last one, and kept as they came, until the first one out of order moves them all into
   * `seen`. Numbers and bigints compare by value, so 1 and 1n are one key here as they are to the database.
   */
  private ascending: (number | bigint)[] | undefined = [];

  /** `indexes` are the key columns' positions in a row; `limit` bounds the memory (keys of one checkpoint). */
  constructor(private readonly indexes: readonly number[], private readonly limit = 1_000_000) {
    if (indexes.length !== 1) this.ascending = undefined;
  }

  add(rows: readonly unknown[][]): void {
    if (this.repeated) return;
    let from = 0;
    if (this.ascending) from = this.addAscending(rows);
    const idx = this.indexes;
    for (let r = from; r < rows.length; r++) {
      const row = rows[r];
      // String() for every part: a key column widened mid-run (1 then '1') is still one key to the database.
      const key = idx.length === 1 ? keyPart(row[idx[0]]) : idx.map((i) => keyPart(row[i])).join('\u0001');
      if (!this.remember(key)) return;
    }
  }

  /** Takes rows while their keys ascend; returns the index of the first row that does not. */
  private addAscending(rows: readonly unknown[][]): number {
    const keys = this.ascending!;
    const at = this.indexes[0];
    let last = keys.length > 0 ? keys[keys.length - 1] : undefined;
    for (let r = 0; r < rows.length; r++) {
      const k = rows[r][at];
      if ((typeof k !== 'number' && typeof k !== 'bigint') || (last !== undefined && !(k > last)) || keys.length >= this.limit) {
        // Out of order (or not a number): from here on every key is remembered as text.
        this.ascending = undefined;
        for (const key of keys) if (!this.remember(keyPart(key))) return rows.length;
        return r;
      }
      keys.push(k);
      last = k;
    }
    return rows.length;
  }

  /** False once the key was seen before or the limit is passed: then some key may repeat. */
  private remember(key: string): boolean {
    if (this.seen.has(key) || this.seen.size >= this.limit) {
      this.repeated = true;
      this.seen.clear();
      this.ascending = undefined;
      return false;
    }
    this.seen.add(key);
    return true;
  }

  /** True when some key may repeat since the last reset (also when there were too many keys to remember). */
  get mayRepeat(): boolean {
    return this.repeated;
  }

  reset(): void {
    this.seen.clear();
    this.repeated = false;
    this.ascending = this.indexes.length === 1 ? [] : undefined;
  }
}

const keyPart = (v: unknown): string =>
  v instanceof Date ? `d${v.getTime()}` : typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
