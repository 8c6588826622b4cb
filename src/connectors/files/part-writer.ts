// One part file being written under a temporary name. The load renames it into place once it is closed.
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
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
  write(rows: unknown[][]): Promise<void>;
  /** Finish the file (footer, fsync) so it can be renamed into place. */
  close(): Promise<void>;
  /** Give up: release everything and delete the file. Never throws. */
  discard(): Promise<void>;
}

/**
 * A text part (CSV, NDJSON): each write() becomes one string written with one awaited call, so memory is bounded
 * by a batch and the disk sets the pace.
 */
export class TextPartWriter implements PartWriter {
  rows = 0;
  private handle: FileHandle | undefined;

  constructor(
    private readonly path: string,
    private readonly encode: (rows: unknown[][]) => string,
    private readonly header = '',
  ) {}

  async write(rows: unknown[][]): Promise<void> {
    const handle = await this.file();
    await handle.write(this.encode(rows));
    this.rows += rows.length;
  }

  async close(): Promise<void> {
    const handle = await this.file();
    // Durable before the rename publishes it: a manifest must never list a file the OS has not written.
    await handle.sync();
    await handle.close();
    this.handle = undefined;
  }

  async discard(): Promise<void> {
    try {
      await this.handle?.close();
    } catch {
      // Closing is best effort; the file is removed either way.
    }
    this.handle = undefined;
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  private async file(): Promise<FileHandle> {
    if (!this.handle) {
      this.handle = await open(this.path, 'w');
      if (this.header) await this.handle.write(this.header);
    }
    return this.handle;
  }
}
