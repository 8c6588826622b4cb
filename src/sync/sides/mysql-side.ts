// A MySQL/MariaDB side: rows streamed in key order (text keys by utf8mb4_bin), and changes written a batch per
// statement — `INSERT … ON DUPLICATE KEY UPDATE` when the key is the table's primary or a unique key (MySQL matches
// rows by a unique index only), else row by row: is the key there, then UPDATE or INSERT.
import type { PoolConnection } from 'mysql2/promise';
import { createMysqlPool, mysqlError } from '../../connectors/mysql/mysql-connection.js';
import { q } from '../../connectors/mysql/mysql-tables.js';
import { splitQualified } from '../../connectors/sql/qualified-name.js';
import { quoteQualified } from '../../connectors/sql/quote.js';
import { positionSql } from '../positions.js';
import { openTransaction, PAGE, POSITIONS, TEXT_TYPES, type Side } from '../side.js';

/**
 * `snapshot`: the side as one consistent snapshot sees it (a CDC stream's start, ../cdc/mysql-changes.ts): reads go
 * through that connection, in the snapshot's transaction; its owner lets it go.
 */
export function mysqlSide(c: Record<string, unknown>, baseDir: string, o: { snapshot?: PoolConnection } = {}): Side {
  const pool = createMysqlPool(c, baseDir);
  /** A connection to read with, and how to let it go. */
  const reading = async (): Promise<[PoolConnection, () => void]> => {
    if (o.snapshot) return [o.snapshot, () => undefined];
    const conn = await pool.getConnection();
    return [conn, () => conn.release()];
  };
  const quoted = (table: string) => quoteQualified(splitQualified(table), '`');
  const positions = positionSql('mysql', q(POSITIONS));
  /** Whether a table's sync key is one of its unique keys (then one INSERT … ON DUPLICATE KEY UPDATE per batch). */
  const uniqueKeys = new Map<string, boolean>();
  let made: Promise<unknown> | undefined;
  const ensurePositions = async () => {
    made ??= pool.query(positions.create).catch((e: unknown) => {
      made = undefined;
      throw mysqlError(e, `creating ${POSITIONS}`);
    });
    await made;
  };
  return {
    type: 'mysql',
    async columns(table) {
      const [conn, release] = await reading();
      try {
        const [rows] = await conn.query(`SHOW COLUMNS FROM ${quoted(table)}`);
        return (rows as { Field: string; Type: string }[]).map((r) => ({ name: r.Field, text: TEXT_TYPES.test(r.Type), type: r.Type.toLowerCase() }));
      } catch (e) {
        if ((e as { errno?: number }).errno === 1146) return [];
        throw mysqlError(e, `reading the columns of ${table}`);
      } finally {
        release();
      }
    },
    async *scan(table, columns, key) {
      const [conn, release] = await reading();
      try {
        const order = key.map((k) => (k.text ? `CONVERT(${q(k.name)} USING utf8mb4) COLLATE utf8mb4_bin` : q(k.name))).join(', ');
        // The promise wrapper has no streaming query; its underlying callback connection does.
        const core = conn.connection as unknown as import('mysql2').Connection;
        const query = core.query({ sql: `SELECT ${columns.map((col) => q(col.name)).join(', ')} FROM ${quoted(table)} ORDER BY ${order}`, rowsAsArray: true });
        let page: unknown[][] = [];
        for await (const row of query.stream({ highWaterMark: PAGE }) as AsyncIterable<unknown[]>) {
          page.push(row);
          if (page.length >= PAGE) {
            yield page;
            page = [];
          }
        }
        if (page.length) yield page;
      } catch (e) {
        throw mysqlError(e, `reading ${table}`);
      } finally {
        release();
      }
    },
    async transaction(mark) {
      const conn = await pool.getConnection();
      const run = async (sql: string, values: unknown[] = [], what = 'writing') => {
        try {
          const [r] = await conn.query(sql, values);
          return r as unknown[];
        } catch (e) {
          throw mysqlError(e, what);
        }
      };
      return openTransaction({ run, release: () => conn.release(), begin: 'START TRANSACTION', positions, ensurePositions, table: async (table, columns, key) => {
        const T = quoted(table);
        const write = (sql: string, values: unknown[] = []) => run(sql, values, `writing ${table}`);
        const cols = columns.map((col) => q(col.name));
        const keys = key.map((k) => q(k.name));
        const rest = cols.slice(key.length);
        const tuple = (n: number) => `(${Array.from({ length: n }, () => '?').join(', ')})`;
        const keyIn = (n: number) => `(${keys.join(', ')}) IN (${Array.from({ length: n }, () => tuple(keys.length)).join(', ')})`;
        const wanted = key.map((k) => k.name.toLowerCase()).sort().join(',');
        // Asked once per table and key for the side's life: a stream opens a transaction per batch.
        let unique = uniqueKeys.get(`${T}|${wanted}`);
        if (unique === undefined) {
          const index = await write(`SHOW INDEX FROM ${T}`) as { Key_name: string; Column_name: string; Non_unique: number }[];
          const byIndex = new Map<string, string[]>();
          for (const r of index) if (Number(r.Non_unique) === 0) byIndex.set(r.Key_name, [...(byIndex.get(r.Key_name) ?? []), r.Column_name.toLowerCase()]);
          unique = [...byIndex.values()].some((cs) => [...cs].sort().join(',') === wanted);
          uniqueKeys.set(`${T}|${wanted}`, unique);
        }
        return {
          async upsert(batch) {
            if (unique) {
              const on = rest.length ? `ON DUPLICATE KEY UPDATE ${rest.map((col) => `${col} = VALUES(${col})`).join(', ')}` : `ON DUPLICATE KEY UPDATE ${keys[0]} = ${keys[0]}`;
              await write(`INSERT INTO ${T} (${cols.join(', ')}) VALUES ${batch.map(() => tuple(cols.length)).join(', ')} ${on}`, batch.flat());
              return;
            }
            const found = new Set((await write(`SELECT ${keys.join(', ')} FROM ${T} WHERE ${keyIn(batch.length)}`, batch.flatMap((r) => r.slice(0, key.length))) as Record<string, unknown>[])
              .map((r) => JSON.stringify(key.map((k) => String(r[k.name])))));
            for (const row of batch) {
              if (found.has(JSON.stringify(row.slice(0, key.length).map(String)))) {
                if (rest.length) await write(`UPDATE ${T} SET ${rest.map((col) => `${col} = ?`).join(', ')} WHERE ${keys.map((k) => `${k} = ?`).join(' AND ')}`, [...row.slice(key.length), ...row.slice(0, key.length)]);
              } else await write(`INSERT INTO ${T} (${cols.join(', ')}) VALUES ${tuple(cols.length)}`, row);
            }
          },
          async remove(batch) {
            await write(`DELETE FROM ${T} WHERE ${keyIn(batch.length)}`, batch.flat());
          },
          async read(keys) {
            try {
              const [rows] = await conn.query({ sql: `SELECT ${cols.join(', ')} FROM ${T} WHERE ${keyIn(keys.length)} FOR UPDATE`, rowsAsArray: true }, keys.flat());
              return rows as unknown[][];
            } catch (e) {
              throw mysqlError(e, `reading ${table}`);
            }
          },
        };
      } }, mark);
    },
    async position(mark) {
      await ensurePositions();
      const [rows] = await pool.query(positions.read, [mark.sync, mark.stream]);
      return (rows as { position: string | null }[])[0]?.position ?? undefined;
    },
    close: () => pool.end(),
  };
}
