// The state table `_sluice_state` in the target schema: one row per committed checkpoint, inserted in the same
// transaction as the rows it describes. Insert-only, like DuckDB's: concurrent streams never contend for one row.
import type pg from 'pg';
import type { StreamState } from '../../core/types.js';
import { quoteQualified } from '../sql/quote.js';

export const STATE_TABLE = '_sluice_state';
/** Versions kept per stream besides the newest. */
const KEEP_VERSIONS = 10;

type Queryable = Pick<pg.ClientBase, 'query'>;

const stateTable = (schema: string): string => quoteQualified([schema, STATE_TABLE]);

export async function createStateTable(db: Queryable, schema: string): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${stateTable(schema)} (
    pipeline text NOT NULL, stream text NOT NULL, version bigint NOT NULL, state jsonb NOT NULL,
    run_id text, committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, stream, version))`);
}

export async function readState(db: Queryable, schema: string, pipeline: string, stream: string): Promise<StreamState | undefined> {
  // state::text, parsed here: the caller's connection may have its own json parser.
  const r = await db.query<{ state: string }>(
    `SELECT state::text AS state FROM ${stateTable(schema)} WHERE pipeline = $1 AND stream = $2 ORDER BY version DESC LIMIT 1`,
    [pipeline, stream],
  );
  return r.rows.length ? (JSON.parse(r.rows[0].state) as StreamState) : undefined;
}

/** Inside the caller's open transaction: the state commits or rolls back with the rows. */
export async function insertState(
  db: Queryable, schema: string, pipeline: string, stream: string, runId: string, state: StreamState,
): Promise<void> {
  const table = stateTable(schema);
  const json = JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  await db.query(
    `WITH v AS (
       INSERT INTO ${table} (pipeline, stream, version, state, run_id)
       SELECT $1, $2, COALESCE(max(version), 0) + 1, $3::jsonb, $4 FROM ${table} WHERE pipeline = $1 AND stream = $2
       RETURNING version)
     DELETE FROM ${table} WHERE pipeline = $1 AND stream = $2 AND version < (SELECT version FROM v) - ${KEEP_VERSIONS}`,
    [pipeline, stream, json, runId],
  );
}

export async function deleteState(db: Queryable, schema: string, pipeline: string, stream?: string): Promise<void> {
  if (stream === undefined) await db.query(`DELETE FROM ${stateTable(schema)} WHERE pipeline = $1`, [pipeline]);
  else await db.query(`DELETE FROM ${stateTable(schema)} WHERE pipeline = $1 AND stream = $2`, [pipeline, stream]);
}
