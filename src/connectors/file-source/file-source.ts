// The read loop every file format shares: expand the glob, skip or resume each file from state, pull decoded
// chunks, let the format's parser turn them into records, and cut batches that carry exact checkpoints.
//
// S3 sources: a `path` of `s3://bucket/glob` lists the bucket (s3-files.ts) and streams each object's body through the
// same decompression, decoding and parsers as a local file; DLQ positions and state keys are the object's URL.
import type { z } from 'zod';
import type { RunContext, Source, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Batch, FileProgress, RejectedRow, Row, SourcePosition, StreamState } from '../../core/types.js';
import type { S3Options } from '../s3/s3-spec.js';
import type { TextChunk } from './decode.js';
import { filesToRead, listFiles, listSlices, progressOf, sliceEntries, type FileEntry } from './files.js';
import { fileHandOff } from './hand-off.js';
import { openText } from './open.js';
import type { FileOptions } from './options.js';
import { forStream } from './s3-files.js';

/** Where a format's parser hands its records, in file order. Every call is one data record. */
export interface RecordSink {
  row(row: Row, line: number, offset?: number): void;
  /**
   * A record as values aligned with `names` (the same array for every record of a file), for parsers that know
   * their columns: no object per row. Optional: a parser falls back to `row` when the sink has no `values`.
   */
  values?(values: unknown[], names: readonly string[], line: number): void;
  reject(reason: string, raw: string, line: number, offset?: number): void;
}

/** A format's incremental parser: text goes in chunk by chunk, records come out through the sink. */
export interface TextParser {
  push(chunk: TextChunk): void;
  /** End of file: flush the last record, report what is left unterminated. */
  end(): void;
}

export type ParserFactory<O> = (options: O, file: string, sink: RecordSink) => TextParser;

/**
 * Collects records into batches. A batch is cut at `batchSize` rows and at every file end, and its checkpoint
 * counts exactly the records before the cut, so committing it and crashing loses and repeats nothing.
 */
class BatchBuilder implements RecordSink {
  readonly ready: Batch[] = [];
  private rows: Row[] = [];
  /** Rows as arrays, and their column names, when the parser hands values (never together with `rows`). */
  private arrays: unknown[][] = [];
  private columns: readonly string[] | undefined;
  /** Line (and byte offset, when the format has them) of each row: positions are built only when asked for. */
  private lines: number[] = [];
  private offsets: number[] | undefined;
  private rejected: RejectedRow[] = [];
  private file!: FileEntry;
  private skip = 0;
  private records = 0;

  constructor(
    private readonly base: Omit<StreamState, 'version' | 'files'>,
    private readonly files: Record<string, FileProgress>,
    private readonly batchSize: number,
  ) {}

  /** A file the load read whole (FileHandOff.taken): recorded as done, with the checkpoint that says so. */
  tookFile(file: FileEntry, records: number): void {
    this.file = file;
    this.records = records;
    this.cut(true);
  }

  startFile(file: FileEntry, skipRecords: number): void {
    this.file = file;
    this.skip = skipRecords;
    this.records = skipRecords;
  }

  row(row: Row, line: number, offset?: number): void {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    // Cut a full batch only when another record follows, so a file's last batch is the one marked done.
    if (this.rows.length >= this.batchSize || this.arrays.length > 0) this.cut(false);
    this.records++;
    this.rows.push(row);
    this.addPosition(this.rows.length - 1, line, offset);
  }

  values(values: unknown[], names: readonly string[], line: number): void {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    if (this.arrays.length >= this.batchSize || this.rows.length > 0 || (this.columns !== names && this.arrays.length > 0)) this.cut(false);
    this.columns = names;
    this.records++;
    this.arrays.push(values);
    this.lines.push(line);
  }

  private addPosition(i: number, line: number, offset: number | undefined): void {
    this.lines.push(line);
    if (offset !== undefined) (this.offsets ??= new Array<number>(i).fill(-1)).push(offset);
    else this.offsets?.push(-1);
  }

  reject(reason: string, raw: string, line: number, offset?: number): void {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    if (this.rejected.length >= this.batchSize) this.cut(false);
    this.records++;
    this.rejected.push({ stage: 'parse', reason, raw, position: positionAt(this.file.rel, line, offset) });
  }

  /** Cut at the end of a file even when empty, so the file is recorded as done. */
  endFile(): void {
    this.cut(true);
  }

  private cut(done: boolean): void {
    // Progress objects are replaced, never mutated: earlier checkpoints share them.
    this.files[this.file.rel] = progressOf(this.file, this.records, done);
    const file = this.file.rel;
    const lines = this.lines;
    const offsets = this.offsets;
    const batch: Batch = {
      rows: this.rows,
      positionOf: (i) => positionAt(file, lines[i], offsets?.[i]),
      checkpoint: { ...this.base, version: 1, files: { ...this.files } },
    };
    if (this.arrays.length > 0) {
      batch.columns = this.columns;
      batch.values = this.arrays;
    }
    if (this.rejected.length > 0) batch.rejected = this.rejected;
    this.ready.push(batch);
    this.rows = [];
    this.arrays = [];
    this.lines = [];
    this.offsets = undefined;
    this.rejected = [];
  }

  /** One chunk can fill many batches: the signal is checked before each, so an abort stops promptly. */
  *drain(signal: AbortSignal): Generator<Batch> {
    while (this.ready.length > 0) {
      signal.throwIfAborted();
      yield this.ready.shift()!;
    }
  }
}

const positionAt = (file: string, line: number, offset: number | undefined): SourcePosition =>
  offset === undefined || offset < 0 ? { file, line } : { file, line, offset };

/** A Source for one file format; the format contributes only its options schema and its parser. */
export class FileSource<O extends FileOptions> implements Source {
  constructor(
    readonly type: string,
    private readonly options: z.ZodType<O>,
    private readonly makeParser: ParserFactory<O>,
    /** The source's `s3:` block, for streams whose path is `s3://…`. */
    private readonly s3?: S3Options,
  ) {}

  /** Options of a stream. Non-strict parse: the stream config also holds the common keys; defaults apply idempotently. */
  protected optionsOf(stream: StreamConfig): O {
    const parsed = this.options.safeParse(stream);
    if (!parsed.success) {
      throw new RunError(`stream "${stream.name}": invalid ${this.type} options: ${parsed.error.message}`, stream.name);
    }
    return parsed.data;
  }

  async slices(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): Promise<SourceSlice[] | undefined> {
    return listSlices(this.optionsOf(stream).path, ctx.baseDir, stream.name, this.s3, state);
  }

  async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    const options = this.optionsOf(stream);
    const set = await listFiles(options.path, ctx.baseDir, stream.name, this.s3);
    try {
      yield* this.readFiles(sliceEntries(set.entries, ctx.slice), options, stream, state, ctx);
    } finally {
      set.close();
    }
  }

  private async *readFiles(
    entries: FileEntry[], options: O, stream: StreamConfig, state: StreamState | undefined, ctx: RunContext,
  ): AsyncGenerator<Batch> {
    const { version: _v, files: prevFiles, ...base } = state ?? { version: 1 };
    const files: Record<string, FileProgress> = { ...prevFiles };
    const builder = new BatchBuilder(base, files, Math.max(1, ctx.batchSize));

    for (const { entry, skipRecords } of filesToRead(entries, files, stream.name, ctx.logger)) {
      ctx.signal.throwIfAborted();
      // Only local files are offered: the destination's reader (DuckDB's read_csv) has no access to the bucket here
      // (no httpfs offline, nor the credentials), and downloading an object for it would read it twice.
      const handOff = ctx.handOff && !entry.object && skipRecords === 0 && entry.size >= ctx.handOff.minBytes
        ? await fileHandOff(this.type, entry, options, this.makeParser, Math.max(1, ctx.batchSize), ctx.signal) : undefined;
      if (handOff) {
        yield { rows: [], handOff };
        if (handOff.taken !== undefined) {
          builder.tookFile(entry, handOff.taken);
          yield* builder.drain(ctx.signal);
          continue;
        }
      }
      builder.startFile(entry, skipRecords);
      const parser = this.makeParser(options, entry.rel, builder);
      try {
        for await (const chunk of openText(entry, { ...options, invalidUtf8: options.invalid_utf8, signal: ctx.signal })) {
          ctx.signal.throwIfAborted();
          parser.push(chunk);
          yield* builder.drain(ctx.signal);
        }
        parser.end();
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        if (e instanceof RunError) throw forStream(e, stream.name);
        throw new RunError(`stream "${stream.name}": cannot read ${entry.rel}: ${errorMessage(e)}`, stream.name, { cause: e });
      }
      builder.endFile();
      yield* builder.drain(ctx.signal);
    }
  }
}
