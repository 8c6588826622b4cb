// A file offered whole to the destination's own reader (RunContext.handOff, StreamLoad.ingest): with the file go its
// column names and first records exactly as the format's parser reads them, so the load types the columns as the
// engine would from its first batch. A file whose head the parser rejects any of is not offered: the engine's own
// read sends those records to the DLQ with their lines.
import type { FileHandOff, Row } from '../../core/types.js';
import type { ParserFactory, RecordSink } from './file-source.js';
import type { FileEntry } from './files.js';
import { fileCodec, openText } from './open.js';
import type { FileOptions } from './options.js';

/** Stops the parse once the head is full. */
class HeadFull extends Error {}

class HeadSink implements RecordSink {
  columns: readonly string[] | undefined;
  readonly head: unknown[][] = [];
  clean = true;

  constructor(private readonly size: number) {}

  values(values: unknown[], names: readonly string[]): void {
    this.columns ??= names;
    if (names !== this.columns) this.clean = false;
    this.head.push(values);
    if (this.head.length >= this.size || !this.clean) throw new HeadFull();
  }

  row(_row: Row): void {
    // Records as objects have no fixed columns to hand over.
    this.clean = false;
    throw new HeadFull();
  }

  reject(): void {
    this.clean = false;
    throw new HeadFull();
  }
}

export async function fileHandOff<O extends FileOptions>(
  format: string, entry: FileEntry, options: O, makeParser: ParserFactory<O>, size: number, signal: AbortSignal,
): Promise<FileHandOff | undefined> {
  // FileHandOff says gzip or not: a Zstandard file is read by the engine.
  const codec = await fileCodec(entry.abs, options.compression).catch(() => undefined);
  if (codec === undefined || codec === 'zstd') return undefined;
  const sink = new HeadSink(size);
  const parser = makeParser(options, entry.rel, sink);
  try {
    for await (const chunk of openText(entry, { ...options, invalidUtf8: options.invalid_utf8, signal })) parser.push(chunk);
    parser.end();
  } catch (e) {
    // Anything else (an unreadable file) is for the engine's own read to report, with its context.
    if (!(e instanceof HeadFull)) return undefined;
  }
  if (!sink.clean || sink.columns === undefined) return undefined;
  return {
    format, path: entry.abs, options, gzip: codec === 'gzip', columns: sink.columns, head: sink.head,
  };
}
