// A whole table cut into ranges of its one-column integer key, a task each on workers (Source.slices), the same way for
// every SQL source: how many ranges (about `slice_rows` rows each, by the row count the source estimates), their
// bounds and stable ids, and how a keyset read (MySQL, SQLite) keeps to its range and resumes inside it.
import { z } from 'zod';
import type { SourceSlice, StreamConfig } from '../../core/connector.js';
import type { StreamState } from '../../core/types.js';
import type { KeysetDialect, KeysetPage } from './keyset.js';

/** Rows per range unless the stream says (`slice_rows`). */
export const DEFAULT_SLICE_ROWS = 1_000_000;
/** Most tasks one table is split into. */
const MAX_RANGES = 64;

export const sliceRowsKey = {
  slice_rows: z.int().min(1).optional()
    .describe('On workers (`--workers`), a table read whole (no `cursor`, a one-column integer `primary_key`) of more rows than twice this, by the source\'s estimate, is split into ranges of its key of about this many rows, each a task of its own. Default 1,000,000.'),
};

export type KeyRange = { lo: string; hi: string };

/** The key column of a stream that may be split by key range, or undefined: it has a cursor, a query, a composite key. */
export function rangeKey(stream: StreamConfig & { table?: string; query?: string }): string | undefined {
  return stream.cursor || stream.query || stream.primary_key.length !== 1 ? undefined : stream.primary_key[0];
}

/** How many ranges `rows` rows make for a stream: fewer than two means it is not split. */
export const rangeCount = (stream: StreamConfig, rows: number): number =>
  Math.min(MAX_RANGES, Math.ceil(rows / ((stream as { slice_rows?: number }).slice_rows ?? DEFAULT_SLICE_ROWS)));

/** [lo, hi] cut into at most `parts` contiguous ranges of about equal width. */
export function cutRange(lo: bigint, hi: bigint, parts: number): KeyRange[] {
  const width = hi - lo + 1n;
  const n = BigInt(Math.max(1, Math.min(parts, Number(width < 1_000_000n ? width : 1_000_000n))));
  const step = width / n;
  const out: KeyRange[] = [];
  for (let i = 0n; i < n; i++) {
    const a = lo + i * step;
    out.push({ lo: a.toString(), hi: (i === n - 1n ? hi : a + step - 1n).toString() });
  }
  return out;
}

/**
 * The slices of a table from its key's min and max (text; null when empty) and `parts`; undefined when it is not worth
 * splitting or the key is not an integer.
 */
export function rangeSlices(column: string, min: string | null, max: string | null, parts: number): SourceSlice[] | undefined {
  if (parts < 2 || min === null || max === null || !/^-?\d+$/.test(min) || !/^-?\d+$/.test(max)) return undefined;
  const ranges = cutRange(BigInt(min), BigInt(max), parts);
  if (ranges.length < 2) return undefined;
  // The id says the range, so a range is the same slice wherever it is planned ("-" of negative keys spelled "m").
  return ranges.map((r) => ({ id: `k${r.lo}_${r.hi}`.replace(/-/g, 'm'), keys: { column, ...r } }));
}

/** A key bound as a parameter: a number while exact, else its text (both compare as the integer column's values). */
const bound = (v: string): number | string => (Number.isSafeInteger(Number(v)) ? Number(v) : v);

/**
 * A keyset read of one range: undefined when the slice's own state says its range was read to the end (a keyset read
 * without a cursor clears its position at the end); else `page` adds the range to each page's condition.
 */
export function rangeRead(state: StreamState | undefined, range: NonNullable<SourceSlice['keys']>, dialect: KeysetDialect):
  { page: (p: KeysetPage) => KeysetPage } | undefined {
  const position = state?.connector as { pk_values?: unknown[] } | undefined;
  if (position && !position.pk_values) return undefined;
  return {
    page: (p) => {
      const params = [...p.params, bound(range.lo), bound(range.hi)];
      const within = `${dialect.quote(range.column)} BETWEEN ${dialect.placeholder(params.length - 1)} AND ${dialect.placeholder(params.length)}`;
      return { ...p, where: p.where ? `${p.where} AND ${within}` : within, params };
    },
  };
}
