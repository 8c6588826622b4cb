// A whole table read by several connections at once: the integer primary key's range is cut into `parallel` slices,
// each read in key order through its own server-side cursor, and their batches are interleaved as they arrive.
// Each batch's checkpoint holds every slice's position (the last key it yielded), so a crashed run resumes each
// slice where it stopped; the last batch clears the positions, so the next run reads the whole table again.
import type pg from 'pg';
import Cursor from 'pg-cursor';
import type { RunContext, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, StreamState } from '../../core/types.js';
import { quoteIdent } from '../sql/quote.js';
import { cutRange, rangeCount, rangeSlices } from '../sql/key-slices.js';
import { ResultColumns } from '../sql/result-columns.js';
import { readArrays } from './postgres-rows.js';

interface Slice {
  lo: string;
  hi: string;
  /** Last key yielded from this slice (exclusive start on resume); null before the first. */
  after: string | null;
  done?: boolean;
}

export interface ParallelRead {
  from: string;
  stream: StreamConfig;
  state: StreamState | undefined;
  parallel: number;
  ctx: RunContext;
  connect(): Promise<pg.PoolClient>;
  wrapError(e: unknown, what: string): Error;
}

export async function* readParallel(o: ParallelRead): AsyncGenerator<Batch> {
  const key = o.stream.primary_key[0];
  const k = quoteIdent(key);
  const { version: _v, connector, ...base } = o.state ?? { version: 1 };
  let slices = (connector as { slices?: Slice[] } | undefined)?.slices;
  if (!slices?.length) {
    const first = await o.connect();
    try {
      const r = await first.query<{ lo: string | null; hi: string | null }>(`SELECT min(${k})::text AS lo, max(${k})::text AS hi FROM ${o.from}`);
      const { lo, hi } = r.rows[0];
      if (lo === null || hi === null) {
        yield { rows: [], checkpoint: { ...base, version: 1, connector: {} } };
        return;
      }
      if (!/^-?\d+$/.test(lo)) throw new RunError(`stream ${o.stream.name}: \`parallel\` needs an integer primary key; "${key}" is not one`, o.stream.name);
      slices = cutRange(BigInt(lo), BigInt(hi), o.parallel).map((r) => ({ ...r, after: null }));
    } catch (e) {
      throw o.wrapError(e, 'planning the parallel read');
    } finally {
      first.release();
    }
  }
  const positions = slices.map((s) => ({ ...s }));
  const size = Math.max(1, o.ctx.batchSize);
  // One slot per slice: a slice reads its next batch only after the engine took its last one (backpressure).
  const ready: { slice: number; columns: string[]; values: unknown[][] }[] = [];
  // One names array for all slices: they read the same relation.
  const result = new ResultColumns();
  let wake: (() => void) | undefined;
  let failure: unknown;
  const gates = positions.map(() => ({ open: Promise.resolve(), release: () => {} }));

  const readSlice = async (i: number): Promise<void> => {
    const s = positions[i];
    if (s.done) return;
    const client = await o.connect();
    let broken = false;
    const params = s.after === null ? [s.lo, s.hi] : [s.after, s.hi];
    const cursor = client.query(new Cursor<unknown[]>(
      `SELECT * FROM ${o.from} WHERE ${k} ${s.after === null ? '>=' : '>'} $1 AND ${k} <= $2 ORDER BY ${k}`, params, { rowMode: 'array' }));
    try {
      while (!failure) {
        o.ctx.signal.throwIfAborted();
        await gates[i].open;
        const { values, fields } = await readArrays(cursor, size);
        if (values.length === 0) break;
        gates[i].open = new Promise<void>((r) => (gates[i].release = r));
        ready.push({ slice: i, columns: result.of(fields), values });
        wake?.();
        if (values.length < size) break;
      }
    } catch (e) {
      broken = true;
      failure ??= o.wrapError(e, `reading key range ${s.lo}..${s.hi}`);
    } finally {
      await cursor.close().catch(() => { broken = true; });
      client.release(broken);
      ready.push({ slice: i, columns: [], values: [] });
      wake?.();
    }
  };

  const readers = positions.map((_, i) => readSlice(i));
  try {
    let live = positions.filter((s) => !s.done).length;
    while (live > 0) {
      if (ready.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (failure) throw failure;
      const item = ready.shift();
      if (!item) continue;
      const s = positions[item.slice];
      if (item.values.length === 0) {
        // The slice's end marker.
        if (!s.done) {
          s.done = true;
          live--;
        }
        continue;
      }
      const last = item.values[item.values.length - 1][item.columns.indexOf(key)];
      s.after = typeof last === 'bigint' ? last.toString() : String(last);
      gates[item.slice].release();
      yield {
        rows: [], columns: item.columns, values: item.values, canonical: true,
        checkpoint: { ...base, version: 1, connector: { slices: positions.map((p) => ({ ...p })) } },
      };
    }
    if (failure) throw failure;
    // Every slice is read: the next run starts over on the whole table.
    yield { rows: [], checkpoint: { ...base, version: 1, connector: {} } };
  } finally {
    failure ??= new Error('stopped');
    for (const g of gates) g.release();
    await Promise.allSettled(readers);
  }
}

/**
 * Ranges of a table's integer key of about `slice_rows` rows each, from the catalog's row estimate (a count when the
 * table was never analysed), for a run on workers to give each its own task; undefined when it is not worth it.
 */
export async function keyRanges(client: pg.PoolClient, table: string, key: string, stream: StreamConfig): Promise<SourceSlice[] | undefined> {
  const k = quoteIdent(key);
  const est = await client.query<{ n: string }>('SELECT reltuples::bigint::text AS n FROM pg_class WHERE oid = $1::regclass', [table]);
  let n = Number(est.rows[0]?.n ?? -1);
  if (n < 0) n = Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0].n);
  const parts = rangeCount(stream, n);
  if (parts < 2) return undefined;
  const r = await client.query<{ lo: string | null; hi: string | null }>(`SELECT min(${k})::text AS lo, max(${k})::text AS hi FROM ${table}`);
  return rangeSlices(key, r.rows[0].lo, r.rows[0].hi, parts);
}
