// Which coerced rows of a batch go on to the checks and the load: a keyed load refuses a row without its key (to the
// DLQ), and an incremental run filters rows older than the watermark it started from, while it tracks the newest
// cursor value it has seen (the watermark its checkpoints store).
import { cursorOrder } from '../core/values/coerce.js';
import type { Column } from '../core/types.js';

/** A row passes, is filtered (counted, not loaded), or is rejected with a reason (dead-lettered). */
export const PASS = 0;
export const FILTERED = 1;

export class RowGate {
  /** The newest cursor value seen so far (starts at the stored watermark). */
  maxCursor: unknown;
  private keyIndexes: number[] = [];
  private cursorIndex = -1;
  private compareCursor: (a: unknown, b: unknown) => number = () => 0;

  /**
   * @param keyed  rows must carry every column of `primaryKey`
   * @param startCursor  rows older than it were loaded by an earlier run (null: none)
   * @param track  whether the watermark moves (not for a replay, which re-sends old rows)
   */
  constructor(
    private readonly primaryKey: string[],
    private readonly keyed: boolean,
    private readonly cursor: string | undefined,
    private readonly startCursor: unknown,
    storedCursor: unknown,
    private readonly track: boolean,
  ) {
    this.maxCursor = storedCursor;
  }

  /** Column positions, after the schema may have grown. */
  bind(columns: readonly Column[]): void {
    this.cursorIndex = this.cursor ? columns.findIndex((c) => c.name === this.cursor) : -1;
    this.compareCursor = cursorOrder(columns[this.cursorIndex]?.type);
    this.keyIndexes = this.primaryKey.map((k) => columns.findIndex((c) => c.name === k));
  }

  /** PASS, FILTERED, or the reason the row is rejected. */
  check(values: unknown[]): typeof PASS | typeof FILTERED | string {
    if (this.keyed) {
      const missing = this.keyIndexes.findIndex((k) => k < 0 || values[k] === null);
      if (missing >= 0) return `primary key column "${this.primaryKey[missing]}" is null`;
    }
    if (this.cursorIndex >= 0) {
      const v = values[this.cursorIndex];
      if (v !== null && v !== undefined) {
        if (this.startCursor !== null && this.compareCursor(v, this.startCursor) < 0) return FILTERED;
        if (this.track && (this.maxCursor === null || this.maxCursor === undefined || this.compareCursor(v, this.maxCursor) > 0)) this.maxCursor = v;
      }
    }
    return PASS;
  }
}
