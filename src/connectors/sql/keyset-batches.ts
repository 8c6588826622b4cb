// The read loop of a keyset-paginated SQL source (MySQL, SQLite): pages ordered by (cursor, primary key…), each
// starting strictly after the last row of the one before (keyset.ts writes the SQL), each yielded as a batch whose
// checkpoint is that last row's position, `state.connector = {cursor_value, pk_values}` as the PostgreSQL source
// keeps it. Rows sharing a cursor value across a page boundary are neither missed nor repeated, no page holds a long
// transaction, and memory is bounded by the batch size.
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
  /** At most `limit` rows strictly after `after` (undefined: the first page), in key order. */
  fetch(after: readonly unknown[] | undefined, limit: number): Promise<Row[]>;
  signal: AbortSignal;
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
const stateValue = (v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;

/**
 * Batches of one keyset read. Without a cursor the read is a full table keyed by its primary key: the position is
 * kept only so a crashed run resumes where it stopped, and a last empty batch clears it, so the next run reads the
 * whole table again.
 */
export async function* keysetBatches(o: KeysetReadOptions): AsyncGenerator<Batch> {
  const { version: _v, connector: _c, ...base } = o.state ?? { version: 1 };
  let after = resumePosition(o.state, o.keys, o.hasCursor);
  const limit = Math.max(1, o.batchSize);
  while (true) {
    o.signal.throwIfAborted();
    const rows = await o.fetch(after, limit);
    if (rows.length === 0) break;
    const last = rows[rows.length - 1];
    after = o.keys.map((k) => stateValue(last[k]));
    const position: KeysetPosition = o.hasCursor ? { cursor_value: after[0], pk_values: after.slice(1) } : { pk_values: after };
    yield { rows, checkpoint: { ...base, version: 1, connector: { ...position } } };
    if (rows.length < limit) break;
  }
  if (!o.hasCursor) yield { rows: [], checkpoint: { ...base, version: 1, connector: {} } };
}
