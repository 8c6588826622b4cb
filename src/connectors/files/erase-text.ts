// A subject's rows cut out of CSV and NDJSON parts (`sluice erase` on a files destination), record by record as the
// part streams by (gzip too), so memory holds one record. Records that stay are written back byte for byte; an
// anonymised record is encoded again by the part's own writer rules (csv-writer.ts, ndjson-writer.ts), so NULL and
// '' stay distinct in CSV and every digit of a long number stays in NDJSON. Values compare by their text, as the
// files hold them: a CSV field is text, and the subject's value (42, true, an email) has one text form.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { parseJson } from '../../core/values/json-parse.js';
import { csvField } from './csv-writer.js';
import type { ManifestFile } from './manifest.js';
import { ndjsonValue } from './ndjson-writer.js';
import { TextPartWriter } from './part-writer.js';
import { type PartEraser, type PartErasure, type SubjectMatch, partHas } from './erase-match.js';

interface TextRecord {
  /** The record as the file holds it, line end included. */
  raw: string;
  get(column: string): unknown;
  /** The record encoded again with these columns NULL. */
  blank(columns: ReadonlySet<string>): string;
}

/** A value's text, the way flatten names a parent by its key (a Date as ISO, an object as JSON); null has none. */
const textOf = (v: unknown): string | undefined =>
  v === null || v === undefined ? undefined
    : typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);

const keyId = (values: readonly unknown[]): string => JSON.stringify(values.map((v) => textOf(v) ?? null));

/** Written back in pieces of about this many characters: few writes, little held. */
const FLUSH_CHARS = 1 << 16;

export class TextEraser implements PartEraser {
  private readonly values: Set<string>;
  private readonly found = new Map<string, unknown[]>();

  constructor(private readonly format: 'csv' | 'ndjson', private readonly subject: SubjectMatch) {
    this.values = new Set(subject.values.map(textOf).filter((v): v is string => v !== undefined));
  }

  async collect(file: string, part: ManifestFile): Promise<void> {
    const { column, key } = this.subject;
    if (!partHas(part, column) || !key.every((k) => partHas(part, k))) return;
    for await (const r of this.records(file, part)) {
      if (!this.holdsValue(r)) continue;
      const k = key.map((c) => r.get(c) ?? null);
      this.found.set(keyId(k), k);
    }
  }

  async keys(): Promise<unknown[][]> {
    return [...this.found.values()];
  }

  async erase(file: string, part: ManifestFile, out?: string): Promise<PartErasure> {
    const { column, key, anonymise } = this.subject;
    const byValue = partHas(part, column);
    const byKey = this.found.size > 0 && key.every((k) => partHas(part, k));
    if (!byValue && !byKey) return { matched: 0, kept: part.rows };
    const blank = new Set(anonymise ?? []);
    const writer = out ? new TextPartWriter(out, (rows) => rows[0][0] as string, '', part.path.endsWith('.gz')) : undefined;
    let pending = '';
    const put = async (text: string): Promise<void> => {
      if (!writer) return;
      pending += text;
      if (pending.length < FLUSH_CHARS) return;
      await writer.write([[pending]]);
      pending = '';
    };
    const counts = { matched: 0, kept: 0 };
    try {
      let header = this.format === 'csv';
      for await (const r of this.records(file, part, true)) {
        if (header) {
          header = false;
          await put(r.raw);
          continue;
        }
        const hit = (byValue && this.holdsValue(r)) || (byKey && this.found.has(keyId(key.map((c) => r.get(c) ?? null))));
        if (!hit) {
          counts.kept += 1;
          await put(r.raw);
        } else {
          counts.matched += 1;
          if (anonymise) {
            counts.kept += 1;
            await put(r.blank(blank));
          }
        }
      }
      if (writer && counts.matched > 0 && counts.kept > 0) {
        if (pending) await writer.write([[pending]]);
        await writer.close();
      } else {
        await writer?.discard();
      }
    } catch (e) {
      await writer?.discard();
      throw e;
    }
    return counts;
  }

  async close(): Promise<void> {}

  private holdsValue(r: TextRecord): boolean {
    const v = textOf(r.get(this.subject.column));
    return v !== undefined && this.values.has(v);
  }

  /** The part's records (CSV: its header first when `withHeader`), partition values answered from the manifest. */
  private async *records(file: string, part: ManifestFile, withHeader = false): AsyncGenerator<TextRecord> {
    const input: Readable = createReadStream(file);
    const text = (part.path.endsWith('.gz') ? input.pipe(createGunzip()) : input).setEncoding('utf8') as AsyncIterable<string>;
    const partition = part.partition ?? {};
    const fromPartition = (column: string): unknown => partition[column] ?? null;
    if (this.format === 'ndjson') {
      const names = part.columns;
      for await (const line of lines(text)) {
        if (line.trim() === '') continue;
        const obj = parseJson(line) as Record<string, unknown>;
        yield {
          raw: `${line}\n`,
          get: (c) => (c in partition ? fromPartition(c) : obj[c]),
          blank: (cols) => `{${names.map((c) => `${JSON.stringify(c.name)}:${ndjsonValue(cols.has(c.name) ? null : obj[c.name], c.type)}`).join(',')}}\n`,
        };
      }
      return;
    }
    let header: string[] | undefined;
    let at = new Map<string, number>();
    for await (const { raw, fields } of csvRecords(text)) {
      if (!header) {
        const names = fields.map((f) => f ?? '');
        header = names;
        at = new Map(names.map((f, i) => [f, i]));
        if (withHeader) yield { raw, get: () => null, blank: () => raw };
        continue;
      }
      const names = header;
      yield {
        raw,
        get: (c) => (c in partition ? fromPartition(c) : fields[at.get(c) ?? -1] ?? null),
        blank: (cols) => `${fields.map((f, i) => csvField(cols.has(names[i]) ? null : f)).join(',')}\r\n`,
      };
    }
  }
}

/** NDJSON lines, `\n` left off. */
async function* lines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let carry = '';
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      yield carry + chunk.slice(start, nl);
      carry = '';
      start = nl + 1;
    }
    carry += chunk.slice(start);
  }
  if (carry) yield carry;
}

/**
 * CSV records as csv-writer.ts writes them (RFC 4180, CRLF): each with its raw text and its fields, an unquoted empty
 * field as null and a quoted one as '' (the writer's NULL and empty string).
 */
export async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<{ raw: string; fields: (string | null)[] }> {
  let fields: (string | null)[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  /** A quote seen inside quotes: the next character says whether it was doubled or closed the field. */
  let quote = false;
  let carry = '';
  const endField = (): void => {
    fields.push(quoted || field !== '' ? field : null);
    field = '';
    quoted = false;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (quote) {
        quote = false;
        if (c === '"') {
          field += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (c === '"') quote = true;
        else field += c;
        continue;
      }
      if (c === '"') {
        inQuotes = true;
        quoted = true;
      } else if (c === ',') {
        endField();
      } else if (c === '\n') {
        endField();
        yield { raw: carry + chunk.slice(start, i + 1), fields };
        fields = [];
        carry = '';
        start = i + 1;
      } else if (c !== '\r') {
        field += c;
      }
    }
    carry += chunk.slice(start);
  }
  if (carry) {
    endField();
    yield { raw: carry, fields };
  }
}
