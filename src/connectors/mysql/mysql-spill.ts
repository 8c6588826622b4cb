// Rows written between two checkpoints wait in a local file, encoded as LOAD DATA text, and reach MySQL only at
// commit, in the transaction that also writes the state. Why not straight into the table: MySQL commits implicitly
// on every DDL, so a column added or widened mid-checkpoint would commit rows without their state and a crash would
// then load them twice. With the rows on disk nothing is pending in the server when DDL runs. Memory stays bounded
// (one chunk at a time), and the measured cost of the detour is small next to LOAD DATA itself.
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { RunError, errorMessage } from '../../core/errors.js';
import type { ColumnType } from '../../core/types.js';
import { fieldEncoder } from './mysql-types.js';
import type { FieldEncoder } from './mysql-types.js';
import { q } from './mysql-tables.js';

/** How one write() lays rows out: which table columns the fields fill, and how each value is encoded. */
export interface LoadPlan {
  /** `(a, @v1, c) SET b = UNHEX(@v1)`: the column list of LOAD DATA. */
  columnsSql: string;
  encoders: FieldEncoder[];
  names: string[];
}

export function loadPlan(columns: readonly { name: string; type: ColumnType }[]): LoadPlan {
  const list: string[] = [];
  const sets: string[] = [];
  columns.forEach((c, i) => {
    if (c.type === 'binary') {
      list.push(`@v${i}`);
      sets.push(`${q(c.name)} = UNHEX(@v${i})`);
    } else {
      list.push(q(c.name));
    }
  });
  return {
    columnsSql: `(${list.join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`,
    encoders: columns.map((c) => fieldEncoder(c.type)),
    names: columns.map((c) => c.name),
  };
}

interface Part {
  plan: LoadPlan;
  start: number;
  end: number;
  rows: number;
}

/** Text is flushed to the file in chunks of about this size. */
const CHUNK_CHARS = 1 << 20;

export class SpillFile {
  readonly path = join(tmpdir(), `sluice-mysql-${randomUUID()}.tsv`);
  private fh: FileHandle | undefined;
  private parts: Part[] = [];
  private size = 0;

  get rows(): number {
    return this.parts.reduce((n, p) => n + p.rows, 0);
  }

  async append(rows: readonly unknown[][], plan: LoadPlan): Promise<void> {
    this.fh ??= await open(this.path, 'w+');
    let part = this.parts[this.parts.length - 1];
    if (!part || part.plan !== plan) {
      part = { plan, start: this.size, end: this.size, rows: 0 };
      this.parts.push(part);
    }
    const { encoders, names } = plan;
    const n = encoders.length;
    let text = '';
    for (const row of rows) {
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (v === null || v === undefined) text += '\\N';
        else {
          try {
            text += encoders[i](v);
          } catch (e) {
            throw new RunError(`column ${JSON.stringify(names[i])}: cannot store ${preview(v)}: ${errorMessage(e)}`);
          }
        }
        text += i === n - 1 ? '\n' : '\t';
      }
      if (text.length >= CHUNK_CHARS) text = await this.flush(text);
    }
    await this.flush(text);
    part.end = this.size;
    part.rows += rows.length;
  }

  /** The rows written so far, one part per layout, in order. */
  segments(): readonly Part[] {
    return this.parts;
  }

  /** A stream of one part's bytes, for LOAD DATA LOCAL INFILE. */
  read(part: Part): Readable {
    return createReadStream(this.path, { start: part.start, end: part.end - 1, highWaterMark: 1 << 20 });
  }

  /** Forget what was written (after it committed), keeping the file for the next checkpoint. */
  async reset(): Promise<void> {
    this.parts = [];
    this.size = 0;
    await this.fh?.truncate(0);
  }

  async close(): Promise<void> {
    this.parts = [];
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private async flush(text: string): Promise<string> {
    if (text.length === 0) return '';
    const buf = Buffer.from(text, 'utf8');
    await this.fh!.write(buf, 0, buf.length, this.size);
    this.size += buf.length;
    return '';
  }
}

const preview = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};
