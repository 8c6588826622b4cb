// The statements of a key-range comparison (./range-checksum.ts), written once for the three engines: each side gives
// its dialect — how a parameter is written, its key in byte order, its row hash — and runs what comes out. Values are
// always parameters; identifiers come quoted by the side.
import type { Buckets, RangeReader } from './side.js';

export interface RangeDialect {
  /** The table, quoted. */
  table: string;
  /** The key as the side orders it (text keys by their bytes): what ranges and bounds compare. */
  key: string;
  /** The key column itself, quoted (an index serves equality on it). */
  keyColumn: string;
  /** Every column of the key, quoted, the ranged one first (a composite key: its others follow). */
  keyColumns: string[];
  /** What rows are read in: each key column as the side orders it, as its full read (Side.scan) does. */
  order: string;
  /** The columns read beside the key: the key as the driver gives it, then `carried` values. */
  carried: string[];
  /** The row's hash as 15 hex digits (60 bits of an md5). */
  hash: string;
  /** The same hash as an integer to add up, and its sum spelled as decimal text. */
  sum(hash: string): string;
  /** `count(*)` as the engine returns it. */
  count: string;
  /** The n-th parameter's placeholder (1-based). */
  placeholder(n: number): string;
  /** An integer parameter (a bigint), typed so that comparisons and arithmetic stay exact. */
  integer(placeholder: string): string;
  /** Integer division of two integers (both non-negative here). */
  div(a: string, b: string): string;
}

export interface Statement { sql: string; values: unknown[] }

/** Parameters collected in the order their placeholders are written. */
class Params {
  readonly values: unknown[] = [];
  constructor(private readonly d: RangeDialect) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.d.placeholder(this.values.length);
  }
  int(v: bigint): string {
    return this.d.integer(this.add(v));
  }
}

/**
 * The range's predicate (lo inclusive, hi exclusive; a side left open is unbounded): bigint bounds (an integer key's)
 * on the key column, where its index serves; others on the key in byte order.
 */
function within(d: RangeDialect, p: Params, lo: unknown, hi: unknown): string[] {
  const side = (v: unknown, op: string) => (typeof v === 'bigint' ? `${d.keyColumn} ${op} ${p.int(v)}` : `${d.key} ${op} ${p.add(v)}`);
  const w: string[] = [];
  if (lo !== undefined) w.push(side(lo, '>='));
  if (hi !== undefined) w.push(side(hi, '<'));
  return w;
}

/**
 * The bucket of a row: `(key - lo) / width` for an integer key; else how many bounds are at or below the key, found by
 * a balanced tree of CASEs (log2 of the bounds' number of comparisons per row, one parameter per bound).
 */
function bucketOf(d: RangeDialect, p: Params, b: Buckets): string {
  if (b.width !== undefined) return d.div(`(${d.keyColumn} - ${p.int(b.lo as bigint)})`, p.int(b.width));
  const bounds = b.bounds ?? [];
  const node = (l: number, r: number): string => {
    if (l === r) return String(l);
    const mid = (l + r) >> 1;
    return `CASE WHEN ${d.key} < ${p.add(bounds[mid])} THEN ${node(l, mid)} ELSE ${node(mid + 1, r)} END`;
  };
  return node(0, bounds.length);
}

/** The key range of buckets `first..last` (inclusive) of `b`. */
export function bucketRange(b: Buckets, first: number, last: number): { lo: unknown; hi: unknown } {
  if (b.width !== undefined) {
    const lo = (b.lo as bigint) + BigInt(first) * b.width;
    const hi = (b.lo as bigint) + BigInt(last + 1) * b.width;
    return { lo, hi: b.hi !== undefined && (b.hi as bigint) < hi ? b.hi : hi };
  }
  const bounds = b.bounds ?? [];
  return { lo: first === 0 ? b.lo : bounds[first - 1], hi: last >= bounds.length ? b.hi : bounds[last] };
}

/** Rows and the sum of their hashes per bucket of the range (buckets with no row absent). */
export function sumsSql(d: RangeDialect, b: Buckets): Statement {
  const p = new Params(d);
  const bucket = bucketOf(d, p, b);
  const where = within(d, p, b.lo, b.hi);
  return {
    sql: `SELECT ${bucket} AS bucket, ${d.count} AS n, ${d.sum(d.hash)} AS total FROM ${d.table}`
      + `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY 1`,
    values: p.values,
  };
}

/** Key, row hash and carried values in key order: of the range, or only of the rows in `ids` (buckets, ascending). */
export function hashesSql(d: RangeDialect, b: Buckets, ids?: number[]): Statement {
  const p = new Params(d);
  const range = ids?.length ? bucketRange(b, ids[0], ids[ids.length - 1]) : { lo: b.lo, hi: b.hi };
  const where = within(d, p, range.lo, range.hi);
  // Only a run of buckets with gaps needs the bucket of each row: one run is its range.
  if (ids?.length && ids[ids.length - 1] - ids[0] + 1 !== ids.length) where.push(`${bucketOf(d, p, b)} IN (${ids.map((i) => p.add(i)).join(', ')})`);
  return {
    sql: `SELECT ${[...d.keyColumns, d.hash, ...d.carried].join(', ')} FROM ${d.table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${d.order}`,
    values: p.values,
  };
}

/** The keys of a range in key order (every n-th is kept by the caller). */
export function keysSql(d: RangeDialect, lo: unknown, hi: unknown): Statement {
  const p = new Params(d);
  const where = within(d, p, lo, hi);
  return { sql: `SELECT ${d.keyColumn} FROM ${d.table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${d.key}`, values: p.values };
}

/**
 * Rows of `columns` (quoted) whose key is one of `keys` (of a composite key, each an array of its values): by the key
 * columns, so the key's index serves.
 */
export function rowsSql(d: RangeDialect, columns: string[], keys: unknown[]): Statement {
  const p = new Params(d);
  const where = d.keyColumns.length === 1 ? `${d.keyColumn} IN (${keys.map((k) => p.add(k)).join(', ')})`
    : keys.map((k) => `(${d.keyColumns.map((c, i) => `${c} = ${p.add((k as unknown[])[i])}`).join(' AND ')})`).join(' OR ');
  return { sql: `SELECT ${columns.join(', ')} FROM ${d.table} WHERE ${where}`, values: p.values };
}

/** How a side runs a statement: all rows at once, or in pages (rows as arrays). */
export interface Runner {
  all(st: Statement): Promise<unknown[][]>;
  stream(st: Statement): AsyncIterable<unknown[][]>;
}

/** A side's RangeReader from its dialect and runner; `quote` quotes a column name. */
export function rangeReader(d: RangeDialect, run: Runner, quote: (name: string) => string): RangeReader {
  return {
    async extent(integer) {
      const [row] = await run.all({ sql: `SELECT ${d.count}${integer ? `, MIN(${d.keyColumn}), MAX(${d.keyColumn})` : ''} FROM ${d.table}`, values: [] });
      const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
      return { count: Number(row[0]), min: integer ? text(row[1]) : null, max: integer ? text(row[2]) : null };
    },
    async sums(b) {
      return (await run.all(sumsSql(d, b))).map((r) => ({ bucket: Number(r[0]), count: Number(r[1]), sum: String(r[2]) }));
    },
    hashes: (b, ids) => run.stream(hashesSql(d, b, ids)),
    async sample(lo, hi, every, most) {
      const kept: unknown[] = [];
      let n = 0;
      for await (const page of run.stream(keysSql(d, lo, hi))) {
        // Read to the end: a MySQL stream left half read would hold its connection.
        for (const row of page) if (++n % every === 0 && kept.length < most) kept.push(row[0]);
      }
      return kept;
    },
    rows: (columns, keys) => run.all(rowsSql(d, columns.map((c) => quote(c.name)), keys)),
  };
}
