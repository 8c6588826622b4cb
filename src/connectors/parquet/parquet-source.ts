// The `parquet` source: files read through an in-memory DuckDB, whose streaming result hands over one vector chunk
// (2,048 rows) at a time: memory is bounded by the chunk and DuckDB's memory_limit, never by the file. Types come from
// the Parquet schema, so nothing is inferred. Files are tracked in state like every file source (an unchanged file
// is skipped; a partly loaded one resumes at its next row, by row number).
//
// S3 sources: DuckDB has no access to a bucket here (no httpfs offline, nor the AWS credential chain), so an object is
// downloaded to a temporary file under $SLUICE_HOME/tmp (streamed, bounded memory) and read from there like any
// file; the copy is deleted once the file is read, or the read fails or stops. Objects are identified by size and
// ETag in state, so an unchanged object is not downloaded again (`columns` reads only its footer: parquet-footer.ts).
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBResult } from '@duckdb/node-api';
import type { RunContext, Source, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Batch, ColumnType, FileHandOff, FileProgress, StreamState } from '../../core/types.js';
import { filesToRead, listFiles, listSlices, progressOf, sliceEntries, type FileEntry } from '../file-source/files.js';
import { downloadObject, type LocalCopy } from '../file-source/s3-files.js';
import { footerCopy } from './parquet-footer.js';
import type { S3Options } from '../s3/s3-spec.js';
import { logicalType, quoteIdent, selectExpr } from './parquet-types.js';
import type { ParquetStreamOptions } from './parquet-spec.js';
import { partitionsOfPath } from '../../core/values/partition-path.js';
import type { z } from 'zod';

interface ParquetColumn {
  name: string;
  duckType: string;
}

/** The implicit row-number column DuckDB adds on request; a file with a column of that name resumes by OFFSET. */
const ROW_NUMBER = 'file_row_number';

export class ParquetSource implements Source {
  readonly type = 'parquet';
  private instance: DuckDBInstance | undefined;
  constructor(
    private readonly options: z.ZodType<ParquetStreamOptions>,
    private readonly memoryLimit: string,
    private readonly s3?: S3Options,
  ) {}

  /**
   * Where DuckDB reads the file: the file itself, or a temporary copy of the object (`whole`: all of it, for reading
   * rows; otherwise its footer only, for its schema).
   */
  private async localCopy(entry: FileEntry, whole: boolean, ctx: RunContext, stream: string): Promise<LocalCopy> {
    if (!entry.object) return { path: entry.abs, remove: async () => undefined };
    const dir = join(ctx.home, 'tmp');
    return whole ? downloadObject(entry, dir, stream, ctx.signal) : footerCopy(entry, dir, stream, ctx.signal);
  }

  private parse(stream: StreamConfig): ParquetStreamOptions {
    const parsed = this.options.safeParse(stream);
    if (!parsed.success) throw new RunError(`stream "${stream.name}": invalid parquet options: ${parsed.error.message}`, stream.name);
    return parsed.data;
  }

  private async connection(): Promise<DuckDBConnection> {
    if (!this.instance) {
      // Loaded on first use: DuckDB's native library is ~30 MB of RSS that pipelines without Parquet do not pay.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      this.instance = await DuckDBInstance.create(':memory:', { memory_limit: this.memoryLimit, threads: '2' });
    }
    return this.instance.connect();
  }

  private async schemaOf(conn: DuckDBConnection, file: FileEntry, path: string, stream: string): Promise<ParquetColumn[]> {
    try {
      const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${literal(path)})`);
      return reader.getRowObjectsJS().map((r) => ({ name: String(r.column_name), duckType: String(r.column_type) }));
    } catch (e) {
      throw new RunError(`stream "${stream}": cannot read ${file.rel} as Parquet: ${errorMessage(e)}`, stream, { cause: e });
    }
  }

  /** Column types from the Parquet schemas of the stream's files (a column that changes type across files widens to text). */
  async columns(stream: StreamConfig, ctx: RunContext): Promise<Record<string, ColumnType>> {
    const o = this.parse(stream);
    const set = await listFiles(o.path, ctx.baseDir, stream.name, this.s3);
    const conn = await this.connection();
    const types: Record<string, ColumnType> = {};
    try {
      for (const entry of set.entries) {
        const copy = await this.localCopy(entry, false, ctx, stream.name);
        try {
          const own = await this.schemaOf(conn, entry, copy.path, stream.name);
          for (const c of [...own, ...hiveColumns(o, entry, own.map((x) => x.name)).map(([name]) => ({ name, duckType: 'VARCHAR' }))]) {
            const t = logicalType(c.duckType);
            const seen = Object.prototype.hasOwnProperty.call(types, c.name) ? types[c.name] : undefined;
            types[c.name] = seen === undefined || seen === t ? t : 'text';
          }
        } finally {
          await copy.remove();
        }
      }
    } finally {
      conn.closeSync();
      set.close();
    }
    return types;
  }

  async slices(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): Promise<SourceSlice[]> {
    return listSlices(this.parse(stream).path, ctx.baseDir, stream.name, this.s3, state);
  }

  async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    const o = this.parse(stream);
    const set = await listFiles(o.path, ctx.baseDir, stream.name, this.s3);
    set.entries = sliceEntries(set.entries, ctx.slice);
    const { version: _v, files: prevFiles, ...base } = state ?? { version: 1 };
    const files: Record<string, FileProgress> = { ...prevFiles };
    const batchSize = Math.max(1, ctx.batchSize);
    const conn = await this.connection();
    try {
      for (const { entry, skipRecords } of filesToRead(set.entries, files, stream.name, ctx.logger)) {
        ctx.signal.throwIfAborted();
        const copy = await this.localCopy(entry, true, ctx, stream.name);
        try {
          const path = copy.path;
          const columns = await this.schemaOf(conn, entry, path, stream.name);
          const hive = hiveColumns(o, entry, columns.map((c) => c.name));
          const names = [...columns.map((c) => c.name), ...hive.map(([name]) => name)];
          const exprs = [
            ...columns.map((c) => `${selectExpr(c.name, c.duckType)} AS ${quoteIdent(c.name)}`),
            ...hive.map(([name, value]) => `${value === null ? 'NULL' : literal(value)}::VARCHAR AS ${quoteIdent(name)}`),
          ].join(', ');
          const skip = skipRecords;
          // Resume by row number (pushed down into the scan); DuckDB keeps file order for a plain scan.
          const sql = names.includes(ROW_NUMBER)
            ? `SELECT ${exprs} FROM read_parquet(${literal(path)})${skip ? ` OFFSET ${skip}` : ''}`
            : `SELECT ${exprs} FROM read_parquet(${literal(path)}, file_row_number = true)${skip ? ` WHERE ${ROW_NUMBER} >= ${skip}` : ''}`;
          let records = skip;
          let values: unknown[][] = [];
          const cut = (done: boolean): Batch => {
            files[entry.rel] = progressOf(entry, records, done);
            const file = entry.rel;
            const first = records - values.length;
            const batch: Batch = {
              rows: [], columns: names, values,
              positionOf: (i) => ({ file, offset: first + i }),
              checkpoint: { ...base, version: 1, files: { ...files } },
            };
            values = [];
            return batch;
          };
          // Only local files are offered: the destination's reader cannot reach the bucket, and the local copy of an
          // object is the source's, deleted once read.
          // A file with columns from its path is the engine's to read: the destination would read the file alone.
          if (ctx.handOff && !entry.object && hive.length === 0 && skip === 0 && entry.size >= ctx.handOff.minBytes) {
            // The destination may read the file itself (its types come from the file: no head needed).
            const handOff: FileHandOff = {
              format: 'parquet', path: entry.abs, options: {}, gzip: false, columns: names, types: columns.map((c) => c.duckType), head: [],
            };
            yield { rows: [], handOff };
            if (handOff.taken !== undefined) {
              records = handOff.taken;
              yield cut(true);
              continue;
            }
          }
          const { JSDuckDBValueConverter } = await import('@duckdb/node-api');
          let result: DuckDBResult;
          try {
            result = await conn.stream(sql);
          } catch (e) {
            throw new RunError(`stream "${stream.name}": cannot read ${entry.rel}: ${errorMessage(e)}`, stream.name, { cause: e });
          }
          for (;;) {
            ctx.signal.throwIfAborted();
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            for (const row of chunk.convertRows(JSDuckDBValueConverter)) {
              // Cut a full batch only when another row follows, so a file's last batch is the one marked done.
              if (values.length >= batchSize) yield cut(false);
              values.push(row.map(fromDuck));
              records++;
            }
          }
          yield cut(true);
        } finally {
          await copy.remove();
        }
      }
    } finally {
      conn.closeSync();
      set.close();
    }
  }

  async close(): Promise<void> {
    this.instance?.closeSync();
    this.instance = undefined;
  }
}

/** The partition columns a file's path adds (with `hive_partitioning`), less those the file has itself. */
const hiveColumns = (o: ParquetStreamOptions, entry: FileEntry, own: readonly string[]): [string, string | null][] =>
  (o.hive_partitioning ? partitionsOfPath(entry.rel).filter(([name]) => !own.includes(name)) : []);

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** DuckDB's JS values in the engine's forms (blobs arrive as Uint8Array already; the rest is selected as text). */
const fromDuck = (v: unknown): unknown => (v === undefined ? null : v);
