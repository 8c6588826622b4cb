// Which coerced rows of a batch go on to the checks and the load: a keyed load refuses a row without its key; a
// declared decimal(p,s), the destination and the columns of its table refuse values they cannot hold (all to the DLQ,
// with the reason); an incremental run filters rows older than the watermark it started from, while it tracks the
// newest cursor value it has seen (the watermark its checkpoints store). Fixes the stream asks for (`strip_nul`,
// `rounding`) are applied first.
import { abbreviate } from '../core/record.js';
import type { Column, ColumnType } from '../core/types.js';
import { cursorOrder, FAIL, normalizeTimestamp } from '../core/values/coerce.js';
import { decimalMisfit, roundDecimal, type Rounding } from '../core/values/decimal-text.js';
import { nulStripper } from '../core/values/nul.js';
import type { Refusal } from '../core/values/refusals.js';
import { SeenRows, type SeenRow } from './seen-rows.js';

export interface ValueRules {
  /** The destination's values it cannot store (DestinationCapabilities.refuses). */
  refuses?(type: ColumnType): Refusal | undefined;
  /** A target column's own limits (StreamLoad.refuses), by target name. */
  column?(target: string): Refusal | undefined;
  /** Remove NUL characters from text and JSON values. */
  stripNul?: boolean;
  /** Round values of declared `decimal(p,s)` columns to their scale (otherwise a longer one is refused). */
  rounding?: Rounding;
  /** Erased subjects (core/suppression.ts): a test per column, by source or target name; a row it holds is filtered. */
  suppressed?(column: string): ((value: unknown) => boolean) | undefined;
}

/** A row passes, is filtered (counted, not loaded), or is rejected with a reason (dead-lettered). */
export const PASS = 0;
export const FILTERED = 1;

export class RowGate {
  /** The newest cursor value seen so far (starts at the stored watermark). */
  maxCursor: unknown;
  private keyIndexes: number[] = [];
  private cursorIndex = -1;
  private compareCursor: (a: unknown, b: unknown) => number = () => 0;
  /** Per column position: the destination's refusal, and the stream's fix. */
  private refusals: [number, string, Refusal][] = [];
  private fixes: [number, (value: unknown) => unknown][] = [];
  /** The column types refusals and fixes were bound for. */
  private boundTypes = '';
  /** Per column position: the test of an erased subject's value (ValueRules.suppressed). */
  private screens: [number, (value: unknown) => boolean][] = [];
  private boundNames = -1;

  /**
   * @param keyed  rows must carry every column of `primaryKey`
   * @param startCursor  rows older than it were loaded by an earlier run (null: none)
   * @param track  whether the watermark moves (not for a replay, which re-sends old rows)
   * @param endCursor  a backfill window's end: rows at or after it, and rows without a cursor, are filtered
   * @param seen  an append stream's `lookback`: the rows loaded near the watermark, filtered when read again
   */
  constructor(
    private readonly primaryKey: string[],
    private readonly keyed: boolean,
    private readonly cursor: string | undefined,
    private startCursor: unknown,
    storedCursor: unknown,
    private readonly track: boolean,
    private readonly rules: ValueRules = {},
    private endCursor?: unknown,
    private readonly seen?: SeenRows,
  ) {
    this.maxCursor = storedCursor;
  }

  /** The destination's columns changed (evolve): refusals are bound again. */
  rebind(): void {
    this.boundTypes = '';
  }

  /** Column positions, after the schema may have grown. */
  bind(columns: readonly Column[]): void {
    this.cursorIndex = this.cursor ? columns.findIndex((c) => c.name === this.cursor) : -1;
    this.compareCursor = cursorOrder(columns[this.cursorIndex]?.type);
    // A window's bounds come as typed on a command line: compared in the cursor's canonical form.
    if (this.endCursor !== undefined && this.cursorIndex >= 0) {
      const type = columns[this.cursorIndex].type;
      this.startCursor = canonicalBound(type, this.startCursor);
      this.endCursor = canonicalBound(type, this.endCursor);
    }
    this.keyIndexes = this.primaryKey.map((k) => columns.findIndex((c) => c.name === k));
    const { suppressed } = this.rules;
    if (suppressed && columns.length !== this.boundNames) {
      // Columns are only ever added: their count says whether the names changed.
      this.boundNames = columns.length;
      this.screens = [];
      columns.forEach((c, i) => {
        const test = suppressed(c.name) ?? (c.target ? suppressed(c.target) : undefined);
        if (test) this.screens.push([i, test]);
      });
    }
    const types = columns.map((c) => `${c.type}${c.precision ?? ''}:${c.scale ?? ''}`).join();
    if (types === this.boundTypes) return;
    this.boundTypes = types;
    this.refusals = [];
    this.fixes = [];
    columns.forEach((c, i) => {
      const checks = [declaredDecimal(c, this.rules.rounding), this.rules.refuses?.(c.type), this.rules.column?.(c.target ?? c.name)]
        .filter((r): r is Refusal => r !== undefined);
      const refuse = checks.length <= 1 ? checks[0] : (v: unknown) => checks.map((r) => r(v)).find((why) => why !== undefined);
      if (refuse) this.refusals.push([i, c.name, refuse]);
      if (this.rules.rounding && c.scale !== undefined) {
        const { scale } = c;
        const mode = this.rules.rounding;
        this.fixes.push([i, (v) => (typeof v === 'string' ? roundDecimal(v, scale, mode) : v)]);
      }
      const fix = this.rules.stripNul ? nulStripper(c.type) : undefined;
      if (fix) this.fixes.push([i, fix]);
    });
  }

  /** PASS, FILTERED, or the reason the row is rejected. Fixes change `values` in place. */
  check(values: unknown[]): typeof PASS | typeof FILTERED | string {
    if (this.keyed) {
      const missing = this.keyIndexes.findIndex((k) => k < 0 || values[k] === null);
      if (missing >= 0) return `primary key column "${this.primaryKey[missing]}" is null`;
    }
    const cursor = this.cursorIndex >= 0 ? values[this.cursorIndex] ?? null : null;
    // Rows older than the watermark this run started from were loaded (or dead-lettered) by an earlier run.
    if (cursor !== null && this.startCursor !== null && this.compareCursor(cursor, this.startCursor) < 0) return FILTERED;
    if (this.endCursor !== undefined && (cursor === null || this.compareCursor(cursor, this.endCursor) >= 0)) return FILTERED;
    let seen: string | undefined;
    if (this.seen !== undefined && cursor !== null) {
      seen = SeenRows.hash(this.keyIndexes.map((k) => values[k]), cursor);
      if (this.seen.loaded(seen)) return FILTERED;
    }
    for (let s = 0; s < this.screens.length; s++) {
      const [i, held] = this.screens[s];
      if (held(values[i])) return FILTERED;
    }
    for (let f = 0; f < this.fixes.length; f++) {
      const [i, fix] = this.fixes[f];
      if (values[i] !== null) values[i] = fix(values[i]);
    }
    for (let r = 0; r < this.refusals.length; r++) {
      const [i, name, refuse] = this.refusals[r];
      const why = values[i] === null ? undefined : refuse(values[i]);
      if (why !== undefined) return `column "${name}": ${why}`;
    }
    // A refused row does not move the watermark, as a row without its key does not.
    if (cursor !== null && this.track && (this.maxCursor === null || this.maxCursor === undefined || this.compareCursor(cursor, this.maxCursor) > 0)) {
      this.maxCursor = cursor;
    }
    if (seen !== undefined) this.seen!.add(typeof cursor === 'number' ? cursor : String(cursor), seen, this.maxCursor, this.compareCursor);
    return PASS;
  }

  /** The newest cursor value of rows that passed elsewhere (a file the load read itself): the watermark moves to it. */
  advance(cursor: unknown): void {
    if (this.track && (this.maxCursor === null || this.maxCursor === undefined || this.compareCursor(cursor, this.maxCursor) > 0)) this.maxCursor = cursor;
  }

  /** An append stream's `lookback`: the rows loaded within it of the newest cursor, for the state. */
  seenRows(): SeenRow[] | undefined {
    return this.seen?.within(this.maxCursor, this.compareCursor);
  }
}

/** `2024-01-01` as a timestamp cursor's bound is `2024-01-01T00:00:00.000000Z`; `100` as an integer's is 100. */
function canonicalBound(type: ColumnType, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (type === 'timestamp' || type === 'date') {
    const t = normalizeTimestamp(v);
    return t === FAIL ? v : type === 'date' ? t.slice(0, 10) : t;
  }
  if ((type === 'integer' || type === 'bigint' || type === 'double') && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

/** A declared `decimal(p,s)`: a value with more digits than it holds is refused, with the way to round it. */
function declaredDecimal(c: Column, rounding: Rounding | undefined): Refusal | undefined {
  const { precision, scale } = c;
  if (precision === undefined || scale === undefined) return undefined;
  return (v) => {
    if (typeof v !== 'string') return undefined;
    const why = decimalMisfit(v, precision, scale);
    return why && `the declared decimal(${precision},${scale}) cannot hold ${abbreviate(v, 40)} exactly (${why})`
      + (rounding ? '' : '; `rounding: half_even` (or half_up) on the stream rounds it');
  };
}
