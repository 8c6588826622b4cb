// A TextParser for line-oriented formats (logs, and any one-record-per-line text): splits decoded chunks into lines,
// bounds a line's length, and rejects lines holding invalid UTF-8. The format only sees whole lines.
import { InvalidMarks, type TextChunk } from './decode.js';
import type { RecordSink, TextParser } from './file-source.js';

export interface LineSplitOptions {
  maxRecordChars: number;
  rejectInvalid: boolean;
}

/** Called with each non-blank line (without its `\n` or `\r\n`) and its 1-based number. */
export type LineHandler = (text: string, line: number, sink: RecordSink) => void;

const RAW_HEAD = 1024;

export class LineSplitter implements TextParser {
  private buf = '';
  private pos = 0;
  private base = 0;
  private line = 1;
  /** A line longer than the limit: dropped up to its end, then rejected with its head. */
  private discard: { line: number; head: string } | undefined;
  private readonly marks = new InvalidMarks();

  constructor(private readonly opts: LineSplitOptions, private readonly sink: RecordSink, private readonly onLine: LineHandler) {}

  push(chunk: TextChunk): void {
    if (chunk.bad && this.opts.rejectInvalid) this.marks.add(this.base + this.buf.length, chunk.bad);
    this.base += this.pos;
    this.buf = this.buf.slice(this.pos) + chunk.text;
    this.pos = 0;
    this.split(false);
  }

  end(): void {
    this.split(true);
    if (this.discard) this.finishDiscard();
  }

  private split(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    let pos = this.pos;
    while (pos < n) {
      let nl = buf.indexOf('\n', pos);
      if (nl === -1) {
        if (!final) {
          if (this.discard) pos = n;
          else if (n - pos > this.opts.maxRecordChars) {
            this.discard = { line: this.line, head: buf.slice(pos, pos + RAW_HEAD) };
            pos = n;
          }
          break;
        }
        nl = n;
      }
      if (this.discard) {
        this.finishDiscard();
        pos = nl + 1;
        continue;
      }
      this.record(pos, nl);
      pos = nl + 1;
      this.line++;
    }
    this.pos = Math.min(pos, n);
  }

  private finishDiscard(): void {
    const d = this.discard!;
    this.discard = undefined;
    this.sink.reject(`line longer than max_record_bytes (${this.opts.maxRecordChars} characters)`, d.head, d.line);
    this.line++;
  }

  private record(start: number, end: number): void {
    if (end - start > this.opts.maxRecordChars) {
      this.sink.reject(`line longer than max_record_bytes (${this.opts.maxRecordChars} characters)`, this.buf.slice(start, start + RAW_HEAD), this.line);
      return;
    }
    const stop = end > start && this.buf.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const text = this.buf.slice(start, stop);
    if (text.trim().length === 0) return;
    if (this.marks.next < this.base + end && this.marks.within(this.base + start, this.base + end)) {
      this.sink.reject('invalid UTF-8', text, this.line);
      return;
    }
    this.onLine(text, this.line, this.sink);
  }
}
