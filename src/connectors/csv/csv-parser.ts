// An incremental RFC 4180 parser over decoded text. The hot path handles a line without quotes: indexOf finds
// the line end and each delimiter once, fields are slices put straight into the record's array (handed to the sink
// with the header; an object per row only for a sink that wants objects). Lines with quotes take a slower
// field-by-field path. Every indexOf result is cached until passed, so
// no character is scanned twice however long the buffer (a one-column file would otherwise rescan to the end
// of the buffer for a delimiter on every line).
import type { Row } from '../../core/types.js';
import { InvalidMarks, type TextChunk } from '../file-source/decode.js';
import type { RecordSink, TextParser } from '../file-source/file-source.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../file-source/options.js';

export interface CsvParserOptions {
  delimiter: string;
  quote: string;
  /** Escapes a quote inside a quoted field; equal to `quote` for RFC 4180 doubled quotes. */
  escape: string;
  header: boolean;
  /** Column names; with `header` they replace the names of the header line. */
  columnNames?: string[];
  /** Lines skipped before the header (or the first record). */
  skipLines: number;
  /** Longest record, in characters, before it is rejected. */
  maxRecordChars: number;
  /** False: invalid UTF-8 was already replaced by U+FFFD and loads as such. */
  rejectInvalid: boolean;
}

export const defaultCsvOptions: CsvParserOptions = {
  delimiter: ',', quote: '"', escape: '"', header: true, skipLines: 0,
  maxRecordChars: DEFAULT_MAX_RECORD_BYTES, rejectInvalid: true,
};

const NL = 10;
const CR = 13;
const RAW_HEAD = 1024;

/** Header names made unique deterministically: the second "a" becomes "a_2". Case-sensitive on purpose. */
export function uniqueNames(raw: readonly (string | null)[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  raw.forEach((r, i) => {
    const name = r === null || r === '' ? `column_${i + 1}` : r;
    let candidate = name;
    for (let k = 2; seen.has(candidate); k++) candidate = `${name}_${k}`;
    seen.add(candidate);
    out.push(candidate);
  });
  return out;
}

type Field = string | null;

/** Result of the slow path: the record's fields and where the next record starts, or why it failed. */
const NEED_MORE = -1;
const MALFORMED = -2;

export class CsvParser implements TextParser {
  private buf = '';
  private pos = 0;
  /** Global character offset of buf[0]. */
  private base = 0;
  /** Line number (1-based) of the character at `pos`. */
  private line = 1;
  private names: string[] | undefined;
  private width = -1;
  /** Object rows (for a sink without `values`) need defineProperty for a key such as `__proto__`. */
  private definePropertyRows = false;
  private skipLines: number;
  /** While a record is incomplete, later chunks wait here until the buffer has doubled (amortised O(n)). */
  private pending: string[] = [];
  private pendingChars = 0;
  private retryAt = 0;
  /** Discarding an oversized record up to the end of its line; keeps its head for the DLQ. */
  private discard: { line: number; head: string } | undefined;
  private readonly marks = new InvalidMarks();
  private readonly delim: string;
  private readonly delimCode: number;
  private readonly quote: string;
  private readonly quoteCode: number;
  private readonly escape: string;
  private readonly escapeCode: number;
  // Cached indexOf results in buf (-1: not searched yet; buf.length: none left).
  private nq = -1;
  private nd = -1;
  private nn = -1;
  private ne = -1;
  private fields: Field[] = [];
  private malformedReason = '';

  constructor(private readonly opts: CsvParserOptions, private readonly sink: RecordSink) {
    this.delim = opts.delimiter;
    this.delimCode = opts.delimiter.charCodeAt(0);
    this.quote = opts.quote;
    this.quoteCode = opts.quote.charCodeAt(0);
    this.escape = opts.escape;
    this.escapeCode = opts.escape.charCodeAt(0);
    this.skipLines = opts.skipLines;
    if (opts.columnNames) this.setNames(uniqueNames(opts.columnNames));
  }

  push(chunk: TextChunk): void {
    const text = chunk.text;
    if (chunk.bad && this.opts.rejectInvalid) this.marks.add(this.base + this.buf.length + this.pendingChars, chunk.bad);
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.buf.length - this.pos + this.pendingChars < this.retryAt) return;
    this.refill();
    this.parse(false);
  }

  end(): void {
    this.refill();
    this.parse(true);
    if (this.discard) this.finishDiscard();
  }

  private refill(): void {
    const rest = this.pos < this.buf.length ? this.buf.slice(this.pos) : '';
    const pending = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.base += this.pos;
    this.buf = rest + pending;
    this.pos = 0;
    this.pending = [];
    this.pendingChars = 0;
    this.retryAt = 0;
    this.nq = this.nd = this.nn = this.ne = -1;
  }

  private setNames(names: string[]): void {
    this.names = names;
    this.width = names.length;
    this.definePropertyRows = names.includes('__proto__');
  }

  private findNl(from: number): number {
    if (this.nn < from) {
      const i = this.buf.indexOf('\n', from);
      this.nn = i === -1 ? this.buf.length : i;
    }
    return this.nn;
  }

  private findQuote(from: number): number {
    if (this.nq < from) {
      const i = this.buf.indexOf(this.quote, from);
      this.nq = i === -1 ? this.buf.length : i;
    }
    return this.nq;
  }

  private findDelim(from: number): number {
    if (this.nd < from) {
      const i = this.buf.indexOf(this.delim, from);
      this.nd = i === -1 ? this.buf.length : i;
    }
    return this.nd;
  }

  private findEscape(from: number): number {
    if (this.ne < from) {
      const i = this.buf.indexOf(this.escape, from);
      this.ne = i === -1 ? this.buf.length : i;
    }
    return this.ne;
  }

  private parse(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    const max = this.opts.maxRecordChars;
    let pos = this.pos;
    if (this.discard) {
      const nl = this.findNl(pos);
      if (nl === n) {
        this.pos = n;
        return;
      }
      this.finishDiscard();
      pos = nl + 1;
    }
    while (pos < n) {
      const nl = this.findNl(pos);
      if (nl === n && !final) {
        if (n - pos > max) {
          this.startDiscard(buf.slice(pos, pos + RAW_HEAD));
          pos = n;
        }
        break;
      }
      if (this.skipLines > 0) {
        this.skipLines--;
        pos = nl + 1;
        this.line++;
        continue;
      }
      let end = nl;
      if (end > pos && buf.charCodeAt(end - 1) === CR) end--;
      if (end === pos) {
        // Blank lines carry no record (a trailing newline, spacing between blocks).
        pos = nl + 1;
        this.line++;
        continue;
      }
      if (this.findQuote(pos) >= end) {
        if (this.width > 0) {
          this.fastRow(pos, end);
        } else {
          this.fields = this.splitLine(pos, end);
          this.record(pos, end);
        }
        pos = nl + 1;
        this.line++;
        continue;
      }
      const next = this.slowRecord(pos, final);
      if (next === NEED_MORE) {
        if (n - pos > max) {
          this.malformedReason = `quoted field not closed within max_record_bytes (${max} characters)`;
        } else {
          this.retryAt = Math.min(Math.max((n - pos) * 2, 1), max + 1);
          break;
        }
      } else if (next !== MALFORMED) {
        this.record(pos, next);
        // Most quoted records end on their first line; only one with a quoted line break needs its lines counted.
        if (next === nl + 1) this.line++;
        else this.countLines(pos, next);
        pos = next;
        continue;
      }
      // Resynchronise at the line after the one where the bad record started, so the rest of the file loads.
      // `nl` is still that line's end; the caches looked further ahead, so they restart from here.
      this.nq = this.nd = this.nn = this.ne = -1;
      this.sink.reject(this.malformedReason, buf.slice(pos, end), this.line);
      this.marks.within(this.base + pos, this.base + nl);
      pos = nl + 1;
      this.line++;
    }
    this.pos = Math.min(pos, n);
  }

  private startDiscard(head: string): void {
    this.discard = { line: this.line, head };
  }

  private finishDiscard(): void {
    const d = this.discard!;
    this.discard = undefined;
    this.sink.reject(`record longer than max_record_bytes (${this.opts.maxRecordChars} characters)`, d.head, d.line);
    this.line++;
  }

  private countLines(from: number, to: number): void {
    const buf = this.buf;
    let i = buf.indexOf('\n', from);
    while (i !== -1 && i < to) {
      this.line++;
      i = buf.indexOf('\n', i + 1);
    }
  }

  /** The hot path: an unquoted line split straight into the record's array, one indexOf per delimiter. */
  private fastRow(start: number, end: number): void {
    const buf = this.buf;
    const width = this.width;
    const values: Field[] = new Array(width);
    let count = 0;
    let s = start;
    while (true) {
      let d = this.nd;
      if (d < s) d = this.findDelim(s);
      const e = d < end ? d : end;
      if (count < width) values[count] = e === s ? null : buf.slice(s, e);
      count++;
      if (e === end) break;
      s = e + 1;
    }
    if (count !== width) {
      this.sink.reject(`expected ${width} columns, got ${count}`, buf.slice(start, end), this.line);
      this.marks.within(this.base + start, this.base + end);
      return;
    }
    if (this.marks.next < this.base + end && this.marks.within(this.base + start, this.base + end)) {
      this.sink.reject('invalid UTF-8', buf.slice(start, end), this.line);
      return;
    }
    this.emit(values);
  }

  /** Hand a complete record to the sink: as values when it takes them, else as an object keyed by the names. */
  private emit(values: Field[]): void {
    if (this.sink.values) {
      this.sink.values(values, this.names!, this.line);
      return;
    }
    const names = this.names!;
    const row: Row = {};
    for (let i = 0; i < values.length; i++) {
      // A key such as `__proto__` cannot be assigned with `row[key] =`.
      if (this.definePropertyRows) {
        Object.defineProperty(row, names[i], { value: values[i], enumerable: true, writable: true, configurable: true });
      } else {
        row[names[i]] = values[i];
      }
    }
    this.sink.row(row, this.line);
  }

  private splitLine(start: number, end: number): Field[] {
    const buf = this.buf;
    const fields: Field[] = [];
    let s = start;
    while (true) {
      const d = this.findDelim(s);
      const e = d < end ? d : end;
      fields.push(e === s ? null : buf.slice(s, e));
      if (e === end) return fields;
      s = e + 1;
    }
  }

  /** A record whose fields are in `this.fields`, spanning [start, end) of the buffer. */
  private record(start: number, end: number): void {
    const fields = this.fields;
    if (!this.names) {
      const names = this.opts.header ? fields : fields.map((_, i) => `column_${i + 1}`);
      this.setNames(uniqueNames(names));
      this.marks.within(this.base + start, this.base + end);
      if (this.opts.header) return;
    }
    let rawEnd = end;
    if (rawEnd > start && this.buf.charCodeAt(rawEnd - 1) === NL) rawEnd--;
    if (rawEnd > start && this.buf.charCodeAt(rawEnd - 1) === CR) rawEnd--;
    if (fields.length !== this.width) {
      this.sink.reject(`expected ${this.width} columns, got ${fields.length}`, this.buf.slice(start, rawEnd), this.line);
      this.marks.within(this.base + start, this.base + end);
      return;
    }
    if (this.marks.next < this.base + end && this.marks.within(this.base + start, this.base + end)) {
      this.sink.reject('invalid UTF-8', this.buf.slice(start, rawEnd), this.line);
      return;
    }
    this.emit(fields);
  }

  /**
   * Parse one record that contains quotes, field by field. Returns where the next record starts (after its
   * line break), NEED_MORE when the buffer ends inside it, or MALFORMED with `malformedReason` set.
   */
  private slowRecord(start: number, final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    // Sized for the expected width (a record of another width is rejected later, from its length).
    const fields: Field[] = new Array(Math.max(this.width, 0));
    let count = 0;
    this.fields = fields;
    const done = (next: number): number => {
      if (fields.length !== count) fields.length = count;
      return next;
    };
    let s = start;
    while (true) {
      if (s < n && buf.charCodeAt(s) === this.quoteCode) {
        let value: string;
        let i = s + 1;
        if (this.escapeCode === this.quoteCode) {
          // RFC 4180: a field without doubled quotes is one slice. Each doubled quote ends a segment that keeps one
          // of its two quotes (a third of the time replaceAll over the field took, measured on JSON in CSV).
          let seg = s + 1;
          value = '';
          while (true) {
            const q = this.findQuote(i);
            if (q >= n) return this.incomplete(final);
            if (q + 1 >= n && !final) return NEED_MORE;
            if (buf.charCodeAt(q + 1) === this.quoteCode) {
              value += buf.slice(seg, q + 1);
              seg = i = q + 2;
              continue;
            }
            value = seg === s + 1 ? buf.slice(seg, q) : value + buf.slice(seg, q);
            i = q + 1;
            break;
          }
        } else {
          value = '';
          let seg = s + 1;
          while (true) {
            const q = this.findQuote(i);
            const esc = this.findEscape(i);
            if (esc < q) {
              if (esc + 1 >= n) return this.incomplete(final);
              const c = buf.charCodeAt(esc + 1);
              if (c === this.quoteCode || c === this.escapeCode) {
                value += buf.slice(seg, esc);
                seg = esc + 1;
              }
              i = esc + 2;
              continue;
            }
            if (q >= n) return this.incomplete(final);
            value += buf.slice(seg, q);
            i = q + 1;
            break;
          }
        }
        fields[count++] = value;
        if (i >= n) {
          if (!final) return NEED_MORE;
          return done(n);
        }
        const c = buf.charCodeAt(i);
        if (c === this.delimCode) {
          s = i + 1;
          continue;
        }
        if (c === NL) return done(i + 1);
        if (c === CR) {
          if (i + 1 >= n) return final ? done(n) : NEED_MORE;
          if (buf.charCodeAt(i + 1) === NL) return done(i + 2);
        }
        this.malformedReason = `unexpected character after the closing quote of field ${count}`;
        return MALFORMED;
      }
      const d = this.findDelim(s);
      const nl = this.findNl(s);
      if (d < nl) {
        fields[count++] = d === s ? null : buf.slice(s, d);
        s = d + 1;
        continue;
      }
      if (nl === n && !final) return NEED_MORE;
      const e = nl > s && buf.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      fields[count++] = e === s ? null : buf.slice(s, e);
      return done(nl === n ? n : nl + 1);
    }
  }

  private incomplete(final: boolean): number {
    if (!final) return NEED_MORE;
    this.malformedReason = 'unbalanced quote: a quoted field is still open at the end of the file';
    return MALFORMED;
  }
}
