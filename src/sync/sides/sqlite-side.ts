// A SQLite side: rows in key order (text keys by their bytes, BINARY), and changes written row by row with prepared
// statements in one transaction (in-process: no round trip to save) — UPDATE, then INSERT when no row had the key.
import { openSqlite } from '../../connectors/sqlite/sqlite-destination.js';
import { quoteIdent } from '../../connectors/sql/quote.js';
import { createHash } from 'node:crypto';
import { positionSql } from '../positions.js';
import { rangeReader, type Statement } from '../range-sql.js';
import { openTransaction, PAGE, POSITIONS, TEXT_TYPES, type HashShape, type Side, type SideColumn } from '../side.js';
import { syncText } from '../values.js';

/** A key column as keys are ordered to be walked together: by its bytes, as values.ts compares keys. */
const byteOrder = (col: SideColumn): string => `${quoteIdent(col.name)} COLLATE BINARY`;

/**
 * A row's hash as the servers compute theirs (range-sql.ts): SQLite has no md5, so the connection gets it as a
 * function, each value spelled as values.ts compares it (syncText) — what the servers' spellings come to.
 */
export function rowHash(...values: unknown[]): string {
  let text = '';
  for (const v of values) {
    const t = syncText(v);
    text += t === null ? 'N' : `${Buffer.byteLength(t)}:${t}`;
  }
  return createHash('md5').update(text).digest('hex').slice(17);
}

export function sqliteSide(path: string): Side {
  const db = openSqlite(path, { readonly: true });
  let writing: ReturnType<typeof openSqlite> | undefined;
  // The reading connection is read-only: writes go through a second one.
  const writer = () => (writing ??= openSqlite(path));
  const positions = positionSql('sqlite', quoteIdent(POSITIONS));
  const hashing = new WeakSet<object>();
  /** A reading connection with the hash functions. */
  const hashed = (on: ReturnType<typeof openSqlite>) => {
    if (!hashing.has(on)) {
      on.function('sluice_row_hash', { deterministic: true, varargs: true }, rowHash);
      on.aggregate('sluice_hash_sum', { start: () => 0n, step: (sum: bigint, h: unknown) => sum + BigInt(`0x${String(h)}`), result: (sum: bigint) => sum.toString() });
      hashing.add(on);
    }
    return on;
  };
  // A connection is busy while a read is open on it: what is asked meanwhile (rows by key) goes through a second one.
  let other: ReturnType<typeof openSqlite> | undefined;
  return {
    type: 'sqlite',
    async columns(table) {
      const rows = db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table) as { name: string; type: string }[];
      return rows.map((r) => ({ name: r.name, text: TEXT_TYPES.test(r.type), type: r.type.toLowerCase() }));
    },
    async *scan(table, columns, key) {
      const stmt = db.prepare(`SELECT ${columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${quoteIdent(table)}
        ORDER BY ${key.map(byteOrder).join(', ')}`).raw(true);
      let page: unknown[][] = [];
      for (const row of stmt.iterate() as Iterable<unknown[]>) {
        page.push(row);
        if (page.length >= PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    },
    async transaction(mark) {
      const w = writer();
      return openTransaction({
        run: async (sql, values = []) => (values.length ? w.prepare(sql).run(...values) : w.exec(sql)),
        release: () => undefined,
        begin: 'BEGIN IMMEDIATE',
        positions,
        ensurePositions: async () => void w.exec(positions.create),
        table: async (table, columns, key) => {
          const T = quoteIdent(table);
          const where = key.map((k) => `${quoteIdent(k.name)} = ?`).join(' AND ');
          const rest = columns.slice(key.length);
          const update = rest.length ? w.prepare(`UPDATE ${T} SET ${rest.map((col) => `${quoteIdent(col.name)} = ?`).join(', ')} WHERE ${where}`) : undefined;
          const exists = w.prepare(`SELECT 1 FROM ${T} WHERE ${where}`).raw(true);
          const insert = w.prepare(`INSERT INTO ${T} (${columns.map((col) => quoteIdent(col.name)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
          const remove = w.prepare(`DELETE FROM ${T} WHERE ${where}`);
          const current = w.prepare(`SELECT ${columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${T} WHERE ${where}`).raw(true);
          return {
            async upsert(batch) {
              for (const row of batch) {
                const k = row.slice(0, key.length);
                const found = update ? update.run(...row.slice(key.length), ...k).changes > 0 : exists.get(...k) !== undefined;
                if (!found) insert.run(...row);
              }
            },
            async remove(batch) {
              for (const k of batch) remove.run(...k);
            },
            async read(keys) {
              // BEGIN IMMEDIATE holds the database's write lock: nothing changes them before commit.
              return keys.flatMap((k) => current.all(...k) as unknown[][]);
            },
          };
        },
      }, mark);
    },
    async position(mark) {
      writer().exec(positions.create);
      const row = db.prepare(positions.read).get(mark.sync, mark.stream) as { position: string | null } | undefined;
      return row?.position ?? undefined;
    },
    ranges(table, shape: HashShape) {
      const all = async (st: Statement) => hashed(other ??= openSqlite(path, { readonly: true })).prepare(st.sql).raw(true).all(...st.values) as unknown[][];
      async function* stream(st: Statement) {
        let page: unknown[][] = [];
        for (const row of hashed(db).prepare(st.sql).raw(true).iterate(...st.values) as Iterable<unknown[]>) {
          page.push(row);
          if (page.length >= PAGE) {
            yield page;
            page = [];
          }
        }
        if (page.length) yield page;
      }
      const key = quoteIdent(shape.key.name);
      return rangeReader({
        table: quoteIdent(table),
        key: byteOrder(shape.key),
        keyColumn: key,
        keyColumns: [shape.key, ...shape.rest].map((col) => quoteIdent(col.name)),
        order: [shape.key, ...shape.rest].map(byteOrder).join(', '),
        carried: shape.carried.map((col) => quoteIdent(col.name)),
        hash: `sluice_row_hash(${shape.hashed.map((col) => quoteIdent(col.name)).join(', ')})`,
        sum: (h) => `sluice_hash_sum(${h})`,
        count: 'count(*)',
        placeholder: () => '?',
        integer: (ph) => `CAST(${ph} AS INTEGER)`,
        div: (x, y) => `${x} / ${y}`,
      }, { all, stream }, quoteIdent);
    },
    async close() {
      db.close();
      other?.close();
      writing?.close();
    },
  };
}
