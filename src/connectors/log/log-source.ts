// The `log` source: the shared file read loop with a line splitter and the format's line parser; in follow mode, a
// tail that tracks byte offsets instead (log-follow.ts).
import type { z } from 'zod';
import type { RunContext, SourceSlice, StreamConfig } from '../../core/connector.js';
import type { Batch, ColumnType, StreamState } from '../../core/types.js';
import { FileSource, type RecordSink } from '../file-source/file-source.js';
import type { S3Options } from '../s3/s3-spec.js';
import { LineSplitter } from '../file-source/lines.js';
import { followLog } from './log-follow.js';
import { columnsOf, parseLine, type LineOptions } from './log-formats.js';
import { normalizeZone, type LogStreamOptions } from './log-spec.js';

export const lineOptions = (o: LogStreamOptions): LineOptions => ({
  format: o.format,
  ...(o.regex !== undefined ? { regex: new RegExp(o.regex) } : {}),
  zone: normalizeZone(o.timezone) ?? 'Z',
  ...(o.year !== undefined ? { year: o.year } : {}),
});

export function createLogParser(o: LogStreamOptions, _file: string, sink: RecordSink): LineSplitter {
  const line = lineOptions(o);
  return new LineSplitter({ maxRecordChars: o.max_record_bytes, rejectInvalid: o.invalid_utf8 === 'reject' }, sink, (text, n, s) => {
    const r = parseLine(text, line);
    if ('row' in r) s.row(r.row, n);
    else s.reject(r.error, text, n);
  });
}

export class LogSource extends FileSource<LogStreamOptions> {
  constructor(schema: z.ZodType<LogStreamOptions>, s3?: S3Options) {
    super('log', schema, createLogParser, s3);
  }

  /** A followed log never ends: it is read by one task, never split. */
  override async slices(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): Promise<SourceSlice[] | undefined> {
    return this.optionsOf(stream).follow ? undefined : super.slices(stream, state, ctx);
  }

  override read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    const o = this.optionsOf(stream);
    return o.follow ? followLog(o, lineOptions(o), stream.name, state, ctx) : super.read(stream, state, ctx);
  }

  /** The built-in formats know their columns' types: `-` bytes stay an integer column, timestamps keep their type. */
  async columns(stream: StreamConfig): Promise<Record<string, ColumnType>> {
    return columnsOf(this.optionsOf(stream).format) ?? {};
  }
}
