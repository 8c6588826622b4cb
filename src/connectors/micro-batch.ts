// The batch a streaming source (a followed log, a WebSocket) is filling: the rows and rejects since the last cut and
// when the first of them came, so the source can cut by size or by age. A cut carries the checkpoint that covers it
// and asks for an immediate commit: what a stream has committed stays one micro-batch behind what it received.
import type { Batch, RejectedRow, Row, SourcePosition, StreamState } from '../core/types.js';

export class MicroBatch {
  private rows: Row[] = [];
  private positions: SourcePosition[] = [];
  private rejected: RejectedRow[] = [];
  /** When the first pending row or reject came (Date.now()); undefined while empty. */
  startedAt: number | undefined;

  /** Rows and rejects pending. */
  get size(): number {
    return this.rows.length + this.rejected.length;
  }

  /** A row, with where it came from when the source knows (DLQ entries of later stages show it). */
  add(row: Row, position?: SourcePosition): void {
    this.startedAt ??= Date.now();
    this.rows.push(row);
    if (position) this.positions.push(position);
  }

  reject(rejected: RejectedRow): void {
    this.startedAt ??= Date.now();
    this.rejected.push(rejected);
  }

  /** Everything pending as one batch with `checkpoint`, and start empty. */
  cut(checkpoint: StreamState): Batch {
    const positions = this.positions;
    const batch: Batch = { rows: this.rows, checkpoint, flush: true };
    if (positions.length) batch.positionOf = (i) => positions[i];
    if (this.rejected.length) batch.rejected = this.rejected;
    this.rows = [];
    this.positions = [];
    this.rejected = [];
    this.startedAt = undefined;
    return batch;
  }
}
