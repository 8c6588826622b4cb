// A streaming reader for a JSON array of objects: a small scanner tracks strings and nesting depth to find each
// element's boundaries (each character is looked at once, strings are skipped with indexOf), and only the
// element's text goes to JSON.parse. With a `records` path the scanner first walks the top-level object's keys,
// skipping unrelated values without keeping them, down to the array.
import { RunError } from '../../core/errors.js';
import { InvalidMarks, type TextChunk } from '../file-source/decode.js';
import type { RecordSink, TextParser } from '../file-source/file-source.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../file-source/options.js';
import { parseJson } from '../../core/values/json-parse.js';

export interface JsonArrayOptions {
  /** Key path of the array inside a top-level object (`data.items`); empty for a top-level array. */
  records: string[];
  maxRecordChars: number;
  rejectInvalid: boolean;
}

export const defaultJsonArrayOptions: JsonArrayOptions = {
  records: [], maxRecordChars: DEFAULT_MAX_RECORD_BYTES, rejectInvalid: true,
};

type Phase = 'start' | 'key' | 'colon' | 'value' | 'skip' | 'array' | 'elem' | 'done';

const QUOTE = 34;
const BACKSLASH = 92;
const NL = 10;
const RAW_HEAD = 1024;

const isSpace = (c: number): boolean => c === 32 || c === NL || c === 13 || c === 9;

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export class JsonArrayParser implements TextParser {
  private buf = '';
  /** Scan position in buf. */
  private i = 0;
  /** Global character offset of buf[0]. */
  private base = 0;
  private line = 1;
  private phase: Phase = 'start';
  /** Path segments matched so far. */
  private level = 0;
  private key = '';
  // The value being scanned (an element, a key, or a value that is skipped).
  private vStart = 0;
  private vLine = 1;
  private depth = 0;
  private inString = false;
  private compound = false;
  /** An element longer than the limit: scanned to its end without being kept, then rejected. */
  private discardHead: string | undefined;
  private readonly marks = new InvalidMarks();

  constructor(private readonly opts: JsonArrayOptions, private readonly file: string, private readonly sink: RecordSink) {}

  push(chunk: TextChunk): void {
    if (chunk.bad && this.opts.rejectInvalid) this.marks.add(this.base + this.buf.length, chunk.bad);
    const keeps = (this.phase === 'elem' && this.discardHead === undefined) || (this.phase === 'key' && this.inValue);
    const from = keeps ? this.vStart : this.i;
    this.buf = this.buf.slice(from) + chunk.text;
    this.base += from;
    this.i -= from;
    this.vStart -= from;
    this.scan(false);
  }

  end(): void {
    this.scan(true);
    switch (this.phase) {
      case 'start':
      case 'done':
        return;
      case 'array':
        this.sink.reject('unexpected end of file: the array is not closed', '', this.line, this.base + this.i);
        return;
      case 'elem':
        this.sink.reject('unexpected end of file inside an element',
          this.discardHead ?? this.buf.slice(this.vStart, this.vStart + RAW_HEAD), this.vLine, this.base + this.vStart);
        return;
      default:
        throw this.pathError('the file ends before it');
    }
  }

  /** True while the key string itself is being scanned (as opposed to waiting for it). */
  private inValue = false;

  private pathError(what: string): RunError {
    return new RunError(`${this.file}: records path "${this.opts.records.join('.')}": ${what}`);
  }

  private scan(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    while (this.i < n) {
      switch (this.phase) {
        case 'start': {
          const c = this.skipSpace(false);
          if (c < 0) return;
          const want = this.opts.records.length === 0 ? '[' : '{';
          if (String.fromCharCode(c) !== want) {
            throw new RunError(this.opts.records.length === 0
              ? `${this.file}: expected a top-level JSON array at line ${this.line} (set \`records\` when the array sits inside an object)`
              : `${this.file}: expected a top-level JSON object holding "${this.opts.records.join('.')}" at line ${this.line}`);
          }
          this.i++;
          this.phase = want === '[' ? 'array' : 'key';
          break;
        }
        case 'key': {
          if (!this.inValue) {
            const c = this.skipSpace(true);
            if (c < 0) return;
            if (c === 125 /* } */) throw this.pathError(`key "${this.opts.records[this.level]}" not found`);
            if (c !== QUOTE) throw this.pathError(`unexpected character at line ${this.line}`);
            this.begin();
            this.inValue = true;
          }
          const end = this.scanValue(final);
          if (end < 0) return;
          this.inValue = false;
          this.key = JSON.parse(buf.slice(this.vStart, end)) as string;
          this.phase = 'colon';
          break;
        }
        case 'colon': {
          const c = this.skipSpace(false);
          if (c < 0) return;
          if (c !== 58 /* : */) throw this.pathError(`expected ":" at line ${this.line}`);
          this.i++;
          this.phase = 'value';
          break;
        }
        case 'value': {
          const c = this.skipSpace(false);
          if (c < 0) return;
          if (this.key === this.opts.records[this.level]) {
            const last = this.level === this.opts.records.length - 1;
            if (c !== (last ? 91 : 123)) {
              throw this.pathError(`"${this.opts.records.slice(0, this.level + 1).join('.')}" is not ${last ? 'an array' : 'an object'}`);
            }
            this.i++;
            this.level++;
            this.phase = last ? 'array' : 'key';
          } else {
            this.begin();
            this.phase = 'skip';
          }
          break;
        }
        case 'skip':
          if (this.scanValue(final) < 0) return;
          this.phase = 'key';
          break;
        case 'array': {
          const c = this.skipSpace(true);
          if (c < 0) return;
          if (c === 93 /* ] */) {
            this.i++;
            this.phase = 'done';
            break;
          }
          this.begin();
          this.discardHead = undefined;
          this.phase = 'elem';
          break;
        }
        case 'elem': {
          const end = this.scanValue(final);
          if (end < 0) {
            if (this.discardHead === undefined && n - this.vStart > this.opts.maxRecordChars) {
              this.discardHead = buf.slice(this.vStart, this.vStart + RAW_HEAD);
            }
            return;
          }
          this.emit(end);
          this.phase = 'array';
          break;
        }
        case 'done':
          // What follows the array is not read: the records are all out.
          this.i = n;
          return;
      }
    }
  }

  /** Skip whitespace (and commas when asked); the next character's code, or -1 at the end of the buffer. */
  private skipSpace(commas: boolean): number {
    const buf = this.buf;
    while (this.i < buf.length) {
      const c = buf.charCodeAt(this.i);
      if (c === NL) this.line++;
      else if (!isSpace(c) && !(commas && c === 44)) return c;
      this.i++;
    }
    return -1;
  }

  private begin(): void {
    this.vStart = this.i;
    this.vLine = this.line;
    this.depth = 0;
    this.inString = false;
    const c = this.buf.charCodeAt(this.i);
    this.compound = c === 123 || c === 91;
  }

  /** Advance through the current value; its end (exclusive) once complete, else -1 (at `final`: primitives end). */
  private scanValue(final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    let i = this.i;
    while (i < n) {
      if (this.inString) {
        const q = buf.indexOf('"', i);
        if (q === -1) {
          i = n;
          break;
        }
        let b = q - 1;
        while (b >= 0 && buf.charCodeAt(b) === BACKSLASH) b--;
        i = q + 1;
        if ((q - 1 - b) % 2 === 1) continue;
        this.inString = false;
        if (!this.compound) return this.finish(i);
        continue;
      }
      const c = buf.charCodeAt(i);
      if (c === QUOTE) {
        // A string after a primitive's first character is malformed; it still ends where JSON.parse will say.
        this.inString = true;
      } else if (c === 123 || c === 91) {
        this.depth++;
      } else if (c === 125 || c === 93) {
        if (this.depth === 0) return this.finish(i);
        this.depth--;
        if (this.depth === 0 && this.compound) return this.finish(i + 1);
      } else if (c === 44) {
        if (this.depth === 0) return this.finish(i);
      } else if (c === NL) {
        if (!this.compound) return this.finish(i);
        this.line++;
      } else if (!this.compound && isSpace(c)) {
        return this.finish(i);
      }
      i++;
    }
    this.i = i;
    if (final && !this.compound && !this.inString && i > this.vStart) return this.finish(i);
    return -1;
  }

  private finish(end: number): number {
    this.i = end;
    return end;
  }

  private emit(end: number): void {
    const offset = this.base + this.vStart;
    if (this.discardHead !== undefined) {
      this.sink.reject(`element longer than max_record_bytes (${this.opts.maxRecordChars} characters)`,
        this.discardHead, this.vLine, offset);
      this.discardHead = undefined;
      return;
    }
    const text = this.buf.slice(this.vStart, end);
    if (this.marks.next < this.base + end && this.marks.within(offset, this.base + end)) {
      this.sink.reject('invalid UTF-8', text, this.vLine, offset);
      return;
    }
    let value: unknown;
    try {
      value = parseJson(text);
    } catch (e) {
      this.sink.reject(`invalid JSON: ${(e as Error).message}`, text, this.vLine, offset);
      return;
    }
    if (!isPlainObject(value)) {
      this.sink.reject(`expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, text, this.vLine, offset);
      return;
    }
    this.sink.row(value, this.vLine, offset);
  }
}
