// The `_sluice_state` table shared by the SQL destinations that keep state beside the data: one row per committed
// checkpoint, written in the same transaction as its rows. Versions are append-only per (pipeline, stream) and a
// few older versions are kept to look back. Only statements live here; each connector runs them in its own
// transaction (synchronously for SQLite, so nothing else can interleave on its shared connection).
import type { StreamState } from '../../core/types.js';
import { FOLDED, slicePrefix } from '../../core/slice-key.js';
import { Params, ident } from './sql-dialect.js';
import type { SqlDialect } from './sql-dialect.js';

export const STATE_TABLE = '_sluice_state';
/** Versions kept per stream besides the newest: enough to look back, small enough to stay bounded. */
export const KEEP_STATE_VERSIONS = 10;

/** Column types of the state table in one dialect. */
export interface StateColumnTypes {
  /** Pipeline and stream names (part of the primary key, so MySQL needs a bounded VARCHAR). */
  name: string;
  version: string;
  document: string;
  runId: string;
  /** Type and default of `committed_at`. */
  committedAt: string;
}

export interface Statement {
  sql: string;
  params: unknown[];
}

/** JSON of a state document; bigints (cursor values past 2^53) become strings rather than throwing. */
export const stateJson = (state: StreamState): string =>
  JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

export class StateStatements {
  private readonly table: string;

  /** `qualifier` names the schema/database holding the table; omit it for the connection's default. */
  constructor(private readonly d: SqlDialect, private readonly types: StateColumnTypes, qualifier?: string) {
    this.table = (qualifier === undefined ? '' : `${ident(d, qualifier)}.`) + ident(d, STATE_TABLE);
  }

  create(): string {
    const t = this.types;
    return `CREATE TABLE IF NOT EXISTS ${this.table} (
      pipeline ${t.name} NOT NULL, stream ${t.name} NOT NULL, version ${t.version} NOT NULL,
      state ${t.document} NOT NULL, run_id ${t.runId}, committed_at ${t.committedAt},
      PRIMARY KEY (pipeline, stream, version))`;
  }

  /** Selects one column, `state`, of the newest version (zero or one row). */
  latest(pipeline: string, stream: string): Statement {
    const p = new Params(this.d);
    return {
      sql: `SELECT state FROM ${this.table} WHERE pipeline = ${p.add(pipeline)} AND stream = ${p.add(stream)}
            ORDER BY version DESC LIMIT 1`,
      params: p.values,
    };
  }

  /** The newest version again as the next one (Destination.claimState: a worker taking a task over fences its old holder). */
  claim(pipeline: string, stream: string, runId: string): Statement {
    const p = new Params(this.d);
    return {
      sql: `INSERT INTO ${this.table} (pipeline, stream, version, state, run_id)
            SELECT pipeline, stream, version + 1, state, ${p.add(runId)} FROM ${this.table}
            WHERE pipeline = ${p.add(pipeline)} AND stream = ${p.add(stream)} ORDER BY version DESC LIMIT 1`,
      params: p.values,
    };
  }

  /** Selects one column, `version`: the newest version number or NULL. */
  maxVersion(pipeline: string, stream: string): Statement {
    const p = new Params(this.d);
    return {
      sql: `SELECT max(version) AS version FROM ${this.table} WHERE pipeline = ${p.add(pipeline)} AND stream = ${p.add(stream)}`,
      params: p.values,
    };
  }

  /**
   * Insert version `version` (the caller read the newest version when the load began and counts up: a plain INSERT
   * with explicit values takes no range locks, so concurrent streams never wait on each other here) and prune the
   * versions that fell out of the window.
   */
  insert(pipeline: string, stream: string, version: number, runId: string, state: StreamState): Statement[] {
    const p = new Params(this.d);
    const insert = {
      sql: `INSERT INTO ${this.table} (pipeline, stream, version, state, run_id)
            VALUES (${p.add(pipeline)}, ${p.add(stream)}, ${p.add(version)}, ${p.add(stateJson(state))}, ${p.add(runId)})`,
      params: p.values,
    };
    const q = new Params(this.d);
    const prune = {
      sql: `DELETE FROM ${this.table} WHERE pipeline = ${q.add(pipeline)} AND stream = ${q.add(stream)}
            AND version < ${q.add(version - KEEP_STATE_VERSIONS)}`,
      params: q.values,
    };
    return [insert, prune];
  }

  /** Forget one stream's state (and its slices', src/engine/slices.ts), or every stream's of the pipeline. */
  delete(pipeline: string, stream?: string): Statement {
    const p = new Params(this.d);
    const where = `pipeline = ${p.add(pipeline)}` + (stream === undefined ? '' : ` AND (stream = ${p.add(stream)} OR ${this.slicesOf(p, stream)})`);
    return { sql: `DELETE FROM ${this.table} WHERE ${where}`, params: p.values };
  }

  /** Selects `stream` and `state`: the newest version of each slice of a stream. */
  slices(pipeline: string, stream: string): Statement {
    const p = new Params(this.d);
    return {
      sql: `SELECT s.stream, s.state FROM ${this.table} s WHERE s.pipeline = ${p.add(pipeline)} AND ${this.slicesOf(p, stream, 's.stream')}
            AND s.version = (SELECT max(m.version) FROM ${this.table} m WHERE m.pipeline = s.pipeline AND m.stream = s.stream)`,
      params: p.values,
    };
  }

  /**
   * A slice's state folded (run with the stream's new version, in its transaction): a marker as its next version, and
   * its older versions gone. The marker keeps the fence for a task of the slice begun before.
   */
  foldSlice(pipeline: string, key: string, version: number, runId: string): Statement[] {
    const q = new Params(this.d);
    return [...this.insert(pipeline, key, version, runId, FOLDED).slice(0, 1), {
      sql: `DELETE FROM ${this.table} WHERE pipeline = ${q.add(pipeline)} AND stream = ${q.add(key)} AND version < ${q.add(version)}`,
      params: q.values,
    }];
  }

  /** The condition on a slice key of `stream` (prefix compared by characters, as every dialect's substr counts). */
  private slicesOf(p: Params, stream: string, column = 'stream'): string {
    const prefix = slicePrefix(stream);
    return `substr(${column}, 1, ${p.add([...prefix].length)}) = ${p.add(prefix)}`;
  }
}

/** The state column's value as read back (text, or an object where the driver parses JSON). */
export function parseStateDocument(value: unknown): StreamState | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return JSON.parse(value) as StreamState;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as StreamState;
  return value as StreamState;
}
