// The state table `_sluice_state` in the target schema: one row per committed checkpoint, inserted in the same
// transaction as the rows it describes. Insert-only, like DuckDB's: concurrent streams never contend for one row.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { StreamState } from '../../core/types.js';
import { quoteQualified } from '../sql/quote.js';
import { FOLDED, slicePrefix } from '../../core/slice-key.js';

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

/**
 * The application_name a load's transactions carry (SET LOCAL), so a worker taking its task over can find the session
 * of a stalled one (claimState). Opaque and short: pipeline, stream and run id may be long, application_name is 63 bytes.
 */
export const loadName = (pipeline: string, stream: string, runId: string): string =>
  `sluice load ${createHash('sha256').update(`${pipeline}\u0000${stream}\u0000${runId}`).digest('hex').slice(0, 24)}`;

/** The newest version of a stream's state, 0 when it has none: a load counts its commits on from it. */
export async function maxStateVersion(db: Queryable, schema: string, pipeline: string, stream: string): Promise<number> {
  const r = await db.query<{ v: string | null }>(`SELECT max(version)::text AS v FROM ${stateTable(schema)} WHERE pipeline = $1 AND stream = $2`, [pipeline, stream]);
  return Number(r.rows[0]?.v ?? 0);
}

/**
 * Inside the caller's open transaction: the state commits or rolls back with the rows. `version` is the one after the
 * newest the load knew of: when another process committed the stream meanwhile (a worker that took this load's task
 * over, see claimState), the version is taken and the whole transaction fails — the fence that keeps a stalled
 * worker's late commit out.
 */
export async function insertState(
  db: Queryable, schema: string, pipeline: string, stream: string, runId: string, state: StreamState, version: number,
): Promise<void> {
  const table = stateTable(schema);
  const json = JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  try {
    await db.query(`INSERT INTO ${table} (pipeline, stream, version, state, run_id) VALUES ($1, $2, $3, $4::jsonb, $5)`, [pipeline, stream, version, json, runId]);
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new Error(`another process committed this stream since this load began (its task was taken over): this commit is rolled back`);
    throw e;
  }
  await db.query(`DELETE FROM ${table} WHERE pipeline = $1 AND stream = $2 AND version < $3`, [pipeline, stream, version - KEEP_VERSIONS]);
}

/**
 * A worker taking a task over claims the stream: the newest state again, as the next version, committed at once.
 * A load begun before (by the worker that stalled) then finds its next version taken and can commit nothing more.
 */
export async function claimState(db: Queryable, schema: string, pipeline: string, stream: string, runId: string): Promise<void> {
  const table = stateTable(schema);
  // A worker stopped in the middle of a transaction of this task (SIGSTOP, a frozen VM) holds its locks — maybe the
  // state row of its next version, which the claim would wait on for as long as it sleeps: its session goes first
  // (what it did not commit rolls back). Its transactions carry the load's name (loadName), and only this task's do.
  await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [loadName(pipeline, stream, runId)])
    .catch(() => undefined);
  await db.query(`INSERT INTO ${table} (pipeline, stream, version, state, run_id)
    SELECT pipeline, stream, version + 1, state, $3 FROM ${table} WHERE pipeline = $1 AND stream = $2 ORDER BY version DESC LIMIT 1`, [pipeline, stream, runId]);
}

/** A stream's state and its slices' (src/engine/slices.ts), or every stream's of the pipeline. */
export async function deleteState(db: Queryable, schema: string, pipeline: string, stream?: string): Promise<void> {
  if (stream === undefined) await db.query(`DELETE FROM ${stateTable(schema)} WHERE pipeline = $1`, [pipeline]);
  else await db.query(`DELETE FROM ${stateTable(schema)} WHERE pipeline = $1 AND (stream = $2 OR starts_with(stream, $3))`, [pipeline, stream, slicePrefix(stream)]);
}

/** The newest state of each slice of a stream, by key. */
export async function sliceStates(db: Queryable, schema: string, pipeline: string, stream: string): Promise<Map<string, StreamState>> {
  const r = await db.query<{ stream: string; state: string }>(
    `SELECT DISTINCT ON (stream) stream, state::text AS state FROM ${stateTable(schema)}
     WHERE pipeline = $1 AND starts_with(stream, $2) ORDER BY stream, version DESC`, [pipeline, slicePrefix(stream)]);
  const out = new Map<string, StreamState>();
  for (const row of r.rows) {
    const state = JSON.parse(row.state) as StreamState;
    if (!state.folded) out.set(row.stream, state);
  }
  return out;
}

/**
 * In one transaction: `state` as the stream's next version, and each slice's (`keys`) replaced by a folded marker as
 * its next version, the only one kept: the fence stays for a task of the slice begun before.
 */
export async function foldSlices(
  client: pg.PoolClient, schema: string, pipeline: string, stream: string, runId: string, state: StreamState, keys: string[],
): Promise<void> {
  const table = stateTable(schema);
  await client.query('BEGIN');
  try {
    await insertState(client, schema, pipeline, stream, runId, state, (await maxStateVersion(client, schema, pipeline, stream)) + 1);
    await client.query(`INSERT INTO ${table} (pipeline, stream, version, state, run_id)
      SELECT pipeline, stream, max(version) + 1, $3::jsonb, $4 FROM ${table} WHERE pipeline = $1 AND stream = ANY($2::text[]) GROUP BY pipeline, stream`,
    [pipeline, keys, JSON.stringify(FOLDED), runId]);
    await client.query(`DELETE FROM ${table} t WHERE pipeline = $1 AND stream = ANY($2::text[])
      AND version < (SELECT max(version) FROM ${table} m WHERE m.pipeline = t.pipeline AND m.stream = t.stream)`, [pipeline, keys]);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
