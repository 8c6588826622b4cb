// One part file being written to a local file; the load hands it to the table store once it is closed.
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import type { ColumnType } from '../../core/types.js';

export interface PartColumn {
  /** Name in the file (the column's target name). */
  name: string;
  type: ColumnType;
  /** A declared decimal(p,s) (Parquet keeps it as its DECIMAL(p,s)). */
  precision?: number;
  scale?: number;
}

export interface PartWriter {
  /** Rows written so far. */
  readonly rows: number;
  /** About how large the file is so far (what `target_file_size` is checked against); undefined when unknown. */
  readonly bytes: number | undefined;
  write(rows: unknown[][]): Promise<void>;
  /** Finish the file (footer, fsync) so it can be renamed into place. */
  close(): Promise<void>;
  /** Give up: release everything and delete the file. Never throws. */
  discard(): Promise<void>;
}

/**
 * A text part (CSV, NDJSON), plain or gzip: each write() is one string written with backpressure, so memory is
 * bounded by a batch and the disk sets the pace.
 */
export class TextPartWriter implements PartWriter {
  rows = 0;
  private file: WriteStream | undefined;
  private out: Writable | undefined;

  constructor(
    private readonly path: string,
    private readonly encode: (rows: unknown[][]) => string,
    private readonly header = '',
    private readonly gzip = false,
  ) {}

  /** Text handed to the stream so far (characters: bytes for ASCII). */
  private written = 0;
  private gz: Gzip | undefined;

  /** Gzip holds output back: its size is the text written times the ratio it has compressed at so far. */
  get bytes(): number {
    const out = this.file?.bytesWritten ?? 0;
    if (!this.gz) return out;
    const consumed = this.gz.bytesWritten;
    return out > 0 && consumed > 0 ? Math.round(this.written * (out / consumed)) : this.written;
  }

  async write(rows: unknown[][]): Promise<void> {
    const out = this.stream();
    const text = this.encode(rows);
    this.written += text.length;
    if (!out.write(text)) await once(out, 'drain');
    this.rows += rows.length;
  }

  async close(): Promise<void> {
    const out = this.stream();
    out.end();
    await finished(this.file!);
    this.file = undefined;
    this.out = undefined;
    this.gz = undefined;
    // Durable before it is published: a manifest must never list a file the OS has not written.
    const handle = await open(this.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async discard(): Promise<void> {
    this.out?.destroy();
    this.file?.destroy();
    this.out = undefined;
    this.file = undefined;
    this.gz = undefined;
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  private stream(): Writable {
    if (!this.out) {
      this.file = createWriteStream(this.path);
      if (this.gzip) {
        this.gz = createGzip();
        this.gz.pipe(this.file);
        this.out = this.gz;
      } else {
        this.out = this.file;
      }
      if (this.header) this.out.write(this.header);
    }
    return this.out;
  }
}
