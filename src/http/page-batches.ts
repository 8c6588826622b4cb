// Turns the records of one fetched page into engine batches: objects become rows, anything else is dead-lettered
// with the page's URL and ordinal, repeated keys are dropped, and rows are cut to `batchSize` with the checkpoint on
// the page's last batch (so a commit never covers half a page).
import type { Batch, RejectedRow, Row, SourcePosition, StreamState } from '../core/types.js';
import type { SeenKeys } from './seen-keys.js';

export interface FetchedPage {
  url: string;
  /** Ordinal of the page in this stream's run, from 1 (a resumed run continues the count). */
  page: number;
  records: unknown[];
}

export function* pageBatches(
  page: FetchedPage, batchSize: number, seen: SeenKeys | undefined, checkpoint: StreamState | undefined,
  decorate?: (row: Row) => Row,
): Generator<Batch> {
  const position: SourcePosition = { url: page.url, page: page.page };
  const rejected: RejectedRow[] = [];
  let rows: Row[] = [];
  const out: Batch[] = [];
  const size = Math.max(1, batchSize);
  for (const r of page.records) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      rejected.push({ stage: 'parse', reason: `record is ${r === null ? 'null' : Array.isArray(r) ? 'an array' : typeof r}, not an object`, raw: JSON.stringify(r) ?? String(r), position });
      continue;
    }
    const row = decorate ? decorate(r as Row) : (r as Row);
    if (seen && !seen.first(row)) continue;
    rows.push(row);
    if (rows.length >= size) {
      out.push({ rows, positionOf: () => position });
      rows = [];
    }
  }
  if (rows.length || rejected.length || out.length === 0) out.push({ rows, positionOf: () => position });
  if (rejected.length) out[out.length - 1].rejected = rejected;
  if (checkpoint) out[out.length - 1].checkpoint = checkpoint;
  yield* out;
}
