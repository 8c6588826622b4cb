// A PostgreSQL side: every value read as its text output (one parser for all, no Date losing microseconds), rows in key
// order through a cursor, and changes written a batch per statement: the batch goes as one JSON document that
// json_populate_recordset turns into the table's own row type, so each value is read by its column's input function.
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { createPool, pgError } from '../../connectors/postgres/postgres-connection.js';
import { schemaAndName } from '../../connectors/sql/qualified-name.js';
import { quoteIdent, quoteQualified } from '../../connectors/sql/quote.js';
import { positionSql } from '../positions.js';
import { rangeReader, type Statement } from '../range-sql.js';
import { openTransaction, PAGE, POSITIONS, TEXT_TYPES, type HashShape, type Side, type SideColumn } from '../side.js';

/** A key column as keys are ordered to be walked together: text by its bytes, as values.ts compares keys. */
const byteOrder = (col: SideColumn): string => `${quoteIdent(col.name)}${col.text ? ' COLLATE "C"' : ''}`;

const RAW_TEXT = { getTypeParser: () => (v: string) => v };
const JSON_TYPES = /^jsonb?$/;

/** A value as the JSON document carries it to its column: JSON columns get the document, bytes `\x…` text. */
function jsonValue(v: unknown, c: SideColumn): unknown {
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string' && JSON_TYPES.test(c.type)) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

/**
 * A column as a row hash spells it (the byte length, `:`, the text; `N` for NULL): the text output the driver gives,
 * but numerics without trailing zeros, booleans as 1/0 and timestamps in UTC to the millisecond (ISO 8601), which
 * is what values.ts makes of them — so an equal value on another engine spells the same. Timestamps out of ISO's
 * four-digit years (and infinity) keep their text output.
 */
function spelled(c: SideColumn): string {
  const x = quoteIdent(c.name);
  const sized = (s: string) => `octet_length(${s}) || ':' || ${s}`;
  if (c.type === 'boolean') return `CASE WHEN ${x} THEN '1:1' WHEN NOT ${x} THEN '1:0' ELSE 'N' END`;
  if (/^(numeric|decimal)\b/.test(c.type)) return `coalesce(${sized(`trim_scale(${x})::text`)}, 'N')`;
  if (/^timestamp\b/.test(c.type)) {
    const utc = c.type.includes('with time zone') ? `${x} AT TIME ZONE 'UTC'` : x;
    return `CASE WHEN ${x} IS NULL THEN 'N' WHEN ${x} >= '0001-01-02' AND ${x} < '9999-12-31'
      THEN '24:' || to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ELSE ${sized(textOutput(c))} END`;
  }
  return `coalesce(${sized(textOutput(c))}, 'N')`;
}

/** A value's text output, as the driver gets it: a cast to text would drop a character(n)'s padding, concat keeps it. */
const textOutput = (c: SideColumn): string => (/^character(\(|$)/.test(c.type) ? `concat(${quoteIdent(c.name)})` : `${quoteIdent(c.name)}::text`);

/**
 * Types whose equality (and so their hash, hash_record_extended's) tells values values.ts calls the same: the same
 * bytes, the same instant, the same number (1.0 = 1.00, as trimmed), the same jsonb document. Not floats (-0 = 0,
 * spelled apart), intervals (1 day = 24 hours) or case-blind text: those are hashed as their text.
 */
const HASHED_AS_VALUES = /^(smallint|integer|bigint|numeric|boolean|bytea|date|uuid|jsonb|timestamp(\(\d\))? with(out)? time zone)(\(|$)/;

/** A column in the record hashed against another PostgreSQL: its value, or its text (text in byte order: "C"). */
function recordField(c: SideColumn): string {
  const x = quoteIdent(c.name);
  if (HASHED_AS_VALUES.test(c.type)) return x;
  return `${/^(text|character varying)/.test(c.type) ? x : textOutput(c)} COLLATE "C"`;
}

/**
 * `sql` with its parameters written in as literals (E'…', whatever standard_conforming_strings says), for statements
 * sent several at once; a `$1` inside a quoted identifier or string is left alone.
 */
/** What a deferring transaction holds back at most (TransactionOptions.defer), in characters of SQL. */
const DEFER_BYTES = 256 * 1024;

const inline = (sql: string, values: unknown[]): string =>
  sql.replace(/"(?:[^"]|"")*"|'(?:[^']|'')*'|\$(\d+)/g, (whole, i: string | undefined) =>
    (i === undefined ? whole : literal(values[Number(i) - 1])));
const literal = (v: unknown): string => (v === null || v === undefined ? 'NULL' : `E'${String(v).replaceAll('\\', '\\\\').replaceAll("'", "''")}'`);

/**
 * `snapshot`: the side as an exported snapshot sees it (a CDC slot's starting point, ../cdc/pg-changes.ts): reads go
 * through one connection whose transaction imports it, kept until the side is closed.
 */
export function postgresSide(c: Record<string, unknown>, baseDir: string, o: { snapshot?: string } = {}): Side {
  const pool = createPool(c, baseDir, RAW_TEXT);
  let seeing: Promise<pg.PoolClient> | undefined;
  /** A connection to read with, and how to let it go. */
  const reading = async (): Promise<[pg.PoolClient, () => void]> => {
    if (!o.snapshot) {
      const client = await pool.connect();
      return [client, () => client.release()];
    }
    seeing ??= pool.connect().then(async (client) => {
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${o.snapshot!.replaceAll("'", "''")}'`);
      return client;
    });
    return [await seeing, () => undefined];
  };
  const schema = String(c.schema ?? 'public');
  const name = (table: string) => schemaAndName(table, schema).join('.');
  const quoted = (table: string) => quoteQualified(schemaAndName(table, schema));
  const positions = positionSql('postgres', quoteQualified([schema, POSITIONS]));
  let made: Promise<unknown> | undefined;
  const ensurePositions = async () => {
    made ??= pool.query(positions.create).catch((e: unknown) => {
      made = undefined;
      throw pgError(e, `creating ${schema}.${POSITIONS}`);
    });
    await made;
  };
  return {
    type: 'postgres',
    async columns(table) {
      const [client, release] = await reading();
      try {
        const r = await client.query<{ name: string; type: string }>(
          `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
           WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [quoted(table)]);
        return r.rows.map((row) => ({ name: row.name, text: TEXT_TYPES.test(row.type), type: row.type.toLowerCase() }));
      } catch (e) {
        throw pgError(e, `reading the columns of ${name(table)}`);
      } finally {
        release();
      }
    },
    async *scan(table, columns, key) {
      const [client, release] = await reading();
      try {
        const order = key.map(byteOrder).join(', ');
        const cursor = client.query(new Cursor(`SELECT ${columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${quoted(table)} ORDER BY ${order}`,
          [], { rowMode: 'array' }));
        while (true) {
          const rows = (await cursor.read(PAGE)) as unknown[][];
          if (rows.length === 0) break;
          yield rows;
        }
        await cursor.close();
      } catch (e) {
        throw pgError(e, `reading ${name(table)}`);
      } finally {
        release();
      }
    },
    async transaction(mark, o = {}) {
      const client = await pool.connect();
      /** Deferred statements: sent before the next one, in one simple query (TransactionOptions.defer). */
      const waiting: string[] = [];
      const run = async (sql: string, values: unknown[] = []) => {
        try {
          // Rolling back: what waits is dropped, not run (an error in it would keep the ROLLBACK behind it from running).
          if (sql === 'ROLLBACK') waiting.length = 0;
          if (!waiting.length) return await client.query(sql, values);
          return await client.query([...waiting.splice(0), values.length ? inline(sql, values) : sql].join(';\n'));
        } catch (e) {
          throw pgError(e, 'writing');
        }
      };
      const later = o.defer ? (sql: string) => void waiting.push(sql) : undefined;
      return openTransaction({ run, release: () => client.release(), begin: 'BEGIN', positions, ensurePositions, inline, ...(later ? { later } : {}), table: async (table, columns, key) => {
        const T = quoted(table);
        const cols = columns.map((col) => quoteIdent(col.name));
        const keys = key.map((k) => quoteIdent(k.name));
        const rest = cols.slice(key.length);
        const match = (l: string, r: string) => keys.map((k) => `${l}.${k} = ${r}.${k}`).join(' AND ');
        const rows = `json_populate_recordset(NULL::${T}, $1::json)`;
        // One statement: the rows whose key is there are updated (their keys returned), the others inserted.
        const upsert = `WITH v AS (SELECT ${cols.join(', ')} FROM ${rows}),
          u AS (${rest.length
    ? `UPDATE ${T} AS t SET ${rest.map((col) => `${col} = v.${col}`).join(', ')} FROM v WHERE ${match('t', 'v')} RETURNING ${keys.map((k) => `t.${k}`).join(', ')}`
    : `SELECT ${keys.map((k) => `t.${k}`).join(', ')} FROM ${T} AS t JOIN v ON ${match('t', 'v')}`})
          INSERT INTO ${T} (${cols.join(', ')}) SELECT ${cols.map((col) => `v.${col}`).join(', ')} FROM v WHERE NOT EXISTS (SELECT 1 FROM u WHERE ${match('u', 'v')})`;
        const remove = `DELETE FROM ${T} AS t USING ${rows} AS v WHERE ${match('t', 'v')}`;
        const document = (rowsOf: unknown[][], of: SideColumn[]) =>
          JSON.stringify(rowsOf.map((row) => Object.fromEntries(of.map((col, i) => [col.name, jsonValue(row[i], col)]))));
        const write = async (sql: string, doc: string) => {
          // Deferred while small (a stream's transaction of a few rows: one round trip); a large one's statements
          // go as they come, so that memory does not hold them all until the commit.
          if (later && waiting.reduce((n, w) => n + w.length, 0) < DEFER_BYTES) {
            later(inline(sql, [doc]));
            return;
          }
          try {
            if (waiting.length) await client.query(waiting.splice(0).join(';\n'));
            await client.query(sql, [doc]);
          } catch (e) {
            throw pgError(e, `writing ${name(table)}`);
          }
        };
        const read = `SELECT ${cols.map((col) => `t.${col}`).join(', ')} FROM ${T} AS t JOIN ${rows} AS v ON ${match('t', 'v')} FOR UPDATE OF t`;
        return {
          upsert: (batch) => write(upsert, document(batch, columns)),
          remove: (batch) => write(remove, document(batch, key)),
          async read(keys) {
            try {
              if (waiting.length) await client.query(waiting.splice(0).join(';\n'));
              return (await client.query({ text: read, values: [document(keys, key)], rowMode: 'array' })).rows as unknown[][];
            } catch (e) {
              throw pgError(e, `reading ${name(table)}`);
            }
          },
        };
      } }, mark);
    },
    async position(mark) {
      await ensurePositions();
      const r = await pool.query<{ position: string | null }>(positions.read, [mark.sync, mark.stream]);
      return r.rows[0]?.position ?? undefined;
    },
    ranges(table, shape: HashShape) {
      // Against PostgreSQL, a row is hashed by the server's own 64-bit hashes of its values (hash_record_extended, from
      // PostgreSQL 14; before it, of its record's text output): a fraction of md5's time, and no spelling to make.
      const native = shape.peer === 'postgres';
      const fields = shape.hashed.map(recordField).join(', ');
      const hashOf = (values: boolean) => (!native ? `substr(md5(${shape.hashed.map(spelled).join(' || ')}), 18)`
        : values ? `hash_record_extended(ROW(${fields}), 0)` : `hashtextextended(ROW(${shape.hashed.map((col) => quoteIdent(col.name)).join(', ')})::text, 0)`);
      const key = quoteIdent(shape.key.name);
      const all = async (st: Statement) => {
        const [client, release] = await reading();
        try {
          // A level's sums are up to 65,536 groups: in 4MB (the default work_mem) their hash table spills to disk.
          const grouped = st.sql.includes(' GROUP BY ');
          if (grouped) await client.query(`SET work_mem = '64MB'`);
          const rows = (await client.query({ text: st.sql, values: st.values, rowMode: 'array' })).rows as unknown[][];
          if (grouped) await client.query('RESET work_mem');
          return rows;
        } catch (e) {
          throw pgError(e, `reading ${name(table)}`);
        } finally {
          release();
        }
      };
      async function* stream(st: Statement) {
        const [client, release] = await reading();
        const cursor = client.query(new Cursor(st.sql, st.values, { rowMode: 'array' }));
        try {
          while (true) {
            const rows = (await cursor.read(PAGE)) as unknown[][];
            if (rows.length === 0) break;
            yield rows;
          }
        } catch (e) {
          throw pgError(e, `reading ${name(table)}`);
        } finally {
          await cursor.close().catch(() => undefined);
          release();
        }
      }
      const reader = (values: boolean) => rangeReader({
        table: quoted(table),
        key: byteOrder(shape.key),
        keyColumn: key,
        keyColumns: [shape.key, ...shape.rest].map((col) => quoteIdent(col.name)),
        order: [shape.key, ...shape.rest].map(byteOrder).join(', '),
        carried: shape.carried.map((col) => quoteIdent(col.name)),
        hash: native ? `${hashOf(values)}::text` : hashOf(values),
        sum: (h) => (native ? `sum(${hashOf(values)})::text` : `sum(('x' || ${h})::bit(60)::bigint)::text`),
        count: 'count(*)',
        placeholder: (n) => `$${n}`,
        integer: (ph) => `${ph}::bigint`,
        div: (x, y) => `${x} / ${y}`,
      }, { all, stream }, quoteIdent);
      if (!native) return reader(false);
      const ready = all({ sql: `SELECT current_setting('server_version_num')::int >= 140000`, values: [] }).then(([[v]]) => reader(v === 't' || v === true));
      // Its failure surfaces where it is awaited.
      ready.catch(() => undefined);
      return {
        extent: async (integer) => (await ready).extent(integer),
        sums: async (b) => (await ready).sums(b),
        async *hashes(b, ids) {
          yield* (await ready).hashes(b, ids);
        },
        sample: async (lo, hi, every, most) => (await ready).sample(lo, hi, every, most),
        rows: async (columns, keys) => (await ready).rows(columns, keys),
      };
    },
    async close() {
      if (seeing) (await seeing).release();
      await pool.end();
    },
  };
}
