// The state table: one row per committed checkpoint, inserted in the same transaction as the rows it describes.
// Append-only on purpose: concurrent streams only ever INSERT (never conflict in DuckDB), where updating a shared
// row would abort one of two concurrent transactions.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { StreamState } from '../../core/types.js';
import { quoteQualified } from '../sql/quote.js';

export const STATE_TABLE = '_sluice_state';
/** Versions kept per stream besides the newest: enough to look back, small enough to stay bounded. */
const KEEP_VERSIONS = 10;

const stateTable = (schema: string): string => quoteQualified([schema, STATE_TABLE]);

export async function createStateTable(conn: DuckDBConnection, schema: string): Promise<void> {
  await conn.run(`CREATE TABLE IF NOT EXISTS ${stateTable(schema)} (
    pipeline VARCHAR NOT NULL, stream VARCHAR NOT NULL, version BIGINT NOT NULL, state JSON NOT NULL,
    run_id VARCHAR, committed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)`);
}

export async function readState(
  conn: DuckDBConnection, schema: string, pipeline: string, stream: string,
): Promise<StreamState | undefined> {
  const reader = await conn.runAndReadAll(
    `SELECT state::VARCHAR FROM ${stateTable(schema)} WHERE pipeline = $1 AND stream = $2 ORDER BY version DESC LIMIT 1`,
    [pipeline, stream],
  );
  const rows = reader.getRows();
  return rows.length ? (JSON.parse(String(rows[0][0])) as StreamState) : undefined;
}

/** Inside the caller's open transaction: the state commits or rolls back with the rows. */
export async function insertState(
  conn: DuckDBConnection, schema: string, pipeline: string, stream: string, runId: string, state: StreamState,
): Promise<void> {
  const table = stateTable(schema);
  const json = JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const reader = await conn.runAndReadAll(
    `INSERT INTO ${table} (pipeline, stream, version, state, run_id)
     SELECT $1, $2, COALESCE(max(version), 0) + 1, $3::JSON, $4 FROM ${table} WHERE pipeline = $1 AND stream = $2
     RETURNING version`,
    [pipeline, stream, json, runId],
  );
  const version = reader.getRows()[0][0] as bigint;
  await conn.run(
    `DELETE FROM ${table} WHERE pipeline = $1 AND stream = $2 AND version < $3`,
    [pipeline, stream, version - BigInt(KEEP_VERSIONS)],
  );
}

export async function deleteState(
  conn: DuckDBConnection, schema: string, pipeline: string, stream?: string,
): Promise<void> {
  if (stream === undefined) {
    await conn.run(`DELETE FROM ${stateTable(schema)} WHERE pipeline = $1`, [pipeline]);
  } else {
    await conn.run(`DELETE FROM ${stateTable(schema)} WHERE pipeline = $1 AND stream = $2`, [pipeline, stream]);
  }
}
