// The read loop of a keyset-paginated SQL source (PostgreSQL, MySQL, SQLite): pages ordered by (cursor, primary
// key…), each starting strictly after the last row of the one before (keyset.ts writes the SQL), each yielded as a
// batch whose checkpoint is that last row's position, `state.connector = {cursor_value, pk_values}`
// (keysetCheckpoint, which a source's one ordered pass uses too). Rows sharing a cursor value across a page boundary
// are neither missed nor repeated, no page holds a long transaction, and memory is bounded by the batch size.
import type { Batch, Row, StreamState } from '../../core/types.js';

/** Where a keyset read stopped, as kept in `state.connector`. */
export interface KeysetPosition {
  cursor_value?: unknown;
  pk_values: unknown[];
}

export interface KeysetReadOptions {
  /** Key columns in order: the cursor column (if any) first, then the primary key. */
  keys: readonly string[];
  hasCursor: boolean;
  /** The state the run started from (undefined: from the beginning). */
  state: StreamState | undefined;
  batchSize: number;
  /**
   * At most `limit` rows strictly after `after` (undefined: the first page), in key order: as objects, or as arrays
   * aligned with `columns` (cheaper: no object per row, and the engine reads them by position).
   */
  fetch(after: readonly unknown[] | undefined, limit: number): Promise<Row[] | ArrayPage>;
  signal: AbortSignal;
  /** A key value as JSON can keep it in state and the driver bind it back (default: bigint → text, bytes → hex). */
  keyValue?: (v: unknown) => unknown;
}

export interface ArrayPage {
  columns: readonly string[];
  values: unknown[][];
  /** The values are canonical for their catalog types (see Batch.canonical). */
  canonical?: boolean;
}

/** Where a stored state says to resume, if it was written for these keys. */
export function resumePosition(state: StreamState | undefined, keys: readonly string[], hasCursor: boolean): unknown[] | undefined {
  const pos = state?.connector as Partial<KeysetPosition> | undefined;
  if (!pos || !Array.isArray(pos.pk_values)) return undefined;
  if (hasCursor && (pos.cursor_value === undefined || pos.cursor_value === null)) return undefined;
  const values = hasCursor ? [pos.cursor_value, ...pos.pk_values] : [...pos.pk_values];
  return values.length === keys.length ? values : undefined;
}

/** A key value as JSON can keep it in state (and the driver bind it back): bigint → text, bytes → hex. */
export const stateValue = (v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;

/** The checkpoint after a row whose key values, in state form, are `after`: the stored state with this position. */
export function keysetCheckpoint(state: StreamState | undefined, after: readonly unknown[], hasCursor: boolean): StreamState {
  const { version: _v, connector: _c, ...base } = state ?? { version: 1 };
  const position: KeysetPosition = hasCursor ? { cursor_value: after[0], pk_values: after.slice(1) } : { pk_values: [...after] };
  return { ...base, version: 1, connector: { ...position } };
}

/**
 * Batches of one keyset read. Without a cursor the read is a full table keyed by its primary key: the position is
 * kept only so a crashed run resumes where it stopped, and a last empty batch clears it, so the next run reads the
 * whole table again.
 */
export async function* keysetBatches(o: KeysetReadOptions): AsyncGenerator<Batch> {
  const { version: _v, connector: _c, ...base } = o.state ?? { version: 1 };
  let after = resumePosition(o.state, o.keys, o.hasCursor);
  const limit = Math.max(1, o.batchSize);
  // The next page is asked for as soon as this one arrives (its start is this page's last row), so the server
  // works on it while the engine loads this one: a page's round trip no longer stalls the pipeline.
  let next: Promise<Row[] | ArrayPage> | undefined = o.fetch(after, limit);
  let keyIndexes: number[] | undefined;
  const keyValue = o.keyValue ?? stateValue;
  try {
    while (next) {
      o.signal.throwIfAborted();
      const page = await next;
      next = undefined;
      const n = Array.isArray(page) ? page.length : page.values.length;
      if (n === 0) break;
      if (Array.isArray(page)) {
        const last = page[n - 1];
        after = o.keys.map((k) => keyValue(last[k]));
      } else {
        const last = page.values[n - 1];
        keyIndexes ??= o.keys.map((k) => page.columns.indexOf(k));
        after = keyIndexes.map((i) => keyValue(last[i]));
      }
      if (n === limit) next = o.fetch(after, limit);
      const checkpoint = keysetCheckpoint(o.state, after, o.hasCursor);
      yield Array.isArray(page) ? { rows: page, checkpoint } : { rows: [], columns: page.columns, values: page.values, checkpoint, canonical: page.canonical };
    }
  } finally {
    // Stopped early (failure, cancel): the page in flight is no longer wanted, but must not become an unhandled rejection.
    next?.catch(() => undefined);
  }
  if (!o.hasCursor) yield { rows: [], checkpoint: { ...base, version: 1, connector: {} } };
}
