// PostgreSQL's logical replication messages (the pgoutput plugin, protocol version 1), decoded: transaction bounds,
// the relations (a table's columns, sent before its first change and again when it changes) and the row changes.
// Values stay in PostgreSQL's text output, as a sync side reads them (./../sides/postgres-side.ts), so one comparison
// and one conversion serve rows read by a scan and rows read from the stream.
// https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html

export interface Relation {
  id: number;
  schema: string;
  table: string;
  columns: { name: string; key: boolean }[];
}

/** A column's value: text, null, or `unchanged` (a TOASTed value the update did not touch, so not sent). */
export const UNCHANGED = Symbol('unchanged TOAST value');
export type Tuple = (string | null | typeof UNCHANGED)[];

export type PgMessage =
  | { tag: 'begin'; lsn: bigint; xid: number; time: Date }
  | { tag: 'commit'; lsn: bigint; end: bigint }
  | { tag: 'origin'; name: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'insert'; relation: number; row: Tuple }
  /** `full`: the old row has every column (REPLICA IDENTITY FULL), not only the key's. */
  | { tag: 'update'; relation: number; old?: Tuple; full: boolean; row: Tuple }
  | { tag: 'delete'; relation: number; old: Tuple; full: boolean }
  | { tag: 'truncate'; relations: number[] }
  | { tag: 'message'; prefix: string; content: string }
  | { tag: 'other' };

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

export const lsnText = (lsn: bigint): string => `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number { return this.buf[this.at++]; }
  int16(): number { const v = this.buf.readInt16BE(this.at); this.at += 2; return v; }
  int32(): number { const v = this.buf.readInt32BE(this.at); this.at += 4; return v; }
  int64(): bigint { const v = this.buf.readBigUInt64BE(this.at); this.at += 8; return v; }
  string(): string {
    const end = this.buf.indexOf(0, this.at);
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  bytes(n: number): Buffer { const b = this.buf.subarray(this.at, this.at + n); this.at += n; return b; }
  tuple(): Tuple {
    const n = this.int16();
    const out: Tuple = new Array(n);
    for (let i = 0; i < n; i++) {
      const kind = this.byte();
      if (kind === 0x6e /* n */) out[i] = null;
      else if (kind === 0x75 /* u */) out[i] = UNCHANGED;
      else out[i] = this.bytes(this.int32()).toString('utf8');
    }
    return out;
  }
}

export function decode(buf: Buffer): PgMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.byte());
  switch (tag) {
    case 'B': {
      const lsn = r.int64();
      const time = new Date(Number((r.int64() + PG_EPOCH_US) / 1000n));
      return { tag: 'begin', lsn, time, xid: r.int32() };
    }
    case 'C': {
      r.byte();
      return { tag: 'commit', lsn: r.int64(), end: r.int64() };
    }
    case 'O': {
      r.int64();
      return { tag: 'origin', name: r.string() };
    }
    case 'R': {
      const id = r.int32();
      const schema = r.string();
      const table = r.string();
      r.byte();
      const columns = Array.from({ length: r.int16() }, () => {
        const flags = r.byte();
        const name = r.string();
        r.int32();
        r.int32();
        return { name, key: (flags & 1) === 1 };
      });
      return { tag: 'relation', relation: { id, schema, table, columns } };
    }
    case 'I': {
      const relation = r.int32();
      r.byte();
      return { tag: 'insert', relation, row: r.tuple() };
    }
    case 'U': {
      const relation = r.int32();
      const kind = r.byte();
      let old: Tuple | undefined;
      if (kind === 0x4b /* K */ || kind === 0x4f /* O */) {
        old = r.tuple();
        r.byte();
      }
      return { tag: 'update', relation, old, full: kind === 0x4f, row: r.tuple() };
    }
    case 'D': {
      const relation = r.int32();
      const full = r.byte() === 0x4f;
      return { tag: 'delete', relation, old: r.tuple(), full };
    }
    case 'T': {
      const n = r.int32();
      r.byte();
      return { tag: 'truncate', relations: Array.from({ length: n }, () => r.int32()) };
    }
    case 'M': {
      r.byte();
      r.int64();
      const prefix = r.string();
      return { tag: 'message', prefix, content: r.bytes(r.int32()).toString('utf8') };
    }
    default:
      return { tag: 'other' };
  }
}
