// A streaming XML reader for record-shaped documents. Text goes in chunk by chunk; only the record being read (or the
// markup token being scanned) is kept, so memory is bounded by the largest record, not the file. Well-formedness
// errors inside a record dead-letter that record, and reading resumes at the next start tag of a record element;
// an error between records dead-letters the rest of the file. DTD entities are internal only (no external fetch).
import { RunError } from '../../core/errors.js';
import { InvalidMarks, type TextChunk } from '../file-source/decode.js';
import type { RecordSink, TextParser } from '../file-source/file-source.js';
import { isRecord, rootMismatch, type ElementName, type RecordPath } from './xml-record-path.js';
import { buildRow, newNode, closeNode, type XmlNode, type XmlShape } from './xml-record.js';
import { checkDeclaredEncoding } from './xml-encoding.js';

export interface XmlOptions extends XmlShape {
  path: RecordPath;
  maxRecordChars: number;
  rejectInvalid: boolean;
  /** The stream's `encoding`, checked against the XML declaration. */
  encoding: string;
}

const RAW_HEAD = 1024;
/** Raw text kept after the error point of a malformed record, for context in the dead-letter queue. */
const RAW_TAIL = 200;
const MAX_ENTITY_CHARS = 64 * 1024;
const NAME = /^[A-Za-z_:\u00C0-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD][\w.\-:\u00B7\u00C0-\uFFFD]*$/;
const ATTRIBUTE = /\s+([^\s=/>"'<]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
const TAG_END = /\s*(\/?)>$/y;
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

class XmlSyntaxError extends Error {
  constructor(message: string, readonly pos: number) {
    super(message);
  }
}

interface OpenElement extends ElementName {
  qname: string;
  /** Namespace bindings in scope (prefix → URI; '' is the default namespace). */
  ns: Record<string, string>;
  node?: XmlNode;
}

const validChar = (c: number): boolean =>
  c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

export class XmlRecordParser implements TextParser {
  private buf = '';
  private i = 0;
  /** Global offset of buf[0]. */
  private base = 0;
  /** Lines counted up to global offset `lineAt`. */
  private line = 1;
  private lineAt = 0;
  private readonly stack: OpenElement[] = [];
  /** Index in `stack` of the record element, -1 between records. */
  private record = -1;
  private recordStart = 0;
  private recordLine = 1;
  /** The record outgrew max_record_bytes: still parsed to its end (structure only), then rejected with its head. */
  private oversize: string | undefined;
  /** After a malformed record: skipping to the next start tag named like it. */
  private resync: string | undefined;
  /** After an error between records, nothing more of the file is read. */
  private dead = false;
  private seenRoot = false;
  private readonly entities: Record<string, string> = Object.create(null) as Record<string, string>;
  private readonly marks = new InvalidMarks();

  constructor(private readonly opts: XmlOptions, private readonly file: string, private readonly sink: RecordSink) {}

  push(chunk: TextChunk): void {
    if (this.dead) return;
    if (chunk.bad && this.opts.rejectInvalid) this.marks.add(this.base + this.buf.length, chunk.bad);
    const keepFrom = this.record >= 0 && this.oversize === undefined ? this.recordStart - this.base : this.i;
    this.countLines(this.base + keepFrom);
    this.buf = this.buf.slice(keepFrom) + chunk.text;
    this.base += keepFrom;
    this.i -= keepFrom;
    this.scan(false);
  }

  end(): void {
    if (this.dead) return;
    this.scan(true);
    if (this.dead || this.resync !== undefined) return;
    if (this.record >= 0) {
      const r = this.stack[this.record];
      this.rejectRecord(`unexpected end of file inside <${r.qname}>`, this.base + this.buf.length);
      return;
    }
    if (this.stack.length > 0) {
      this.sink.reject(`unexpected end of file: <${this.stack[this.stack.length - 1].qname}> is not closed`, '', this.lineOf(this.base + this.buf.length), this.base + this.buf.length);
    }
  }

  /** Advance the line count to global offset `pos` (never backwards). */
  private countLines(pos: number): void {
    let k = this.lineAt - this.base;
    const stop = pos - this.base;
    while (k < stop) {
      const nl = this.buf.indexOf('\n', k);
      if (nl < 0 || nl >= stop) break;
      this.line++;
      k = nl + 1;
    }
    if (pos > this.lineAt) this.lineAt = pos;
  }

  private lineOf(pos: number): number {
    this.countLines(pos);
    return this.line;
  }

  private scan(final: boolean): void {
    while (!this.dead && this.i < this.buf.length) {
      if (this.resync !== undefined && !this.findResync(final)) return;
      if (this.record >= 0 && this.oversize === undefined && this.buf.length - (this.recordStart - this.base) > this.opts.maxRecordChars) {
        this.oversize = this.buf.slice(this.recordStart - this.base, this.recordStart - this.base + RAW_HEAD);
        if (this.stack[this.record].node) this.dropNodes();
      }
      try {
        if (!this.step(final)) return;
      } catch (e) {
        if (!(e instanceof XmlSyntaxError)) throw e;
        this.fail(e);
      }
    }
  }

  /** One token; false when it needs more text. */
  private step(final: boolean): boolean {
    const buf = this.buf;
    const start = this.i;
    if (buf.charCodeAt(start) !== 60 /* < */) {
      const lt = buf.indexOf('<', start);
      const end = lt < 0 ? buf.length : lt;
      if (this.record < 0 || this.oversize !== undefined) {
        this.i = end;
        return lt >= 0;
      }
      // Inside a record, text waits for its end so an entity is never split.
      if (lt < 0 && !final) return false;
      this.text(start, end);
      this.i = end;
      return true;
    }
    const next = buf.charCodeAt(start + 1);
    if (Number.isNaN(next)) return this.incomplete(final, start, 'markup');
    if (next === 33 /* ! */) {
      if (buf.startsWith('<!--', start)) return this.skipTo('-->', start, final, 'comment');
      if (buf.startsWith('<![CDATA[', start)) {
        const close = buf.indexOf(']]>', start + 9);
        if (close < 0) return this.incomplete(final, start, 'CDATA section');
        if (this.record >= 0 && this.oversize === undefined) this.appendText(buf.slice(start + 9, close));
        this.i = close + 3;
        return true;
      }
      if (buf.startsWith('<!DOCTYPE', start)) return this.doctype(start, final);
      if (buf.length - start < 9 && !final) return false;
      throw new XmlSyntaxError('unexpected "<!"', start);
    }
    if (next === 63 /* ? */) {
      const close = buf.indexOf('?>', start + 2);
      if (close < 0) return this.incomplete(final, start, 'processing instruction');
      const body = buf.slice(start + 2, close);
      if (/^xml\s/.test(body)) {
        if (this.base + start !== 0) throw new XmlSyntaxError('the XML declaration must come first in the file', start);
        const enc = /\sencoding\s*=\s*["']([^"']+)["']/.exec(body);
        if (enc) {
          const problem = checkDeclaredEncoding(enc[1], this.opts.encoding);
          if (problem) throw new RunError(`${this.file}: ${problem}`);
        }
      }
      this.i = close + 2;
      return true;
    }
    if (next === 47 /* / */) {
      const close = buf.indexOf('>', start + 2);
      if (close < 0) return this.incomplete(final, start, 'end tag');
      this.endTag(buf.slice(start + 2, close).trimEnd(), start);
      this.i = close + 1;
      return true;
    }
    const close = this.tagEnd(start);
    if (close < 0) return this.incomplete(final, start, 'start tag');
    this.i = close + 1;
    this.startTag(start, close + 1);
    return true;
  }

  private incomplete(final: boolean, start: number, what: string): boolean {
    if (!final) return false;
    throw new XmlSyntaxError(`unexpected end of file inside a ${what}`, start);
  }

  private skipTo(close: string, start: number, final: boolean, what: string): boolean {
    const at = this.buf.indexOf(close, start + 4);
    if (at < 0) return this.incomplete(final, start, what);
    this.i = at + close.length;
    return true;
  }

  /** Index of the `>` ending the start tag at `start` (quotes respected), or -1 when not in the buffer yet. */
  private tagEnd(start: number): number {
    const buf = this.buf;
    const n = buf.length;
    let quote = 0;
    for (let k = start + 1; k < n; k++) {
      const c = buf.charCodeAt(k);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 62 /* > */) {
        return k;
      } else if (c === 34 || c === 39) {
        quote = c;
      }
    }
    return -1;
  }

  private doctype(start: number, final: boolean): boolean {
    const buf = this.buf;
    const gt = buf.indexOf('>', start);
    const br = buf.indexOf('[', start);
    let end: number;
    if (br >= 0 && (gt < 0 || br < gt)) {
      const close = buf.indexOf(']', br);
      const after = close < 0 ? -1 : buf.indexOf('>', close);
      if (after < 0) return this.incomplete(final, start, 'DOCTYPE');
      this.declareEntities(buf.slice(br + 1, close), start);
      end = after;
    } else {
      if (gt < 0) return this.incomplete(final, start, 'DOCTYPE');
      end = gt;
    }
    this.i = end + 1;
    return true;
  }

  /** Internal general entities of the DTD subset. External ones (SYSTEM/PUBLIC) are never fetched: references to them fail. */
  private declareEntities(subset: string, pos: number): void {
    for (const m of subset.matchAll(/<!ENTITY\s+([^\s%]+)\s+(?:"([^"]*)"|'([^']*)')\s*>/g)) {
      if (m[1] in this.entities || m[1] in PREDEFINED) continue;
      // Expanded once, here, and bounded: nested entities cannot blow up (the "billion laughs").
      const value = this.decode(m[2] ?? m[3], pos);
      if (value.length > MAX_ENTITY_CHARS) throw new XmlSyntaxError(`entity "${m[1]}" expands to more than ${MAX_ENTITY_CHARS} characters`, pos);
      this.entities[m[1]] = value;
    }
  }

  /** Replace entity and character references. `pos` is where `s` starts when `exact`, else the token it belongs to. */
  private decode(s: string, pos: number, exact = false): string {
    let amp = s.indexOf('&');
    if (amp < 0) return s;
    let out = '';
    let from = 0;
    while (amp >= 0) {
      const semi = s.indexOf(';', amp + 1);
      const ref = semi < 0 ? '' : s.slice(amp + 1, semi);
      if (semi < 0 || semi - amp > 64 || /[\s&<]/.test(ref) || ref.length === 0) {
        throw new XmlSyntaxError('"&" must start an entity reference such as &amp; (escape a literal & as &amp;)', exact ? pos + amp : pos);
      }
      let value: string | undefined;
      if (ref[0] === '#') {
        const code = ref[1] === 'x' ? (/^#x[0-9A-Fa-f]+$/.test(ref) ? parseInt(ref.slice(2), 16) : NaN) : (/^#\d+$/.test(ref) ? Number(ref.slice(1)) : NaN);
        if (!validChar(code)) throw new XmlSyntaxError(`invalid character reference &${ref};`, exact ? pos + amp : pos);
        value = String.fromCodePoint(code);
      } else {
        value = PREDEFINED[ref] ?? this.entities[ref];
        if (value === undefined) throw new XmlSyntaxError(`undefined entity &${ref};`, exact ? pos + amp : pos);
      }
      out += s.slice(from, amp) + value;
      from = semi + 1;
      amp = s.indexOf('&', from);
    }
    return out + s.slice(from);
  }

  private text(start: number, end: number): void {
    const raw = this.buf.slice(start, end);
    if (raw.includes(']]>')) throw new XmlSyntaxError('"]]>" is not allowed in text', start);
    this.appendText(this.decode(raw, start, true));
  }

  private appendText(text: string): void {
    const top = this.stack[this.stack.length - 1];
    if (top.node) {
      top.node.text += text;
      top.node.sawText = true;
    }
  }

  private startTag(start: number, end: number): void {
    const tag = this.buf.slice(start, end);
    const nameEnd = tag.search(/[\s/>]/);
    const qname = tag.slice(1, nameEnd);
    try {
      this.openElement(tag, qname, nameEnd, start);
    } catch (e) {
      // A malformed start tag of what would be a record costs that record only: it is opened so the error rejects
      // it and reading resumes at the next one.
      if (e instanceof XmlSyntaxError && this.record < 0 && this.stack.length > 0) {
        const ns = this.stack[this.stack.length - 1].ns;
        const colon = qname.indexOf(':');
        const el: OpenElement = { qname, local: colon < 0 ? qname : qname.slice(colon + 1), uri: ns[colon < 0 ? '' : qname.slice(0, colon)] ?? '', ns };
        if (isRecord(this.opts.path, [...this.stack, el])) {
          this.stack.push(el);
          this.record = this.stack.length - 1;
          this.recordStart = this.base + start;
          this.recordLine = this.lineOf(this.base + start);
        }
      }
      throw e;
    }
  }

  private openElement(tag: string, qname: string, nameEnd: number, start: number): void {
    if (!NAME.test(qname)) throw new XmlSyntaxError(`invalid element name "${qname}"`, start);
    const attrs: [string, string][] = [];
    ATTRIBUTE.lastIndex = nameEnd;
    let at = nameEnd;
    for (let m = ATTRIBUTE.exec(tag); m; m = ATTRIBUTE.exec(tag)) {
      const name = m[1];
      if (!NAME.test(name)) throw new XmlSyntaxError(`invalid attribute name "${name}" in <${qname}>`, start);
      if (attrs.some(([n]) => n === name)) throw new XmlSyntaxError(`duplicate attribute "${name}" in <${qname}>`, start);
      const value = m[2] ?? m[3];
      if (value.includes('<')) throw new XmlSyntaxError(`"<" in the value of attribute "${name}" of <${qname}>`, start);
      // Attribute-value normalization (XML 1.0 §3.3.3): literal tabs and line breaks become spaces.
      attrs.push([name, this.decode(value.replace(/[\t\n\r]/g, ' '), start)]);
      at = ATTRIBUTE.lastIndex;
    }
    TAG_END.lastIndex = at;
    const tail = TAG_END.exec(tag);
    if (!tail) throw new XmlSyntaxError(`malformed start tag <${qname}>`, start);
    if (this.stack.length === 0 && this.seenRoot) throw new XmlSyntaxError(`a second root element <${qname}>`, start);

    const parentNs = this.stack.length ? this.stack[this.stack.length - 1].ns : { xml: XML_NS };
    let ns = parentNs;
    for (const [name, value] of attrs) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        if (ns === parentNs) ns = { ...parentNs };
        ns[name === 'xmlns' ? '' : name.slice(6)] = value;
      }
    }
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const uri = ns[prefix];
    if (prefix && uri === undefined) throw new XmlSyntaxError(`namespace prefix "${prefix}" of <${qname}> is not declared`, start);
    const el: OpenElement = { qname, local: colon < 0 ? qname : qname.slice(colon + 1), uri: uri ?? '', ns };
    const dataAttrs: [string, string][] = [];
    for (const [name, value] of attrs) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      const c = name.indexOf(':');
      if (c > 0 && ns[name.slice(0, c)] === undefined) throw new XmlSyntaxError(`namespace prefix "${name.slice(0, c)}" of attribute "${name}" is not declared`, start);
      dataAttrs.push([this.opts.names === 'qualified' || c < 0 ? name : name.slice(c + 1), value]);
    }
    const elName = this.opts.names === 'qualified' ? qname : el.local;

    if (this.stack.length === 0) {
      this.seenRoot = true;
      const mismatch = rootMismatch(this.opts.path, el);
      if (mismatch) throw new RunError(`${this.file}: ${mismatch}`);
    }
    const parent = this.stack[this.stack.length - 1];
    this.stack.push(el);
    if (this.record >= 0) {
      if (parent.node) el.node = newNode(elName, dataAttrs);
    } else if (isRecord(this.opts.path, this.stack)) {
      this.record = this.stack.length - 1;
      this.recordStart = this.base + start;
      this.recordLine = this.lineOf(this.base + start);
      this.oversize = undefined;
      el.node = newNode(elName, dataAttrs);
    }
    if (tail[1] === '/') this.close();
  }

  private endTag(name: string, start: number): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) throw new XmlSyntaxError(`end tag </${name}> without a start tag`, start);
    if (top.qname !== name) throw new XmlSyntaxError(`end tag </${name}> does not match <${top.qname}>`, start);
    this.close();
  }

  private close(): void {
    const el = this.stack.pop()!;
    if (this.record < 0) return;
    if (this.stack.length > this.record) {
      const parent = this.stack[this.stack.length - 1];
      if (el.node && parent.node) closeNode(parent.node, el.node, this.opts);
      return;
    }
    // The record element itself.
    this.record = -1;
    const end = this.base + this.i;
    if (this.oversize !== undefined) {
      this.sink.reject(`record longer than max_record_bytes (${this.opts.maxRecordChars} characters)`, this.oversize, this.recordLine, this.recordStart);
      this.oversize = undefined;
      return;
    }
    const raw = () => this.buf.slice(this.recordStart - this.base, end - this.base);
    if (this.marks.next < end && this.marks.within(this.recordStart, end)) {
      this.sink.reject('invalid UTF-8', raw(), this.recordLine, this.recordStart);
      return;
    }
    this.sink.row(buildRow(el.node!, this.opts), this.recordLine, this.recordStart);
  }

  private dropNodes(): void {
    for (let k = this.record; k < this.stack.length; k++) this.stack[k].node = undefined;
  }

  private fail(e: XmlSyntaxError): void {
    const at = this.base + e.pos;
    const where = `malformed XML at line ${this.lineOf(at)}: ${e.message}`;
    if (this.record >= 0) {
      this.rejectRecord(where, at);
      return;
    }
    this.sink.reject(`${where}; the rest of the file is not read`, this.buf.slice(e.pos, e.pos + RAW_HEAD), this.lineOf(at), at);
    this.dead = true;
    this.buf = '';
    this.i = 0;
  }

  /** Dead-letter the record in progress and skip to the next start tag of an element named like it. */
  private rejectRecord(reason: string, at: number): void {
    const r = this.stack[this.record];
    const from = this.recordStart - this.base;
    const raw = this.oversize ?? this.buf.slice(from, Math.min(Math.max(at - this.base, from) + RAW_TAIL, from + this.opts.maxRecordChars));
    this.sink.reject(reason, raw, this.recordLine, this.recordStart);
    this.stack.length = this.record;
    this.record = -1;
    this.oversize = undefined;
    this.resync = r.qname;
    this.i = Math.max(this.i, at - this.base + 1);
  }

  /** In resync mode: move to the next `<name` (a record start); false when more text is needed. */
  private findResync(final: boolean): boolean {
    const want = `<${this.resync}`;
    const buf = this.buf;
    let k = buf.indexOf(want, this.i);
    while (k >= 0) {
      const c = buf[k + want.length];
      if (c === undefined) {
        if (final) break;
        this.i = k;
        return false;
      }
      if (/[\s/>]/.test(c)) {
        this.i = k;
        this.resync = undefined;
        return true;
      }
      k = buf.indexOf(want, k + 1);
    }
    // Keep a tail that may hold the start of the name.
    this.i = Math.max(this.i, buf.length - want.length);
    if (final) this.i = buf.length;
    return false;
  }
}
