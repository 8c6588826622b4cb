// One log file being tailed by byte offset: its handle and identity (device, inode), the next byte to read, and the
// offset and number of the last line consumed. Lines are split on the newline byte, so an offset is always a line's
// start; a line still being written stays in `partial` until its newline arrives; a line longer than the limit is
// skipped to its end and reported with its head only.
import { open, type FileHandle } from 'node:fs/promises';

const RAW_HEAD = 1024;
const NL = 0x0a;

/** Where `Tail.take` hands what it splits. */
export interface LineSink {
  /** A complete line (without its newline) that started at byte `offset`; `line` is its 1-based number. */
  line(bytes: Buffer, line: number, offset: number): void;
  /** A line longer than the limit: its first bytes only. */
  tooLong(head: Buffer, line: number, offset: number): void;
}

export class Tail {
  /** Next byte to read. */
  readPos: number;
  /** Bytes of the line being written (not yet terminated). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** A line longer than the limit, being skipped to its end. */
  private discarding: { head: Buffer; line: number; offset: number } | undefined;

  private constructor(
    readonly fh: FileHandle, readonly dev: number, readonly ino: number,
    /** Offset after the last consumed line, and lines consumed. */
    public offset: number, public line: number,
    private readonly maxLineBytes: number,
  ) {
    this.readPos = offset;
  }

  static async open(path: string, maxLineBytes: number, offset = 0, line = 0): Promise<Tail> {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    return new Tail(fh, st.dev, st.ino, offset, line, maxLineBytes);
  }

  /** Continue from an earlier position of the same file. */
  seek(offset: number, line: number): void {
    this.readPos = this.offset = offset;
    this.line = line;
  }

  /** The file was truncated: read it again from its start. */
  rewind(): void {
    this.seek(0, 0);
    this.partial = [];
    this.partialBytes = 0;
    this.discarding = undefined;
  }

  /** Split bytes just read (from `readPos`) into lines; `after` runs after each consumed line. */
  take(chunk: Buffer, sink: LineSink, after: () => void): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NL, from);
      if (nl === -1) {
        this.hold(chunk.subarray(from));
        break;
      }
      const piece = chunk.subarray(from, nl);
      if (!this.discarding && this.partialBytes + piece.length > this.maxLineBytes) {
        this.discarding = { head: this.head(piece), line: this.line + 1, offset: this.offset };
      }
      const end = this.readPos + nl + 1;
      if (this.discarding) this.skipped(sink, end);
      else this.consume(sink, this.partialBytes ? Buffer.concat([...this.partial, piece]) : piece, end);
      from = nl + 1;
      after();
    }
    this.readPos += chunk.length;
  }

  /** The file will not grow any more: its last line counts even without a newline. */
  finish(sink: LineSink): void {
    if (this.discarding) this.skipped(sink, this.readPos);
    else if (this.partialBytes) this.consume(sink, Buffer.concat(this.partial), this.readPos);
  }

  /** The rest of a line whose newline has not come yet. */
  private hold(rest: Buffer): void {
    if (this.discarding) return;
    if (this.partialBytes + rest.length > this.maxLineBytes) {
      this.discarding = { head: this.head(rest), line: this.line + 1, offset: this.offset };
      this.partial = [];
      this.partialBytes = 0;
    } else {
      // A copy: the read buffer is reused.
      this.partial.push(Buffer.from(rest));
      this.partialBytes += rest.length;
    }
  }

  private head(piece: Buffer): Buffer {
    return Buffer.concat([...this.partial, piece.subarray(0, RAW_HEAD)]).subarray(0, RAW_HEAD);
  }

  private consume(sink: LineSink, bytes: Buffer, end: number): void {
    const start = this.offset;
    this.partial = [];
    this.partialBytes = 0;
    this.line++;
    this.offset = end;
    sink.line(bytes, this.line, start);
  }

  private skipped(sink: LineSink, end: number): void {
    const d = this.discarding!;
    this.discarding = undefined;
    this.partial = [];
    this.partialBytes = 0;
    this.line++;
    this.offset = end;
    sink.tooLong(d.head, d.line, d.offset);
  }
}
