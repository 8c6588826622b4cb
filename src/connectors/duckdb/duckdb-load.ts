// One stream's load into DuckDB, on its own connection (streams load concurrently). A transaction is open from
// begin to finish; each commit() ends it with the state row and opens the next.
//
//   append   rows → target, in the open transaction; with `replaceGroups` (child tables) rows → TEMP staging with a
//            sequence, commit = the target's rows of every staged group deleted, the staged rows inserted
//            (../sql/replace-groups.ts) + state, atomically
//   merge    rows → TEMP staging (connection-private); commit = dedupe + delete/insert into target + state, atomically;
//            a key whose last staged row carries the delete marker (`delete_column`) is deleted, not inserted
//   replace  rows → <table>__sluice_replace; finish = drop target + rename staging + state, atomically
//   scd2     rows → TEMP staging; commit = history recorded by ../sql/scd2.ts + state, atomically
//   staged   (dataset gates) rows → <table>__sluice_staged, a real table; only finish touches the target, so a
//            blocked load changes nothing and may leave its staging for inspection
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CommitCounts, IngestCursor, IngestResult, LoadTarget, StreamLoad } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import { type FileHandOff, type Schema, type StreamState, typedColumn } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import { foldedColumn, requireColumn } from '../sql/column-names.js';
import { quoteIdent } from '../sql/quote.js';
import { appendRows, describeTable, duckColumnType, ensureTable, planAppend, qualified } from './duckdb-append.js';
import { duckColumnLimit, normalizeDuckType } from './duckdb-types.js';
import { cursorSql, ingestSelect, type CursorSql, type IngestColumn } from './duckdb-ingest.js';
import { columnLimits, limitRefusal } from '../sql/column-limits.js';
import type { AppendPlan, TableRef, WantedColumn } from './duckdb-append.js';
import { insertState } from './duckdb-state.js';
import { SCD2_COLUMNS, applyScd2 } from '../sql/scd2.js';
import { applyGroupReplace } from '../sql/replace-groups.js';
import { deleteMarkedSql } from '../../core/delete-marker.js';
import type { Refusal } from '../../core/values/refusals.js';

const SEQ_COLUMN = '_sluice_seq';
/**
 * The widest file DuckDB's reader takes: it holds the rows it inserts until they fill row groups, per thread, and a
 * 64-column file of 100k rows ran out of a 244 MB pool (the engine's appender loads it in 64 MB).
 */
const INGEST_MAX_COLUMNS = 32;
/** Where a file read with a cursor waits while its older rows are counted and its newest value found. */
const INGEST_TABLE = 'temp.main."_sluice_ingest"';
const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };
/**
 * Rows a staged load (replace, gated) writes before it makes them durable on its own (a DuckDB row group), checkpoint
 * or not: a blocking step emits its stream with no checkpoint until the last rows, and DuckDB held all the
 * transaction's appended rows in memory (~200 MB more peak RSS in the 1M-record resolve bench).
 */
const STAGED_COMMIT_ROWS = 122_880;

export interface LoadOptions {
  conn: DuckDBConnection;
  /** Database (catalog) name of the warehouse file. */
  catalog: string;
  schema: string;
  target: LoadTarget;
  logger: Logger;
  /** Called once the load has finished or aborted, so the destination stops tracking it. */
  onDone: () => void;
  /**
   * Grow the buffer pool for DuckDB's own parallel file reads (ingest), which hold far more than an appender; the
   * function returned gives it back.
   */
  poolForRead?: () => Promise<() => Promise<void>>;
  /** The table written has this many columns now: the pool is sized by width. */
  widened?: (columns: number) => Promise<void>;
}

export class DuckDBStreamLoad implements StreamLoad {
  private readonly conn: DuckDBConnection;
  private readonly target: LoadTarget;
  private readonly targetRef: TableRef;
  /** Where write() puts rows: the target (append) or a staging table. */
  private readonly writeRef: TableRef;
  private columns: WantedColumn[] = [];
  private plan: AppendPlan | undefined;
  /** The last schema evolved to, and the DuckDB type of each column of the table written, by lower-cased name. */
  private schema: Schema | undefined;
  private tableTypes = new Map<string, string>();
  /** Pool borrowed for reads (ingest): given back when the load ends. */
  private readonly heldPool: (() => Promise<void>)[] = [];
  /** What each target column refuses, as the table declares it (../sql/column-limits.ts), by lower-cased name. */
  private limits = new Map<string, Refusal | undefined>();
  private inTransaction = false;
  private sinceCommit = 0;
  private totalRows = 0;
  private seq = 0n;
  private done = false;

  constructor(private readonly opts: LoadOptions) {
    this.conn = opts.conn;
    this.target = opts.target;
    this.targetRef = { catalog: opts.catalog, schema: opts.schema, table: opts.target.table };
    const d = opts.target.disposition;
    const own = (suffix: string): TableRef => ({ catalog: opts.catalog, schema: opts.schema, table: `${opts.target.table}${suffix}` });
    this.writeRef = d === 'replace' ? own('__sluice_replace')
      : opts.target.staged ? own('__sluice_staged')
        : d === 'append' && opts.target.replaceGroups === undefined ? this.targetRef
          : { catalog: 'temp', schema: 'main', table: `${opts.target.table}__sluice_stage` };
  }

  /** Rows reach the target only in finish(): a replace, or a load whose dataset gates must pass first. */
  private get stagedOnly(): boolean {
    return this.target.disposition === 'replace' || !!this.target.staged;
  }

  async start(): Promise<void> {
    const d = this.target.disposition;
    if ((d === 'merge' || d === 'scd2') && this.target.primaryKey.length === 0) {
      throw new RunError(`stream ${this.target.stream}: write: ${d} needs a primary_key`, this.target.stream);
    }
    if (this.target.replaceGroups !== undefined && d !== 'append') {
      throw new RunError(`stream ${this.target.stream}: replacing groups is an append; got write: ${d}`, this.target.stream);
    }
    if (this.writeRef !== this.targetRef) {
      // A staging table left by a crashed run holds rows nobody committed.
      await this.conn.run(`DROP TABLE IF EXISTS ${qualified(this.writeRef)}`);
    }
    await this.beginTx();
  }

  async evolve(schema: Schema): Promise<void> {
    this.schema = schema;
    this.columns = schema.columns.map((c) => typedColumn(c, c.target ?? c.name));
    if (this.target.disposition === 'scd2') {
      const clash = this.columns.find((c) => (SCD2_COLUMNS as readonly string[]).includes(c.name.toLowerCase()));
      if (clash) throw new RunError(`stream ${this.target.stream}: column "${clash.name}" is reserved by write: scd2 (${SCD2_COLUMNS.join(', ')}); rename it`, this.target.stream);
    }
    // Checked before any row is written, as the other SQL destinations do.
    if (this.target.replaceGroups !== undefined) this.columnName(this.target.replaceGroups, 'group column');
    if (!this.stagedOnly && this.writeRef !== this.targetRef) await this.ensureTarget();
    // DuckDB refuses appends after ALTER TABLE on a table holding more than a row group of rows this transaction
    // appended ("Row group prev allocated size is larger than currently allocated size"): a stream whose columns
    // arrive late (rows a blocking step emits by the batch) met it.
    if (this.stagedOnly && this.sinceCommit > 0 && this.inTransaction) await this.commitStaged();
    const extra = this.sequenced ? [{ name: SEQ_COLUMN, dataType: 'BIGINT' }] : [];
    const tableColumns = await ensureTable(this.conn, this.writeRef, this.columns, extra);
    await this.opts.widened?.(tableColumns.length);
    this.tableTypes = new Map(tableColumns.map((c) => [c.name.toLowerCase(), normalizeDuckType(c.dataType)]));
    this.plan = planAppend(this.writeRef, tableColumns, this.columns, this.sequenced ? SEQ_COLUMN : undefined);
    // What rows land in limits them: the table written, and the target they move into (not a replaced one, nor,
    // before finish, a staged load's).
    const target = this.writeRef === this.targetRef || this.stagedOnly || this.target.disposition === 'replace'
      ? [] : await describeTable(this.conn, this.targetRef);
    this.limits = columnLimits([tableColumns, target].map((cols) => cols.map((c) => ({
      name: c.name.toLowerCase(), refuse: limitRefusal(`DuckDB's ${c.dataType}`, duckColumnLimit(c.dataType)),
    }))));
  }

  refuses(column: string): Refusal | undefined {
    return this.limits.get(column.toLowerCase());
  }

  async write(rows: unknown[][]): Promise<void> {
    if (!this.plan) throw new RunError(`stream ${this.target.stream}: write() before evolve()`, this.target.stream);
    if (rows.length === 0) return;
    this.seq = await appendRows(this.conn, this.plan, rows, this.seq);
    this.sinceCommit += rows.length;
    this.totalRows += rows.length;
    if (this.stagedOnly && this.sinceCommit >= STAGED_COMMIT_ROWS) await this.commitStaged();
  }

  /**
   * Files go straight into the table write() fills where rows need nothing between reading and that table but their
   * keys: a plain append, a replace, a merge. A parallel read does not keep the file's order, which only matters where
   * a key repeats (the last row wins): a keyed file whose keys repeat is declined. scd2, staged (gated) loads and
   * group replacement stay the engine's.
   */
  ingests(format: string): boolean {
    const d = this.target.disposition;
    return (format === 'csv' || format === 'parquet') && !this.target.staged && this.target.replaceGroups === undefined
      && (d === 'append' || d === 'replace' || d === 'merge');
  }

  async ingest(file: FileHandOff, schema: Schema, cursor?: IngestCursor): Promise<IngestResult | undefined> {
    if (!this.plan || this.sinceCommit > 0 || !this.ingests(file.format)) return undefined;
    const declined = (why: string): undefined => {
      this.opts.logger.debug({ stream: this.target.stream, file: file.path, why }, 'DuckDB does not read the file as the engine would; the engine reads it');
      return undefined;
    };
    if (file.columns.length > INGEST_MAX_COLUMNS) return declined(`${file.columns.length} columns: wider than DuckDB's reader fits in the pool`);
    const byName = new Map(schema.columns.map((c) => [c.name, c]));
    const columns: IngestColumn[] = [];
    for (const [at, name] of file.columns.entries()) {
      const column = byName.get(name);
      if (!column) return declined(`column ${name} is not in the schema`);
      const target = column.target ?? column.name;
      // A table made otherwise (an existing narrower or wider column) casts and refuses as only the engine checks.
      const want = duckColumnType(typedColumn(column, target));
      if (this.tableTypes.get(target.toLowerCase()) !== normalizeDuckType(want)) return declined(`column ${target} is not ${want} in the table`);
      columns.push({ at, column, target });
    }
    // An append keeps every row, key or not.
    const keys = this.sequenced ? this.target.primaryKey.map((k) => foldedColumn(this.columns, k) ?? k) : [];
    const folded = new Set(keys.map((k) => k.toLowerCase()));
    if (keys.some((k) => !columns.some((c) => c.target.toLowerCase() === k.toLowerCase()))) return declined('a key column is not in the file');
    // Rows of a keyed load carry their key (the engine dead-letters those without) and one sequence number: their keys
    // are checked not to repeat, so their order is moot.
    const rows = ingestSelect(file, columns, {
      keys: new Set(columns.filter((c) => folded.has(c.target.toLowerCase())).map((c) => c.target)),
      ...(this.sequenced ? { seq: { column: SEQ_COLUMN, value: this.seq } } : {}),
    });
    if (!rows) return declined('an option or a column type only the engine reads');
    const cursorColumn = cursor && columns.find((c) => c.column.name === cursor.column);
    const order = cursorColumn ? cursorSql(cursorColumn.column, cursor!.from) : undefined;
    if (cursor && !order) return declined('a cursor whose order only the engine keeps');
    // Coercion reads a timestamp without a zone as UTC; DuckDB as its session's zone.
    await this.conn.run("SET SESSION TimeZone = 'UTC'");
    const giveBack = await this.opts.poolForRead?.();
    try {
      const into = `INSERT INTO ${qualified(this.writeRef)} (${rows.names.join(', ')})`;
      const result: IngestResult = order
        ? await this.readBehindCursor(into, rows.select, rows.names, quoteIdent(cursorColumn!.target), order)
        : { loaded: Number((await this.conn.run(`${into} ${rows.select}`)).rowsChanged), filtered: 0 };
      if (keys.length > 0) {
        const k = keys.map((c) => quoteIdent(c)).join(', ');
        const repeats = await this.conn.runAndReadAll(`SELECT count(*) FROM (SELECT 1 FROM ${qualified(this.writeRef)}
          WHERE ${quoteIdent(SEQ_COLUMN)} = ${this.seq} GROUP BY ${k} HAVING count(*) > 1)`);
        if (Number(repeats.getRows()[0][0]) > 0) throw new Error('keys repeat in the file: the last row of each must win, in file order');
      }
      this.seq += 1n;
      this.sinceCommit += result.loaded;
      this.totalRows += result.loaded;
      // What the read wrote is then committed (and checkpointed by DuckDB), or merged from staging, which ran out of the
      // ordinary pool now and then (a 1M-row merge, 1 run in 3): the pool is given back when the load ends.
      if (giveBack) this.heldPool.push(giveBack);
      return result;
    } catch (e) {
      // The failed statement ended the transaction, with the DDL of this file's columns in it.
      this.inTransaction = false;
      await this.conn.run('ROLLBACK').catch(() => undefined);
      await giveBack?.();
      await this.beginTx();
      await this.evolve(schema);
      return declined(errorMessage(e));
    }
  }

  /**
   * A file read with a cursor: the rows older than its bound are counted and left out, and the newest value of those
   * kept is the watermark — in the staging table a keyed load writes anyway (this file's rows carry its sequence
   * number), or in a temporary table the file is read into first.
   */
  private async readBehindCursor(into: string, select: string, names: readonly string[], c: string, order: CursorSql): Promise<IngestResult> {
    const older = order.from === null ? 'false' : `${c} < ${order.from}`;
    const staged = this.writeRef.catalog === 'temp';
    const from = staged ? qualified(this.writeRef) : INGEST_TABLE;
    const mine = staged ? `${quoteIdent(SEQ_COLUMN)} = ${this.seq}` : 'true';
    const read = Number((await this.conn.run(staged ? `${into} ${select}` : `CREATE OR REPLACE TEMP TABLE ${INGEST_TABLE} AS ${select}`)).rowsChanged);
    const stats = await this.conn.runAndReadAll(`SELECT count(*) FILTER (WHERE ${older}), ${order.max(c, `NOT (${older})`)} FROM ${from} WHERE ${mine}`);
    const [count, max] = stats.getRows()[0];
    const filtered = Number(count);
    let loaded: number;
    if (staged) {
      if (filtered > 0) await this.conn.run(`DELETE FROM ${from} WHERE ${mine} AND ${older}`);
      loaded = read - filtered;
    } else {
      loaded = Number((await this.conn.run(`${into} SELECT ${names.join(', ')} FROM ${from} WHERE ${c} IS NULL OR NOT (${older})`)).rowsChanged);
      await this.conn.run(`DROP TABLE ${INGEST_TABLE}`);
    }
    return { loaded, filtered, ...(max === null ? {} : { maxCursor: order.read(max) }) };
  }

  async commit(state: StreamState): Promise<CommitCounts> {
    // A staged load (replace, or gated) makes its staged rows durable — a long load does not grow one huge
    // transaction — but not visible, and saves no state: a crash restarts it.
    const counts = this.stagedOnly ? ZERO : await this.apply();
    if (!this.stagedOnly) await this.saveState(state);
    // What is staged is durable now: a file declined later rolls back to here (ingest()).
    if (this.stagedOnly) this.sinceCommit = 0;
    await this.commitTx();
    await this.beginTx();
    return counts;
  }

  /** On failure the load stays open: the engine's abort() rolls back and drops staging. */
  async finish(state: StreamState): Promise<CommitCounts> {
    let counts: CommitCounts;
    if (this.target.disposition === 'replace') {
      await this.swap(state);
      counts = { ...ZERO, inserted: this.totalRows };
    } else {
      if (this.target.staged) {
        this.sinceCommit = this.totalRows;
        await this.ensureTarget();
      }
      counts = await this.apply();
      await this.saveState(state);
      if (this.writeRef !== this.targetRef) await this.conn.run(`DROP TABLE IF EXISTS ${qualified(this.writeRef)}`);
      await this.commitTx();
    }
    await this.releasePool();
    this.close();
    return counts;
  }

  async abort(opts: { keepStaging?: boolean } = {}): Promise<{ kept?: string } | void> {
    if (this.done) return;
    let kept: string | undefined;
    try {
      if (opts.keepStaging && this.stagedOnly && this.inTransaction) {
        // Only staging was written in this transaction: committing it keeps the blocked rows for inspection.
        await this.commitTx();
        kept = qualified(this.writeRef);
      }
    } catch (e) {
      this.opts.logger.warn({ table: this.writeRef.table, err: errorMessage(e) }, 'could not keep the staging table');
    }
    try {
      if (this.inTransaction) await this.conn.run('ROLLBACK');
    } catch (e) {
      this.opts.logger.debug({ err: errorMessage(e) }, 'duckdb rollback failed');
    }
    this.inTransaction = false;
    await this.releasePool().catch(() => undefined);
    try {
      if (this.writeRef !== this.targetRef && !kept) await this.conn.run(`DROP TABLE IF EXISTS ${qualified(this.writeRef)}`);
    } catch (e) {
      this.opts.logger.warn({ table: this.writeRef.table, err: errorMessage(e) }, 'could not drop staging table');
    }
    this.close();
    return kept ? { kept } : undefined;
  }

  /** Create or evolve the target itself (a staged load does this only in finish, so a blocked one changes nothing). */
  private async ensureTarget(): Promise<void> {
    const extra = this.target.disposition === 'scd2'
      ? [{ name: 'valid_from', dataType: 'TIMESTAMPTZ' }, { name: 'valid_to', dataType: 'TIMESTAMPTZ' },
        { name: 'is_current', dataType: 'BOOLEAN' }, { name: '_sluice_hash', dataType: 'VARCHAR' }]
      : [];
    // The delete marker steers the load (which keys or groups to delete); it is not a column of the target, except
    // in a plain append, which deletes nothing and keeps what it is given.
    const plainAppend = this.target.disposition === 'append' && this.target.replaceGroups === undefined;
    const marker = plainAppend ? undefined : this.markerColumn();
    await ensureTable(this.conn, this.targetRef, this.columns.filter((c) => c.name !== marker), extra);
  }

  /** Move what was written since the last commit into the target (an unstaged append wrote it there already). */
  private async apply(): Promise<CommitCounts> {
    const n = this.sinceCommit;
    this.sinceCommit = 0;
    if (n === 0) return ZERO;
    switch (this.target.disposition) {
      case 'append':
        if (this.target.replaceGroups !== undefined) return this.replaceGroups();
        if (this.writeRef !== this.targetRef) {
          const cols = this.columns.map((c) => quoteIdent(c.name)).join(', ');
          await this.conn.run(`INSERT INTO ${qualified(this.targetRef)} (${cols}) SELECT ${cols} FROM ${qualified(this.writeRef)}`);
        }
        return { ...ZERO, inserted: n };
      case 'merge':
        return this.mergeStaged();
      case 'scd2': {
        const marker = this.markerColumn();
        const counts = await applyScd2({
          target: qualified(this.targetRef), stage: qualified(this.writeRef), seq: SEQ_COLUMN,
          keys: this.target.primaryKey.map((k) => this.columnName(k)), columns: this.columns.map((c) => c.name).filter((c) => c !== marker),
          ...(marker === undefined ? {} : { deleteWhere: (a: string) => markedSql(a, marker) }),
        }, async (sql) => (await this.conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
        await this.conn.run(`DELETE FROM ${qualified(this.writeRef)}`);
        return counts;
      }
      default:
        return ZERO;
    }
  }

  /**
   * Replace the target's rows of every staged group (see ../sql/replace-groups.ts), then empty staging. The group
   * column is not indexed: DuckDB deletes by a hash join over a scan of that one column, and an ART index would
   * slow every insert down more than it speeds the delete.
   */
  private async replaceGroups(): Promise<CommitCounts> {
    const marker = this.markerColumn();
    const counts = await applyGroupReplace({
      target: qualified(this.targetRef), stage: qualified(this.writeRef), seq: SEQ_COLUMN, marker,
      group: this.columnName(this.target.replaceGroups!, 'group column'),
      columns: this.columns.map((c) => c.name).filter((c) => c !== marker),
    }, async (sql) => (await this.conn.run(sql)).rowsChanged);
    await this.conn.run(`DELETE FROM ${qualified(this.writeRef)}`);
    return counts;
  }

  /** The delete marker as the schema spells it, if the schema has it yet. */
  private markerColumn(): string | undefined {
    const name = this.target.deleteColumn;
    return name === undefined ? undefined : foldedColumn(this.columns, name);
  }

  /**
   * Rows carry a write sequence: merge upserts the last row per key, and so does a replace with a primary key;
   * replacing groups keeps only the rows written after their group's last marker.
   */
  private get sequenced(): boolean {
    const d = this.target.disposition;
    return d === 'merge' || d === 'scd2' || (d === 'replace' && this.target.primaryKey.length > 0)
      || (d === 'append' && this.target.replaceGroups !== undefined);
  }

  private async swap(state: StreamState): Promise<void> {
    const target = qualified(this.targetRef);
    const staged = (await describeTable(this.conn, this.writeRef)).length > 0;
    if (staged && this.sequenced) {
      // A full refresh of a merge stream reads every version of a key: the last one written wins, as in a merge.
      const stage = qualified(this.writeRef);
      const keys = this.target.primaryKey.map((k) => quoteIdent(this.columnName(k)));
      const seq = quoteIdent(SEQ_COLUMN);
      await this.conn.run(`DELETE FROM ${stage} s USING (SELECT ${keys.join(', ')}, max(${seq}) AS last FROM ${stage}
        GROUP BY ${keys.join(', ')} HAVING count(*) > 1) d WHERE ${keys.map((k) => `s.${k} IS NOT DISTINCT FROM d.${k}`).join(' AND ')} AND s.${seq} < d.last`);
      await this.conn.run(`ALTER TABLE ${stage} DROP COLUMN ${seq}`);
    }
    const marker = this.markerColumn();
    if (staged && marker !== undefined) {
      // A full refresh leaves out the rows the source marks deleted, and the marker itself.
      await this.conn.run(`DELETE FROM ${qualified(this.writeRef)} s WHERE ${markedSql('s', marker)}`);
      await this.conn.run(`ALTER TABLE ${qualified(this.writeRef)} DROP COLUMN ${quoteIdent(marker)}`);
    }
    if (staged) {
      await this.conn.run(`DROP TABLE IF EXISTS ${target}`);
      // A rename is O(1) whatever the size; CREATE OR REPLACE … AS SELECT would copy every row once more.
      await this.conn.run(`ALTER TABLE ${qualified(this.writeRef)} RENAME TO ${quoteIdent(this.targetRef.table)}`);
    } else if ((await describeTable(this.conn, this.targetRef)).length > 0) {
      // Never evolved: the stream had no schema at all, so replacing means emptying what is there.
      await this.conn.run(`DELETE FROM ${target}`);
    }
    await this.saveState(state);
    await this.commitTx();
  }

  /**
   * Upsert the staged rows: the last staged row per key wins, and a key whose last row carries the delete marker is
   * deleted. Counted before deleting: kept keys already in the target are updates, the rest inserts; marked keys
   * in the target are deletions.
   */
  private async mergeStaged(): Promise<CommitCounts> {
    const target = qualified(this.targetRef);
    const stage = qualified(this.writeRef);
    const keys = this.target.primaryKey.map((k) => quoteIdent(this.columnName(k)));
    const match = (a: string, b: string): string => keys.map((k) => `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}`).join(' AND ');
    const marker = this.markerColumn();
    const cols = this.columns.filter((c) => c.name !== marker).map((c) => quoteIdent(c.name)).join(', ');
    const marked = marker === undefined ? 'false' : markedSql('s', marker);
    // The last staged row of each key, and whether it deletes the key.
    const last = `SELECT *, ${marked} AS _sluice_marked FROM ${stage} s
       QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${quoteIdent(SEQ_COLUMN)} DESC) = 1`;

    const counted = await this.conn.runAndReadAll(
      `WITH k AS (SELECT ${keys.join(', ')}, _sluice_marked, EXISTS (SELECT 1 FROM ${target} t WHERE ${match('t', 'l')}) AS known FROM (${last}) l)
       SELECT count(*) FILTER (WHERE NOT _sluice_marked AND NOT known), count(*) FILTER (WHERE NOT _sluice_marked AND known),
              count(*) FILTER (WHERE _sluice_marked AND known) FROM k`,
    );
    const [inserted, updated, deleted] = counted.getRows()[0].map(Number);
    await this.conn.run(`DELETE FROM ${target} t WHERE EXISTS (SELECT 1 FROM ${stage} s WHERE ${match('t', 's')})`);
    await this.conn.run(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM (${last}) l WHERE NOT _sluice_marked`);
    await this.conn.run(`DELETE FROM ${stage}`);
    return { inserted, updated, deleted };
  }

  /** The primary key (or group column) names target columns; resolve them as DuckDB would (case-insensitively). */
  private columnName(key: string, what = 'primary key column'): string {
    return requireColumn(this.columns, key, this.target.stream, what);
  }

  private async saveState(state: StreamState): Promise<void> {
    if (this.target.leavesState) return;
    return insertState(this.conn, this.opts.schema, this.target.pipeline, this.target.stream, this.target.runId, state);
  }

  /**
   * Make the rows a staged load wrote so far durable, as commit() does at a checkpoint: they stay invisible until
   * finish() either way, and a failed run drops the staging table.
   */
  private async commitStaged(): Promise<void> {
    await this.commitTx();
    await this.beginTx();
    this.sinceCommit = 0;
  }

  private async beginTx(): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION');
    this.inTransaction = true;
  }

  private async commitTx(): Promise<void> {
    if (!this.inTransaction) return;
    // Whether COMMIT succeeds or fails, DuckDB has ended the transaction.
    this.inTransaction = false;
    await this.conn.run('COMMIT');
  }

  /** Give back the pool borrowed for reads (ingest). */
  private async releasePool(): Promise<void> {
    for (const giveBack of this.heldPool.splice(0)) await giveBack();
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    try {
      this.conn.closeSync();
    } catch {
      // Already closed with the instance.
    }
    this.opts.onDone();
  }
}

/** SQL true when row `alias` carries the delete marker in column `marker`. */
const markedSql = (alias: string, marker: string): string => deleteMarkedSql(`CAST(${alias}.${quoteIdent(marker)} AS VARCHAR)`);
