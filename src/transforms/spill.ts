// Rows a blocking step must give back at the end of its stream but need not look at meanwhile, kept in a temporary
// file rather than in the heap: `resolve` matches a million records on a few fields each, and holding the whole rows
// beside them was most of its memory. Rows are written in chunks (v8.serialize: dates, bigints and buffers come back
// as they went in) and read back in the same order, a chunk at a time.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Row } from '../core/types.js';
import { Frame } from './frame.js';
import { FLUSH_ROWS } from './step.js';


/** One chunk: array rows under their column names, or object rows. */
interface Chunk {
  columns?: string[];
  rows: unknown[];
}

export class RowSpill {
  private dir: string | undefined;
  private fd: number | undefined;
  private offset = 0;
  /** Each written chunk's byte length and rows, in order, and its columns (joined; '' for object rows). */
  private readonly chunks: { bytes: number; rows: number; columns: string }[] = [];

  /**
   * Keep rows `at` of a frame (in that order), as they are now. They are written at once: rows held in memory until
   * a chunk fills outlive the young generation, and the old one then grows by all the rows the step ever held.
   */
  add(frame: Frame, at: readonly number[]): void {
    if (at.length === 0) return;
    const layout = frame.layout;
    const rows = new Array<unknown>(at.length);
    for (let j = 0; j < at.length; j++) {
      if (!layout) {
        rows[j] = frame.rows[at[j]];
        continue;
      }
      const v = frame.values[at[j]];
      const slots = layout.slots;
      const row = new Array<unknown>(slots.length);
      for (let k = 0; k < slots.length; k++) row[k] = v[slots[k]] ?? null;
      rows[j] = row;
    }
    const chunk: Chunk = layout ? { columns: [...layout.names], rows } : { rows };
    this.write(serialize(chunk), rows.length, layout ? layout.names.join('\u0000') : '');
  }

  /**
   * The rows, in the order added, as frames of up to FLUSH_ROWS rows (chunks of one form and set of columns
   * together); the file is closed once all are read.
   */
  *frames(): Generator<Frame> {
    try {
      let at = 0;
      let buffer = Buffer.alloc(0);
      let group: Chunk[] = [];
      let rows = 0;
      for (let c = 0; c < this.chunks.length; c++) {
        const { bytes, columns } = this.chunks[c];
        // One buffer for every chunk (deserialize copies out of it): a new one each time left the allocator's heap
        // fragmented, ~100 MB of RSS over a 1M-row emit that no collection gave back.
        if (buffer.length < bytes) buffer = Buffer.allocUnsafe(Math.max(bytes, 2 * buffer.length));
        for (let got = 0; got < bytes;) got += readSync(this.fd!, buffer, got, bytes - got, at + got);
        at += bytes;
        group.push(deserialize(buffer.subarray(0, bytes)) as Chunk);
        rows += this.chunks[c].rows;
        const next = this.chunks[c + 1];
        if (next && next.columns === columns && rows + next.rows <= FLUSH_ROWS) continue;
        yield frameOf(group);
        group = [];
        rows = 0;
      }
    } finally {
      this.close();
    }
  }

  /** Drop the file (also when a run ends before reading it back). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.fd = undefined;
    this.dir = undefined;
    this.chunks.length = 0;
    this.offset = 0;
  }

  private write(bytes: Buffer, rows: number, columns: string): void {
    if (this.fd === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'sluice-spill-'));
      this.fd = openSync(join(this.dir, 'rows'), 'w+');
      try {
        // Removed while open, the file lives until it is closed, and no crash can leave it behind.
        rmSync(this.dir, { recursive: true });
        this.dir = undefined;
      } catch {
        // Where an open file cannot be removed (Windows), close() removes it.
      }
    }
    for (let done = 0; done < bytes.length;) done += writeSync(this.fd, bytes, done, bytes.length - done, this.offset + done);
    this.offset += bytes.length;
    this.chunks.push({ bytes: bytes.length, rows, columns });
  }
}

/** One frame of consecutive chunks of the same columns. */
function frameOf(chunks: Chunk[]): Frame {
  const rows = chunks.length === 1 ? chunks[0].rows : chunks.flatMap((c) => c.rows);
  const columns = chunks[0].columns;
  const frame = columns ? Frame.columnar(columns, rows as unknown[][]) : Frame.objects(rows as Row[]);
  // Rows from no extracted batch: one the step rejects goes to the dead-letter queue as the frame has it.
  frame.origin = new Array<number>(frame.length).fill(-1);
  return frame;
}
