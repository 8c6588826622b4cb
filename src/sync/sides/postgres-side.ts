// A PostgreSQL side: every value read as its text output (one parser for all, no Date losing microseconds), rows in key
// order through a cursor, and changes written a batch per statement: the batch goes as one JSON document that
// json_populate_recordset turns into the table's own row type, so each value is read by its column's input function.
import Cursor from 'pg-cursor';
import { createPool, pgError } from '../../connectors/postgres/postgres-connection.js';
import { schemaAndName } from '../../connectors/sql/qualified-name.js';
import { quoteIdent, quoteQualified } from '../../connectors/sql/quote.js';
import { ender, PAGE, TEXT_TYPES, type Side, type SideColumn } from '../side.js';

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

export function postgresSide(c: Record<string, unknown>, baseDir: string): Side {
  const pool = createPool(c, baseDir, RAW_TEXT);
  const schema = String(c.schema ?? 'public');
  const name = (table: string) => schemaAndName(table, schema).join('.');
  const quoted = (table: string) => quoteQualified(schemaAndName(table, schema));
  return {
    type: 'postgres',
    async columns(table) {
      try {
        const r = await pool.query<{ name: string; type: string }>(
          `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
           WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [quoted(table)]);
        return r.rows.map((row) => ({ name: row.name, text: TEXT_TYPES.test(row.type), type: row.type.toLowerCase() }));
      } catch (e) {
        throw pgError(e, `reading the columns of ${name(table)}`);
      }
    },
    async *scan(table, columns, key) {
      const client = await pool.connect();
      try {
        const order = key.map((k) => `${quoteIdent(k.name)}${k.text ? ' COLLATE "C"' : ''}`).join(', ');
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
        client.release();
      }
    },
    async writer(table, columns, key) {
      const client = await pool.connect();
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
      const run = async (sql: string, values: unknown[] = []) => {
        try {
          return await client.query(sql, values);
        } catch (e) {
          throw pgError(e, `writing ${name(table)}`);
        }
      };
      const document = (rowsOf: unknown[][], of: SideColumn[]) =>
        JSON.stringify(rowsOf.map((row) => Object.fromEntries(of.map((col, i) => [col.name, jsonValue(row[i], col)]))));
      await run('BEGIN');
      const end = ender(run, () => client.release());
      return {
        async upsert(batch) {
          await run(upsert, [document(batch, columns)]);
        },
        async remove(batch) {
          await run(remove, [document(batch, key)]);
        },
        commit: () => end('COMMIT'),
        rollback: () => end('ROLLBACK'),
      };
    },
    close: () => pool.end(),
  };
}
