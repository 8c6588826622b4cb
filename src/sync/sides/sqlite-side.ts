// A SQLite side: rows in key order (text keys by their bytes, BINARY), and changes written row by row with prepared
// statements in one transaction (in-process: no round trip to save) — UPDATE, then INSERT when no row had the key.
import { openSqlite } from '../../connectors/sqlite/sqlite-destination.js';
import { quoteIdent } from '../../connectors/sql/quote.js';
import { positionSql } from '../positions.js';
import { openTransaction, PAGE, POSITIONS, TEXT_TYPES, type Side } from '../side.js';

export function sqliteSide(path: string): Side {
  const db = openSqlite(path, { readonly: true });
  let writing: ReturnType<typeof openSqlite> | undefined;
  // The reading connection is read-only: writes go through a second one.
  const writer = () => (writing ??= openSqlite(path));
  const positions = positionSql('sqlite', quoteIdent(POSITIONS));
  return {
    type: 'sqlite',
    async columns(table) {
      const rows = db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table) as { name: string; type: string }[];
      return rows.map((r) => ({ name: r.name, text: TEXT_TYPES.test(r.type), type: r.type.toLowerCase() }));
    },
    async *scan(table, columns, key) {
      const stmt = db.prepare(`SELECT ${columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${quoteIdent(table)}
        ORDER BY ${key.map((k) => `${quoteIdent(k.name)} COLLATE BINARY`).join(', ')}`).raw(true);
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
    async close() {
      db.close();
      writing?.close();
    },
  };
}
