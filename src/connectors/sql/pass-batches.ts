// One ordered pass over a query's result (a table without a key, a cursor no index leads with, a custom query),
// streamed by the driver as arrays and cut into batches of the run's batch size. Each batch's checkpoint comes from
// its last row, the end's from `checkpointOf(undefined)`; memory holds one batch. MySQL and SQLite read this way.
import type { Batch, StreamState } from '../../core/types.js';

export interface PassOptions {
  size: number;
  signal: AbortSignal;
  /** The result's column names; asked for once rows have arrived (a driver may announce them with the first). */
  columns: () => string[];
  /** Fixes a batch's values in place (the driver's forms → the engine's), once per batch. */
  fix?: (values: unknown[][]) => void;
  /** The fixed values are canonical for their catalog types (see Batch.canonical). */
  canonical?: boolean;
  checkpointOf: (last: unknown[] | undefined, columns: string[]) => StreamState | undefined;
}

export async function* passBatches(rows: AsyncIterable<unknown[]> | Iterable<unknown[]>, o: PassOptions): AsyncGenerator<Batch> {
  const size = Math.max(1, o.size);
  let batch: unknown[][] = [];
  const take = (): Batch => {
    o.fix?.(batch);
    const values = batch;
    batch = [];
    const columns = o.columns();
    const checkpoint = values.length ? o.checkpointOf(values[values.length - 1], columns) : undefined;
    return { rows: [], columns, values, ...(o.canonical ? { canonical: true } : {}), ...(checkpoint ? { checkpoint } : {}) };
  };
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      o.signal.throwIfAborted();
      yield take();
    }
  }
  const last = take();
  const end = o.checkpointOf(undefined, o.columns());
  if (last.values!.length || end) yield end ? { ...last, checkpoint: end } : last;
}
