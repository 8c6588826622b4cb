// Newline-delimited JSON: one value per line, each parsed on its own, so one bad line costs one record.
import { InvalidMarks, type TextChunk } from '../file-source/decode.js';
import type { RecordSink, TextParser } from '../file-source/file-source.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../file-source/options.js';
import { isPlainObject } from '../json/json-array-parser.js';

export interface NdjsonOptions {
  maxRecordChars: number;
  rejectInvalid: boolean;
}

export const defaultNdjsonOptions: NdjsonOptions = { maxRecordChars: DEFAULT_MAX_RECORD_BYTES, rejectInvalid: true };

const RAW_HEAD = 1024;

export class NdjsonParser implements TextParser {
  private buf = '';
  private pos = 0;
  private base = 0;
  private line = 1;
  /** A line longer than the limit: dropped up to its end, then rejected with its head. */
  private discard: { line: number; head: string } | undefined;
  private readonly marks = new InvalidMarks();

  constructor(private readonly opts: NdjsonOptions, private readonly sink: RecordSink) {}

  push(chunk: TextChunk): void {
    if (chunk.bad && this.opts.rejectInvalid) this.marks.add(this.base + this.buf.length, chunk.bad);
    this.base += this.pos;
    this.buf = this.buf.slice(this.pos) + chunk.text;
    this.pos = 0;
    this.parse(false);
  }

  end(): void {
    this.parse(true);
    if (this.discard) this.finishDiscard();
  }

  private parse(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    let pos = this.pos;
    while (pos < n) {
      let nl = buf.indexOf('\n', pos);
      if (nl === -1) {
        if (!final) {
          if (this.discard) {
            pos = n;
          } else if (n - pos > this.opts.maxRecordChars) {
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
    const text = this.buf.slice(start, end).trim();
    if (text.length === 0) return;
    if (this.marks.next < this.base + end && this.marks.within(this.base + start, this.base + end)) {
      this.sink.reject('invalid UTF-8', text, this.line);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.sink.reject(`invalid JSON: ${(e as Error).message}`, text, this.line);
      return;
    }
    if (!isPlainObject(value)) {
      this.sink.reject(`expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, text, this.line);
      return;
    }
    this.sink.row(value, this.line);
  }
}
