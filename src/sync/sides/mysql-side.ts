// A MySQL/MariaDB side: rows streamed in key order (text keys by utf8mb4_bin), and changes written a batch per
// statement — `INSERT … ON DUPLICATE KEY UPDATE` when the key is the table's primary or a unique key (MySQL matches
// rows by a unique index only), else row by row: is the key there, then UPDATE or INSERT.
import type { PoolConnection } from 'mysql2/promise';
import { createMysqlPool, mysqlError } from '../../connectors/mysql/mysql-connection.js';
import { q } from '../../connectors/mysql/mysql-tables.js';
import { splitQualified } from '../../connectors/sql/qualified-name.js';
import { quoteQualified } from '../../connectors/sql/quote.js';
import { positionSql } from '../positions.js';
import { rangeReader, type Statement } from '../range-sql.js';
import { openTransaction, PAGE, POSITIONS, TEXT_TYPES, type HashShape, type Side, type SideColumn } from '../side.js';

/** A key column as keys are ordered to be walked together: text by its bytes, as values.ts compares keys. */
const byteOrder = (col: SideColumn): string => (col.text ? `CONVERT(${q(col.name)} USING utf8mb4) COLLATE utf8mb4_bin` : q(col.name));

/**
 * Types whose values mysql2 gives as numbers parsed from a float's text (their -0 and digits are not the text),
 * parsed JSON or geometry objects, or bit fields as bytes: no text spells them as values.ts compares them, so a row
 * hash leaves them out and they are read beside it (HashShape.carried).
 */
export const MYSQL_UNSPELLED = /^(float|double|real|json|bit|geometry|point|linestring|polygon|multi|geometrycollection)\b/;

/**
 * A column as a row hash spells it (the byte length, `:`, the text; `N` for NULL): the text mysql2 gives (dates are
 * strings, decimals and bigints too, other integers numbers spelled the same), but decimals without trailing zeros,
 * datetimes in ISO 8601 to the millisecond and bytes as `\x` and hex, which is what values.ts makes of them.
 */
function spelled(c: SideColumn): string {
  const x = q(c.name);
  const sized = (s: string) => `CONCAT(LENGTH(${s}), ':', ${s})`;
  if (/^(tiny|medium|long)?blob\b|^(var)?binary\b/.test(c.type)) return `COALESCE(CONCAT(2 + 2 * LENGTH(${x}), ':', CHAR(92), 'x', LOWER(HEX(${x}))), 'N')`;
  if (/^(decimal|numeric)\b/.test(c.type)) {
    // A zero by its value (-0.00 would trim to -0); the others' text trimmed only where the type has a fraction:
    // cheaper than testing the text for both (measured: a million rows' sums in 2.3 s against 3.0 s).
    const t = `CAST(${x} AS CHAR)`;
    const scale = /\(\d+\s*,\s*(\d+)\)/.exec(c.type)?.[1];
    const trimmed = scale === undefined || scale === '0' ? t : `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${t}))`;
    return `COALESCE(${sized(`CASE WHEN ${x} = 0 THEN '0' ELSE ${trimmed} END`)}, 'N')`;
  }
  if (/^(datetime|timestamp)\b/.test(c.type)) {
    return `CASE WHEN ${x} IS NULL THEN 'N' WHEN ${x} >= '0001-01-02' AND MONTH(${x}) > 0 AND DAYOFMONTH(${x}) > 0
      THEN CONCAT('24:', LEFT(DATE_FORMAT(${x}, '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z') ELSE ${sized(`CAST(${x} AS CHAR)`)} END`;
  }
  return `COALESCE(${sized(`CAST(${x} AS CHAR)`)}, 'N')`;
}

/**
 * A query's rows in pages, from the connection's row events: the socket is paused while a page waits to be taken
 * (bounded memory), and no promise is made per row — a (key, hash) read is millions of small rows, and a row-by-row
 * stream spent more time in its own machinery and the collector than in them.
 */
async function* pages(core: import('mysql2').Connection, st: Statement): AsyncGenerator<unknown[][]> {
  let page: unknown[][] = [];
  let done = false;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const query = core.query({ sql: st.sql, values: st.values, rowsAsArray: true });
  query.on('result', (row) => {
    page.push(row as unknown as unknown[]);
    if (page.length === PAGE) {
      core.pause();
      poke();
    }
  });
  query.on('error', (e) => {
    failed = e;
    poke();
  });
  query.on('end', () => {
    done = true;
    poke();
  });
  while (true) {
    if (failed) throw failed;
    if (page.length >= PAGE || (done && page.length)) {
      const out = page;
      page = [];
      if (!done) core.resume();
      yield out;
      continue;
    }
    if (done) return;
    await new Promise<void>((r) => (wake = r));
  }
}

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
        const order = key.map(byteOrder).join(', ');
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
    ranges(table, shape: HashShape) {
      const all = async (st: Statement) => {
        const [conn, release] = await reading();
        try {
          const [rows] = await conn.query({ sql: st.sql, values: st.values, rowsAsArray: true });
          return rows as unknown[][];
        } catch (e) {
          throw mysqlError(e, `reading ${table}`);
        } finally {
          release();
        }
      };
      async function* stream(st: Statement) {
        const [conn, release] = await reading();
        try {
          yield* pages(conn.connection as unknown as import('mysql2').Connection, st);
        } catch (e) {
          throw mysqlError(e, `reading ${table}`);
        } finally {
          release();
        }
      }
      const key = q(shape.key.name);
      return rangeReader({
        table: quoted(table),
        key: byteOrder(shape.key),
        keyColumn: key,
        keyColumns: [shape.key, ...shape.rest].map((col) => q(col.name)),
        order: [shape.key, ...shape.rest].map(byteOrder).join(', '),
        carried: shape.carried.map((col) => q(col.name)),
        hash: `SUBSTRING(MD5(CONCAT(${shape.hashed.map(spelled).join(', ')})), 18)`,
        sum: (h) => `CAST(SUM(CAST(CONV(${h}, 16, 10) AS UNSIGNED)) AS CHAR)`,
        count: 'COUNT(*)',
        placeholder: () => '?',
        // mysql2 writes a bigint as its digits: an exact literal, unsigned ones past 2^63 too (CAST AS SIGNED would wrap).
        integer: (ph) => ph,
        div: (x, y) => `${x} DIV ${y}`,
      }, { all, stream }, q);
    },
    close: () => pool.end(),
  };
}
