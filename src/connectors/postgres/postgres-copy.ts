// Canonical values (src/core/values/coerce.ts) → COPY text format, and the COPY stream a load writes through. Text goes
// to tables whose columns the server must convert (an enum, a domain, a widened column, arrays; the rest take
// postgres-binary.ts): the canonical forms are already the server's input syntax (ISO timestamps, decimal
// strings), so encoding is mostly concatenation. Only backslash, tab, newline and carriage return need escaping;
// NULL is \N; bytea goes as \\x<hex> (the hex input syntax with its backslash escaped).
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type ColumnType, elementType, type ScalarType } from '../../core/types.js';
import { jsonText, pgArrayLiteral } from '../../core/values/array-text.js';
import { bigintText } from '../../core/values/coerce.js';

export type Encoder = (v: unknown) => string;

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeChar = (c: string): string => ESCAPES[c];

/** Escape text for a COPY field; most values contain nothing to escape, and test() is cheaper than replace(). */
export const escapeCopy = (s: string): string => (SPECIAL.test(s) ? s.replace(SPECIAL_ALL, escapeChar) : s);

const asText: Encoder = (v) => escapeCopy(typeof v === 'string' ? v : typeof v === 'object' ? jsonText(v) : String(v));
// Canonical number, bigint, decimal, date, timestamp and uuid forms never contain a character to escape.
const plain: Encoder = (v) => (typeof v === 'string' ? v : String(v));
const bool: Encoder = (v) => (v === true || v === 't' || v === 'true' ? 't' : 'f');
const bytes: Encoder = (v) => {
  const b = v as Uint8Array;
  return '\\\\x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
};

const int8: Encoder = (v) => bigintText(v as number | bigint);

const ENCODERS: Record<ScalarType, Encoder> = {
  text: asText, integer: plain, bigint: int8, decimal: plain, double: plain, boolean: bool, date: plain,
  timestamp: plain, json: asText, binary: bytes, uuid: plain,
};

/** An array goes as its array literal, escaped like any text (its elements may hold tabs or backslashes). */
const array: Encoder = (v) => escapeCopy(pgArrayLiteral(v as unknown[]));

export const encoderFor = (type: ColumnType): Encoder => (elementType(type) ? array : ENCODERS[type as ScalarType]);

/** Characters per chunk handed to the socket: big enough to amortise a write, small enough to bound memory. */
const CHUNK_CHARS = 1 << 20;

/**
 * Encode rows as COPY text lines, calling `emit` with chunks of about 1 MB. With `seq`, a running sequence number
 * is appended to every line (the staging order a merge dedupes by); returns the next sequence number.
 */
export function encodeRows(
  rows: readonly unknown[][], encoders: readonly Encoder[], emit: (chunk: string) => void, seq?: number,
): number {
  const n = encoders.length;
  let out = '';
  let next = seq ?? 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (i > 0) out += '\t';
      out += v === null || v === undefined ? '\\N' : encoders[i](v);
    }
    out += seq === undefined ? '\n' : `\t${next++}\n`;
    if (out.length >= CHUNK_CHARS) {
      emit(out);
      out = '';
    }
  }
  if (out.length > 0) emit(out);
  return next;
}

/**
 * One open `COPY … FROM STDIN` on a client. Writes wait for the socket when its buffer is full (backpressure); an
 * error from the server is kept and rethrown by the next call; destroy() sends CopyFail so the server rolls the
 * COPY back, and waits until the connection is free for the ROLLBACK that follows.
 */
export class CopyWriter {
  private readonly stream: Writable & { rowCount: number };
  private error: Error | undefined;
  /** Settles when the COPY is over: finished, failed (pg emits 'error' without closing) or destroyed. */
  private readonly over: Promise<void>;

  constructor(client: pg.PoolClient, sql: string) {
    // A few MB buffered lets the server ingest while the engine parses the next batch.
    this.stream = client.query(copyFrom(sql, { highWaterMark: 4 << 20 }));
    this.over = new Promise<void>((done) => {
      this.stream.on('error', (e: Error) => {
        this.error ??= e;
        done();
      });
      this.stream.once('close', () => done());
    });
  }

  async write(chunk: string | Buffer): Promise<void> {
    if (this.error) throw this.error;
    if (!this.stream.write(chunk)) {
      // 'drain' never comes once the COPY has failed: wait for whichever happens first.
      await Promise.race([once(this.stream, 'drain').catch(() => undefined), this.over]);
      if (this.error) throw this.error;
    }
  }

  /** End the COPY; resolves with the rows the server took once they are in (visible to this transaction). */
  async end(): Promise<number> {
    if (this.error) throw this.error;
    this.stream.end();
    await this.over;
    if (this.error) throw this.error;
    return this.stream.rowCount;
  }

  /** Roll the COPY back (CopyFail) and wait until the connection is free for the ROLLBACK; never throws. */
  async destroy(): Promise<void> {
    if (!this.stream.destroyed && !this.error) this.stream.destroy();
    await this.over;
  }
}
