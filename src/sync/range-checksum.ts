// `sluice diff` by key-range checksums: each side sums, on its own server, the hashes of its rows per bucket of keys
// (./range-sql.ts); buckets whose row count and sum agree are the same on both sides and are not read. A bucket that
// differs is split again while it is big, else its (key, row hash) pairs are read from both sides and walked together
// like the full diff (./diff.ts); only rows whose hashes differ are read whole and compared value by value, exactly as
// the full diff does — a spelling that differs for an equal value costs speed, never a false difference. Memory holds
// the bucket sums of the levels being walked (MAX_BUCKETS each) and a batch of keys, whatever the table's size.
import type { PairedColumns } from './diff.js';
import { bucketRange } from './range-sql.js';
import { Rows } from './rows.js';
import type { Buckets, BucketSum, HashShape, RangeReader, Side, SideColumn } from './side.js';
import { MYSQL_UNSPELLED } from './sides/mysql-side.js';
import { compareKeys, isIntegerType, sameValue, syncText } from './values.js';

/** What a diff read: `ranges` buckets whose checksums were compared, rows read as (key, hash), rows read whole (both sides). */
export interface DiffWork {
  table: string;
  method: 'checksum' | 'hashes' | 'full';
  ranges: number;
  rows_hashed: number;
  rows_fetched: number;
}

/*
 * Measured on 1M rows, PostgreSQL against PostgreSQL, 1% of rows changed every 100th (bench/diff.ts): buckets of 16
 * rows (62,500 sums a side) read 320,000 rows as (key, hash), 2.9-4.8 s on a loaded machine; of 32, 640,000 rows and
 * 5.1-5.5 s; of 64, 1.28M and 4.9-5.4 s; of 256, every row and 6.2-6.4 s. Clustered changes read their few buckets
 * whatever the size.
 */
export const BUCKET_ROWS = 16;
/** Buckets of an integer key per query (its sums come back as rows). */
export const MAX_BUCKETS = 65536;
/** Bounds of another key per query (one parameter each, in the SQL's tree of CASEs). */
export const MAX_BOUNDS = 1024;
/**
 * A differing bucket of at most this many rows is read as (key, hash); a bigger one is split again — by an integer
 * key only: a range of a text key in byte order is not one of its index's (whose collation is the column's), so each
 * split would scan the table; its differing buckets (of MAX_BOUNDS) are read as (key, hash) whatever their size.
 */
export const LEAF_ROWS = 64;
/** Buckets per (key, hash) read, and keys per read of whole rows. */
const CHUNK = 2000;
const FETCH = 500;
/** Integer keys spanning more than this are not split by arithmetic (it would overflow a bigint). */
const SPAN = 1n << 62n;

type Kind = 'only_in_a' | 'only_in_b' | 'differs';
export type Report = (kind: Kind, key: (string | null)[], columns?: string[]) => void;

/** The shapes both sides hash a table by, or undefined when the table is read in full (see `plan`). */
export interface Plan { a: HashShape; b: HashShape; integer: boolean; carried: boolean }

/**
 * Whether key ranges can compare this table, and how: each key column an integer on both sides or text on both
 * (ranges, and the order rows are walked in, mean the same rows on both engines). A composite key is ranged by its
 * first column and its rows walked in the order of all of them; a bucket whose first column holds one value is read
 * as (key, hash) whatever its size (a key whose first column has few values, such as a tenant, gains little). A column one side cannot spell as values.ts compares it (MySQL floats
 * and JSON objects), or PostgreSQL JSON against another engine (jsonb orders keys its own way, and no SQL of MariaDB
 * or SQLite spells a document alike), is carried beside the hash; then no bucket can be known equal without reading
 * it, and the whole table is read as (key, hash, carried values).
 */
export function plan(a: Side, b: Side, p: PairedColumns): Plan | undefined {
  const n = p.keyParts;
  const integerAt = (i: number) => isIntegerType(p.a[i].type) && isIntegerType(p.b[i].type);
  for (let i = 0; i < n; i++) if (!integerAt(i) && !(p.a[i].text && p.b[i].text)) return undefined;
  const integer = integerAt(0);
  const unspelled = (s: Side, c: SideColumn) => s.type === 'mysql' && MYSQL_UNSPELLED.test(c.type);
  const json = (s: Side, c: SideColumn, other: Side) => s.type === 'postgres' && other.type !== 'postgres' && /^jsonb?$/.test(c.type);
  const carried = p.a.map((c, i) => i >= n && (unspelled(a, c) || unspelled(b, p.b[i]) || json(a, c, b) || json(b, p.b[i], a)));
  const shape = (cols: SideColumn[], peer: Side): HashShape => ({
    key: cols[0], rest: cols.slice(1, n), hashed: cols.filter((_, i) => !carried[i]), carried: cols.filter((_, i) => carried[i]), peer: peer.type,
  });
  return { a: shape(p.a, b), b: shape(p.b, a), integer, carried: carried.some(Boolean) };
}

interface Entry {
  kind: Kind | 'check';
  key: (string | null)[];
  /** The key as each side's driver gave it (to read the row whole). */
  ka?: unknown;
  kb?: unknown;
  columns?: string[];
}

/** Compare one table by key ranges; differences go to `report` in key order, rows counted into `rows`. */
export async function rangeDiff(a: Side, b: Side, p: PairedColumns, pl: Plan, keyText: (row: unknown[]) => (string | null)[],
  numeric: boolean[], rows: { a: number; b: number }, report: Report): Promise<DiffWork> {
  const ra = a.ranges(p.nameA, pl.a);
  const rb = b.ranges(p.nameB, pl.b);
  const work: DiffWork = { table: p.nameA, method: pl.carried ? 'hashes' : 'checksum', ranges: 0, rows_hashed: 0, rows_fetched: 0 };
  // Carried values are compared in JavaScript, in the same order as the full diff lists columns.
  const carriedAt = p.a.map((c, i) => (pl.a.carried.includes(c) ? i : -1)).filter((i) => i >= 0);
  const carriedNames = carriedAt.map((i) => p.a[i].name);
  // A (key, hash) row: the key's columns, then the hash, then the carried values.
  const n = p.keyParts;
  const driverKey = (row: unknown[]) => (n === 1 ? row[0] : row.slice(0, n));
  const queue: Entry[] = [];
  let toFetch = 0;

  const flushQueue = async () => {
    if (!queue.length) return;
    const checks = queue.filter((e) => e.kind === 'check');
    const byKey = async (r: RangeReader, cols: SideColumn[], keys: unknown[]) => {
      const found = new Map<string, unknown[]>();
      if (keys.length) for (const row of await r.rows(cols, keys)) found.set(JSON.stringify(keyText(row)), row);
      return found;
    };
    const [fa, fb] = await Promise.all([byKey(ra, p.a, checks.map((e) => e.ka)), byKey(rb, p.b, checks.map((e) => e.kb))]);
    work.rows_fetched += checks.length * 2;
    for (const e of queue) {
      if (e.kind !== 'check') {
        report(e.kind, e.key, e.columns);
        continue;
      }
      const id = JSON.stringify(e.key);
      const [x, y] = [fa.get(id), fb.get(id)];
      // A row gone since its hash was read: the side that still has it is what the read saw.
      if (!x || !y) {
        if (x || y) report(x ? 'only_in_a' : 'only_in_b', e.key);
        continue;
      }
      let changed: string[] | undefined;
      for (let i = p.keyParts; i < p.a.length; i++) {
        const u = x[i];
        const v = y[i];
        if (u !== v && syncText(u) !== syncText(v)) (changed ??= []).push(p.a[i].name);
      }
      if (changed) report('differs', e.key, changed);
    }
    queue.length = 0;
    toFetch = 0;
  };
  const push = async (e: Entry) => {
    queue.push(e);
    if (e.kind === 'check') toFetch++;
    if (queue.length >= FETCH * 4 || toFetch >= FETCH) await flushQueue();
  };

  /** (key, hash, carried) of both sides walked together: the rows of `b` (or of its buckets `ids`). */
  const leaf = async (bk: Buckets, ids?: number[]) => {
    const left = new Rows(ra.hashes(bk, ids));
    const right = new Rows(rb.hashes(bk, ids));
    let x = await left.next();
    let y = await right.next();
    while (x || y) {
      const kx = x && keyText(x);
      const ky = y && keyText(y);
      const order = !kx ? 1 : !ky ? -1 : compareKeys(kx, ky, numeric);
      if (order < 0) {
        rows.a++;
        work.rows_hashed++;
        await push({ kind: 'only_in_a', key: kx! });
        x = await left.next();
      } else if (order > 0) {
        rows.b++;
        work.rows_hashed++;
        await push({ kind: 'only_in_b', key: ky! });
        y = await right.next();
      } else {
        rows.a++;
        rows.b++;
        work.rows_hashed += 2;
        if (x![n] !== y![n]) await push({ kind: 'check', key: kx!, ka: driverKey(x!), kb: driverKey(y!) });
        else if (carriedAt.length) {
          let changed: string[] | undefined;
          for (let j = 0; j < carriedAt.length; j++) {
            if (!sameValue(x![n + 1 + j], y![n + 1 + j])) (changed ??= []).push(carriedNames[j]);
          }
          if (changed) await push({ kind: 'differs', key: kx!, columns: changed });
        }
        x = await left.next();
        y = await right.next();
      }
    }
  };

  /** Buckets of about BUCKET_ROWS rows over `range` (about `n` rows), or undefined when it cannot be split. */
  const split = async (range: { lo?: unknown; hi?: unknown }, n: number, sampleFrom: RangeReader): Promise<Buckets | undefined> => {
    if (pl.integer) {
      const [lo, hi] = [range.lo as bigint, range.hi as bigint];
      const span = hi - lo;
      if (span <= 1n) return undefined;
      const k = BigInt(Math.max(2, Math.min(MAX_BUCKETS, Math.ceil(n / BUCKET_ROWS))));
      return { lo, hi, width: (span + k - 1n) / k };
    }
    const k = Math.max(2, Math.min(MAX_BOUNDS, Math.ceil(n / BUCKET_ROWS)));
    const bounds = await sampleFrom.sample(range.lo, range.hi, Math.max(1, Math.ceil(n / k)), k - 1);
    return bounds.length ? { lo: range.lo, hi: range.hi, bounds } : undefined;
  };

  const compare = async (range: { lo?: unknown; hi?: unknown }, n: number, sampleFrom: RangeReader): Promise<void> => {
    const bk = n > LEAF_ROWS ? await split(range, n, sampleFrom) : undefined;
    if (!bk) {
      await leaf({ ...range });
      return;
    }
    const [sa, sb] = await Promise.all([ra.sums(bk), rb.sums(bk)]);
    work.ranges += bk.width !== undefined ? Number(((range.hi as bigint) - (range.lo as bigint) + bk.width - 1n) / bk.width) : bk.bounds!.length + 1;
    const byId = (s: BucketSum[]) => new Map(s.map((x) => [x.bucket, x]));
    const [ma, mb] = [byId(sa), byId(sb)];
    const ids = [...new Set([...ma.keys(), ...mb.keys()])].sort((u, v) => u - v);
    let pending: number[] = [];
    const flush = async () => {
      if (pending.length) await leaf(bk, pending);
      pending = [];
    };
    for (const id of ids) {
      const [x, y] = [ma.get(id), mb.get(id)];
      if (x && y && x.count === y.count && x.sum === y.sum) {
        rows.a += x.count;
        rows.b += y.count;
        continue;
      }
      const m = Math.max(x?.count ?? 0, y?.count ?? 0);
      if (m <= LEAF_ROWS || bk.width === 1n || bk.bounds) {
        pending.push(id);
        if (pending.length >= CHUNK) await flush();
        continue;
      }
      await flush();
      await compare(bucketRange(bk, id, id), m, (y?.count ?? 0) > (x?.count ?? 0) ? rb : ra);
    }
    await flush();
  };

  if (pl.carried) await leaf({});
  else {
    const [ea, eb] = await Promise.all([ra.extent(pl.integer), rb.extent(pl.integer)]);
    const n = Math.max(ea.count, eb.count);
    if (pl.integer) {
      const mins = [ea.min, eb.min].filter((v) => v !== null).map((v) => BigInt(v!));
      const maxes = [ea.max, eb.max].filter((v) => v !== null).map((v) => BigInt(v!));
      if (mins.length) {
        const lo = mins.reduce((u, v) => (v < u ? v : u));
        const hi = maxes.reduce((u, v) => (v > u ? v : u)) + 1n;
        if (hi - lo > SPAN) {
          work.method = 'hashes';
          await leaf({});
        } else await compare({ lo, hi }, n, eb.count > ea.count ? rb : ra);
      }
    } else if (n > 0) await compare({}, n, eb.count > ea.count ? rb : ra);
  }
  await flushQueue();
  return work;
}
