// One stream's load into MySQL/MariaDB, on its own pooled connection. Rows wait in a spill file (mysql-spill.ts)
// and reach the server at commit, so a transaction is open only inside commit(), never across the engine's awaits,
// and DDL (which commits implicitly in MySQL) never runs with rows pending:
//
//   append   commit = BEGIN; LOAD DATA → target; state row; COMMIT
//            with `replaceGroups` (child tables): commit = LOAD DATA → TEMPORARY staging whose AUTO_INCREMENT column
//            is the write sequence; BEGIN; the target's rows of every staged group deleted, the staged rows inserted
//            (../sql/replace-groups.ts); empty staging; state row; COMMIT
//   merge    commit = LOAD DATA REPLACE → TEMPORARY staging keyed like the target (last row per key wins);
//            BEGIN; keys whose staged row carries the delete marker deleted; count; INSERT … SELECT … ON DUPLICATE
//            KEY UPDATE; empty staging; state row; COMMIT
//   scd2     commit = LOAD DATA REPLACE → TEMPORARY staging keyed like the target (last row per key wins);
//            BEGIN; history recorded by ../sql/scd2.ts; empty staging; state row; COMMIT
//   replace  commit = LOAD DATA → <table>__sluice_replace (invisible; a crash drops it at the next start)
//            finish = rows carrying the delete marker, then the marker column, dropped from staging;
//            RENAME TABLE target TO old, staging TO target (atomic); DROP old; then the state row
//   staged   (dataset gates) commit = LOAD DATA → <table>__sluice_staged, a real table (keyed like the target for
//            merge and scd2), and no state; finish = create/evolve the target; BEGIN; staged rows appended, upserted
//            or recorded as history; state row; COMMIT; DROP staging. A blocked load may keep its staging.
//
// Replace cannot put its state row in the RENAME's transaction (DDL commits on its own). A crash between the rename
// and the state row leaves the new table under the old state; the next run replaces the table again from that same
// state, so it reaches the same result: nothing is lost or doubled. (Writing the state first would be unsafe: a
// crash before the rename would pair the old table with the new cursor.) A crash before the rename leaves the old
// table and state untouched; the staging and `__sluice_old` leftovers are dropped when the next load starts.
//
// The delete marker (`delete_column`) steers merge, scd2, replace and group replacement; it is never a column of
// their target (a plain append keeps what it is given), and it is read only once the schema has that column.
//
// A staged finish is not one transaction either, for the same reason. Atomic: the staged rows reach the target
// together with the state row (one InnoDB transaction), so readers and a re-run see all of the run or none of it.
// Not atomic: creating or evolving the target runs before (a crash there leaves the target created empty or with
// new NULL columns, under the old state; the next run stages again and evolving is idempotent), and dropping the
// staging table runs after (a crash there leaves a staging table the next start drops).
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { CommitCounts, LoadTarget, RefusedRow, StreamLoad } from '../../core/connector.js';
import { RowValueError, RunError, errorMessage, refusedOr } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import type { Logger } from '../../core/logger.js';
import { type Schema, type StreamState, typedColumn } from '../../core/types.js';
import { foldedColumn, requireColumn } from '../sql/column-names.js';
import { derivedName } from '../sql/derived-name.js';
import { mergeCountSql } from '../sql/merge-count.js';
import { applyGroupReplace } from '../sql/replace-groups.js';
import { SCD2_COLUMNS, SCD2_LOGICAL_COLUMNS, applyScd2 } from '../sql/scd2.js';
import type { StateStatements } from '../sql/state-statements.js';
import { mysqlError, refusedValue } from './mysql-connection.js';
import { MYSQL_DIALECT, MYSQL_GROUP_REPLACE, MYSQL_MAX_IDENTIFIER, MYSQL_SCD2, mysqlDeleteMarked } from './mysql-dialect.js';
import { SpillFile, loadPlan } from './mysql-spill.js';
import type { LoadPlan } from './mysql-spill.js';
import { describeTable, ensureIndex, ensureTable, mysqlColumnLimit, mysqlName, primaryKeyOf, q } from './mysql-tables.js';
import { columnLimits, limitRefusal } from '../sql/column-limits.js';
import type { WantedColumn } from './mysql-tables.js';
import type { Refusal } from '../../core/values/refusals.js';

const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };
/** The plain index an scd2 target has on its key (MySQL has no partial unique index to enforce one current row). */
const SCD2_KEY_INDEX = 'sluice_scd2_key';
/** The index a target of group replacement has on its group column: every commit deletes by group. */
const GROUP_INDEX = 'sluice_group';
/** Write sequence of group-replacement staging: an AUTO_INCREMENT column, numbered by LOAD DATA in file order. */
const SEQ_COLUMN = '_sluice_seq';

export interface MysqlLoadOptions {
  conn: PoolConnection;
  target: LoadTarget;
  state: StateStatements;
  logger: Logger;
  onDone: () => void;
}

export class MysqlStreamLoad implements StreamLoad {
  private readonly conn: PoolConnection;
  private readonly target: LoadTarget;
  /** Where rows go at commit: the target (unstaged append) or a staging table. */
  private readonly writeTable: string;
  private readonly oldTable: string;
  private readonly spill = new SpillFile();
  /** Row by row, where rows wait while they are tried (see refusedRows). */
  private probe: SpillFile | undefined;
  private columns: WantedColumn[] = [];
  private keys: string[] = [];
  /** Append by replacing groups (`LoadTarget.replaceGroups`): the column naming a row's group, as the schema spells it. */
  private group: string | undefined;
  private plan: LoadPlan | undefined;
  /** What each target column refuses, as the table declares it (../sql/column-limits.ts), by lower-cased name. */
  private limits = new Map<string, Refusal | undefined>();
  private stateVersion = 0;
  private inTransaction = false;
  private totalRows = 0;
  private done = false;

  constructor(private readonly opts: MysqlLoadOptions) {
    this.conn = opts.conn;
    this.target = { ...opts.target, table: mysqlName(opts.target.table) };
    const t = this.target.table;
    const d = opts.target.disposition;
    const derived = (suffix: string) => derivedName(t, suffix, MYSQL_MAX_IDENTIFIER);
    this.writeTable = d === 'replace' ? derived('__sluice_replace')
      : opts.target.staged ? derived('__sluice_staged')
        : d === 'append' && opts.target.replaceGroups === undefined ? t : derived('__sluice_stage');
    this.oldTable = derived('__sluice_old');
  }

  /** Rows reach the target only in finish(): a replace, or a load whose dataset gates must pass first. */
  private get stagedOnly(): boolean {
    return this.target.disposition === 'replace' || !!this.target.staged;
  }

  /**
   * Merge, scd2 and group replacement stage each checkpoint in a TEMPORARY table: connection-private, gone with the
   * connection.
   */
  private get tempStage(): boolean {
    const d = this.target.disposition;
    return !this.stagedOnly && (d === 'merge' || d === 'scd2' || this.grouped);
  }

  /** An append that replaces groups (child tables of `flatten`). */
  private get grouped(): boolean {
    return this.target.replaceGroups !== undefined;
  }

  async start(): Promise<void> {
    const { target } = this;
    const d = target.disposition;
    if ((d === 'merge' || d === 'scd2') && target.primaryKey.length === 0) {
      throw new RunError(`stream ${target.stream}: write: ${d} needs a primary_key`, target.stream);
    }
    if (this.grouped && d !== 'append') {
      throw new RunError(`stream ${target.stream}: replacing groups is an append; got write: ${d}`, target.stream);
    }
    await this.run(async () => {
      // Only the checkpoint's own rows are locked; no gap locks between concurrent streams' state rows.
      await this.conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      if (this.tempStage) await this.conn.query(`DROP TEMPORARY TABLE IF EXISTS ${q(this.writeTable)}`);
      if (this.stagedOnly) {
        // Left by a crashed run: rows nobody committed, the staging a blocked load kept, or the table a finished swap
        // had not dropped yet.
        const left = d === 'replace' ? [this.writeTable, this.oldTable] : [this.writeTable];
        await this.conn.query(`DROP TABLE IF EXISTS ${left.map(q).join(', ')}`);
      }
      const st = this.opts.state.maxVersion(target.pipeline, target.stream);
      const [rows] = await this.conn.query(st.sql, st.params);
      this.stateVersion = Number((rows as { version: unknown }[])[0]?.version ?? 0);
    }, 'cannot start the load');
  }

  async evolve(schema: Schema): Promise<void> {
    this.columns = schema.columns.map((c) => typedColumn(c, mysqlName(c.target ?? c.name)));
    this.keys = this.target.primaryKey.map((k) => this.columnName(k));
    this.group = this.target.replaceGroups === undefined ? undefined : this.columnName(this.target.replaceGroups, 'group column');
    const d = this.target.disposition;
    const clash = d === 'scd2' ? this.columns.find((c) => (SCD2_COLUMNS as readonly string[]).includes(c.name.toLowerCase())) : undefined;
    if (clash) throw new RunError(`stream ${this.target.stream}: column "${clash.name}" is reserved by write: scd2 (${SCD2_COLUMNS.join(', ')}); rename it`, this.target.stream);
    await this.run(async () => {
      // A staged load leaves the target alone until finish, so a blocked one changes nothing.
      if (this.tempStage) await this.ensureTarget();
      // Unstaged append writes the target itself; staging is keyed like the target, so the last row per key wins.
      // Group replacement keeps every row, numbered in write order.
      await ensureTable(this.conn, this.writeTable, this.columns, {
        primaryKey: d === 'append' ? [] : this.keys, temporary: this.tempStage,
        ...(this.grouped ? { extra: [`${q(SEQ_COLUMN)} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY`] } : {}),
      });
      // What rows land in limits them: the table written, and the target they move into (not a replaced one, nor,
      // before finish, a staged load's).
      const written = await describeTable(this.conn, this.writeTable);
      const target = this.writeTable === this.target.table || this.target.disposition === 'replace' || this.target.staged
        ? [] : await describeTable(this.conn, this.target.table);
      this.limits = columnLimits([written, target].map((cols) => cols.map((c) => ({
        name: c.name.toLowerCase(), refuse: limitRefusal(`MySQL's ${c.type}${c.collation ? ` ${c.collation}` : ''}`, mysqlColumnLimit(c)),
      }))));
    }, 'cannot create or evolve the table');
    this.plan = loadPlan(this.columns);
  }

  refuses(column: string): Refusal | undefined {
    return this.limits.get(mysqlName(column).toLowerCase());
  }

  /** Create or evolve the target of a merge, scd2, group replacement or staged load (DDL: commits on its own). */
  private async ensureTarget(): Promise<void> {
    const { table } = this.target;
    const d = this.target.disposition;
    // The delete marker steers the load; it is not a column of the target, except in a plain append.
    const marker = d === 'append' && !this.grouped ? undefined : this.markerColumn();
    const columns = this.columns.filter((c) => c.name !== marker);
    if (d === 'scd2') {
      // Several versions per key: the key gets an index, not a PRIMARY KEY.
      await ensureTable(this.conn, table, [...columns, ...SCD2_LOGICAL_COLUMNS], { primaryKey: this.keys, keyIndex: SCD2_KEY_INDEX });
      return;
    }
    await ensureTable(this.conn, table, columns, { primaryKey: d === 'merge' ? this.keys : [] });
    // Every commit deletes by group: without an index that is a scan of the whole (child) table each time.
    if (this.group !== undefined) await ensureIndex(this.conn, table, GROUP_INDEX, this.group);
    if (d !== 'merge') return;
    const pk = (await primaryKeyOf(this.conn, table)).map((k) => k.toLowerCase());
    if (pk.join('\0') !== this.keys.map((k) => k.toLowerCase()).join('\0')) {
      throw new RunError(`stream ${this.target.stream}: write: merge needs table ${table} to have PRIMARY KEY `
        + `(${this.keys.join(', ')}), it has ${pk.length ? `(${pk.join(', ')})` : 'none'}; add it, or load with --full-refresh`, this.target.stream);
    }
  }

  async write(rows: unknown[][]): Promise<void | RefusedRow[]> {
    if (!this.plan) throw new RunError(`stream ${this.target.stream}: write() before evolve()`, this.target.stream);
    if (rows.length === 0) return;
    if (!this.target.isolateRows) {
      await this.spill.append(rows, this.plan);
      this.totalRows += rows.length;
      return;
    }
    const refused = await this.refusedRows(rows);
    const skip = new Set(refused.map((r) => r.index));
    const accepted = skip.size ? rows.filter((_, i) => !skip.has(i)) : rows;
    await this.spill.append(accepted, this.plan);
    this.totalRows += accepted.length;
    return refused;
  }

  /** Staged loads (replace, gated) apply everything in finish(): their rows cannot be tried one batch at a time. */
  get isolates(): boolean {
    return !this.stagedOnly;
  }

  /**
   * Row by row (LoadTarget.isolateRows): the rows the server refuses among `rows`. Rows wait in the spill file until
   * commit (see the header), so they are tried first: loaded and applied as a commit would, in a transaction that is
   * always rolled back; a refused attempt is tried again in halves, down to the refused rows. Only the others are
   * spilled. A batch without a bad row costs one more LOAD DATA; a bad row about 2·log2(rows) more.
   */
  private async refusedRows(rows: unknown[][]): Promise<RefusedRow[]> {
    const refused: RefusedRow[] = [];
    const probe = (this.probe ??= new SpillFile());
    const attempt = async (from: number, to: number): Promise<void> => {
      await this.conn.query('SAVEPOINT sluice_rows');
      try {
        await probe.append(from === 0 && to === rows.length ? rows : rows.slice(from, to), this.plan!);
        await this.flush(this.target.disposition !== 'append', probe);
        if (this.tempStage) await this.applyStaged();
      } catch (e) {
        await probe.reset();
        const reason = e instanceof RowValueError ? e.reason : refusedValue(e);
        if (reason === undefined) throw e;
        await this.conn.query('ROLLBACK TO SAVEPOINT sluice_rows');
        if (to - from === 1) {
          refused.push({ index: from, reason });
          return;
        }
        const mid = (from + to) >>> 1;
        await attempt(from, mid);
        await attempt(mid, to);
        return;
      }
      await this.conn.query('ROLLBACK TO SAVEPOINT sluice_rows');
    };
    await this.run(async () => {
      await this.begin();
      try {
        await attempt(0, rows.length);
      } finally {
        this.inTransaction = false;
        await this.conn.query('ROLLBACK');
      }
    }, 'trying rows one batch at a time failed');
    return refused;
  }

  async commit(state: StreamState): Promise<CommitCounts> {
    return this.run(async () => {
      if (this.stagedOnly) {
        // Staged rows become durable (the spill file does not grow for the whole run) but not visible, and no state
        // is written: a crash restarts the load. Keyed staging keeps the last row per key, as a merge would.
        await this.flush(true);
        return ZERO;
      }
      if (this.tempStage) {
        // Staging is TEMPORARY: loading it needs no transaction and survives nobody else.
        const staged = await this.flush(this.target.disposition !== 'append');
        await this.begin();
        let counts = ZERO;
        if (staged) {
          counts = await this.applyStaged();
          await this.conn.query(`DELETE FROM ${q(this.writeTable)}`);
        }
        await this.saveState(state);
        await this.commitTx();
        return counts;
      }
      if (this.target.disposition !== 'append') {
        throw new RunError(`stream ${this.target.stream}: the mysql destination does not support write: ${this.target.disposition}`, this.target.stream);
      }
      await this.begin();
      const inserted = await this.flush(false);
      await this.saveState(state);
      await this.commitTx();
      return { ...ZERO, inserted };
    }, 'commit failed');
  }

  /** On failure the load stays open: the engine's abort() rolls back and drops staging. */
  async finish(state: StreamState): Promise<CommitCounts> {
    let counts: CommitCounts;
    if (this.target.disposition === 'replace') {
      await this.commit(state);
      await this.run(() => this.swap(state), 'replacing the table failed');
      counts = { ...ZERO, inserted: this.totalRows };
    } else if (this.target.staged) {
      await this.commit(state);
      counts = await this.run(() => this.publishStaged(state), 'applying the staged rows failed');
    } else {
      counts = await this.commit(state);
      if (this.tempStage) {
        await this.run(() => this.conn.query(`DROP TEMPORARY TABLE IF EXISTS ${q(this.writeTable)}`), 'cleanup failed');
      }
    }
    await this.close();
    return counts;
  }

  async abort(opts: { keepStaging?: boolean } = {}): Promise<{ kept?: string } | void> {
    if (this.done) return;
    let kept: string | undefined;
    if (opts.keepStaging && this.stagedOnly && this.plan) {
      try {
        if (this.inTransaction) await this.conn.query('ROLLBACK');
        this.inTransaction = false;
        // Rows written since the last commit are still in the spill file: the kept table gets every blocked row.
        await this.flush(true);
        kept = q(this.writeTable);
      } catch (e) {
        this.opts.logger.warn({ table: this.writeTable, err: errorMessage(e) }, 'could not keep the staging table');
      }
    }
    try {
      if (this.inTransaction) await this.conn.query('ROLLBACK');
      this.inTransaction = false;
      if (this.tempStage) await this.conn.query(`DROP TEMPORARY TABLE IF EXISTS ${q(this.writeTable)}`);
      if (this.stagedOnly && !kept) await this.conn.query(`DROP TABLE IF EXISTS ${q(this.writeTable)}`);
    } catch (e) {
      // A broken connection: destroy it rather than hand a connection in an unknown state back to the pool.
      this.opts.logger.warn({ table: this.target.table, err: errorMessage(e) }, 'mysql rollback or cleanup failed');
      this.conn.destroy();
      this.done = true;
      await this.spill.close();
      this.opts.onDone();
      return kept ? { kept } : undefined;
    }
    await this.close();
    return kept ? { kept } : undefined;
  }

  /** The end of a staged load: see the header for what is atomic here and what cannot be. */
  private async publishStaged(state: StreamState): Promise<CommitCounts> {
    // A stream that never had a column never created staging: only its state is saved.
    const evolved = this.plan !== undefined;
    if (evolved) await this.ensureTarget();
    await this.begin();
    const counts = evolved ? await this.applyStaged() : ZERO;
    await this.saveState(state);
    await this.commitTx();
    if (evolved) await this.conn.query(`DROP TABLE IF EXISTS ${q(this.writeTable)}`);
    return counts;
  }

  /** Move what is staged into the target, in the caller's transaction (an unstaged append never stages). */
  private async applyStaged(): Promise<CommitCounts> {
    switch (this.target.disposition) {
      case 'append': {
        if (this.grouped) return this.replaceGroups();
        const cols = this.columns.map((c) => q(c.name)).join(', ');
        const [r] = await this.conn.query(`INSERT INTO ${q(this.target.table)} (${cols}) SELECT ${cols} FROM ${q(this.writeTable)}`);
        return { ...ZERO, inserted: (r as ResultSetHeader).affectedRows };
      }
      case 'merge':
        return this.mergeStaged();
      case 'scd2':
        return this.recordHistory();
      default:
        return ZERO;
    }
  }

  /** History for the staged rows (one per key), in the caller's transaction. */
  private async recordHistory(): Promise<CommitCounts> {
    // One timestamp for the whole commit (NOW() moves between statements): a closed version ends when its successor
    // starts. The session runs in UTC, like every DATETIME Sluice writes.
    const [rows] = await this.conn.query('SELECT UTC_TIMESTAMP(6) AS now');
    const { now } = (rows as { now: string }[])[0];
    const marker = this.markerColumn();
    return applyScd2({
      target: q(this.target.table), stage: q(this.writeTable), keys: this.keys, columns: this.columns.map((c) => c.name).filter((c) => c !== marker), now,
      ...(marker === undefined ? {} : { deleteWhere: (a: string) => mysqlDeleteMarked(`${a}.${q(marker)}`) }),
    }, async (sql, params) => (await this.conn.query(sql, params))[0] as Record<string, unknown>[], MYSQL_SCD2);
  }

  /** Replace the target's rows of every staged group (see ../sql/replace-groups.ts), in the caller's transaction. */
  private async replaceGroups(): Promise<CommitCounts> {
    const marker = this.markerColumn();
    return applyGroupReplace({
      target: q(this.target.table), stage: q(this.writeTable), group: this.group!, seq: SEQ_COLUMN, marker,
      columns: this.columns.map((c) => c.name).filter((c) => c !== marker),
    }, async (sql) => ((await this.conn.query(sql))[0] as ResultSetHeader).affectedRows, MYSQL_GROUP_REPLACE);
  }

  /** Load the spilled rows into the write table; returns the rows loaded. */
  private async flush(replaceDuplicates: boolean, spill = this.spill): Promise<number> {
    let loaded = 0;
    for (const part of spill.segments()) {
      if (part.rows === 0) continue;
      const stream = spill.read(part);
      const [result] = await this.conn.query({
        sql: `LOAD DATA LOCAL INFILE 'sluice.tsv' ${replaceDuplicates ? 'REPLACE ' : ''}INTO TABLE ${q(this.writeTable)}
              CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ${part.plan.columnsSql}`,
        infileStreamFactory: () => stream,
      });
      const warnings = (result as { warningStatus?: number }).warningStatus ?? 0;
      // LOCAL turns data errors (truncation, bad values, duplicate keys) into warnings: treat any as a failure.
      if (warnings > 0) {
        const [rows] = await this.conn.query('SHOW WARNINGS LIMIT 3');
        const detail = (rows as { Message: string }[]).map((r) => r.Message).join('; ');
        throw new RowValueError(`stream ${this.target.stream}: loading ${this.writeTable} raised ${warnings} warning(s): ${detail}`,
          this.target.stream, redact(detail));
      }
      loaded += part.rows;
    }
    await spill.reset();
    return loaded;
  }

  /**
   * Upsert the staged rows (one per key: the last one written), in the caller's transaction. Keys whose row carries
   * the delete marker are deleted from the target (`deleted` counts those it had) and then from staging; the counts
   * of the rest are taken before the upsert: staged keys already in the target are updates.
   */
  private async mergeStaged(): Promise<CommitCounts> {
    const target = q(this.target.table);
    const stage = q(this.writeTable);
    const marker = this.markerColumn();
    let deleted = 0;
    if (marker !== undefined) {
      const marked = mysqlDeleteMarked(`s.${q(marker)}`);
      const on = this.keys.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ');
      const [gone] = await this.conn.query(`DELETE t FROM ${target} AS t JOIN ${stage} AS s ON ${on} WHERE ${marked}`);
      deleted = (gone as ResultSetHeader).affectedRows;
      await this.conn.query(`DELETE FROM ${stage} WHERE ${mysqlDeleteMarked(q(marker))}`);
    }
    const [countRows] = await this.conn.query(mergeCountSql(MYSQL_DIALECT, target, stage, this.keys));
    const { staged, existing } = (countRows as { staged: unknown; existing: unknown }[])[0];
    const columns = this.columns.filter((c) => c.name !== marker);
    const cols = columns.map((c) => q(c.name));
    const keySet = new Set(this.keys.map((k) => k.toLowerCase()));
    const updates = columns.filter((c) => !keySet.has(c.name.toLowerCase())).map((c) => `${q(c.name)} = VALUES(${q(c.name)})`);
    // A table of keys only has nothing to update; setting a key to itself keeps the statement valid.
    if (updates.length === 0) updates.push(`${q(this.keys[0])} = VALUES(${q(this.keys[0])})`);
    await this.conn.query(`INSERT INTO ${target} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${stage}
      ON DUPLICATE KEY UPDATE ${updates.join(', ')}`);
    const total = Number(staged);
    const updated = Number(existing);
    return { inserted: total - updated, updated, deleted };
  }

  private async swap(state: StreamState): Promise<void> {
    const target = q(this.target.table);
    const stagedColumns = await describeTable(this.conn, this.writeTable);
    const staged = stagedColumns.length > 0;
    const exists = (await describeTable(this.conn, this.target.table)).length > 0;
    const marker = this.markerColumn();
    if (marker !== undefined && stagedColumns.some((c) => c.name.toLowerCase() === marker.toLowerCase())) {
      // A full refresh leaves out the rows the source marks deleted, and the marker itself (DDL on invisible staging).
      await this.conn.query(`DELETE FROM ${q(this.writeTable)} WHERE ${mysqlDeleteMarked(q(marker))}`);
      await this.conn.query(`ALTER TABLE ${q(this.writeTable)} DROP COLUMN ${q(marker)}`);
    }
    if (staged) {
      await this.conn.query(exists
        ? `RENAME TABLE ${target} TO ${q(this.oldTable)}, ${q(this.writeTable)} TO ${target}`
        : `RENAME TABLE ${q(this.writeTable)} TO ${target}`);
      if (exists) await this.conn.query(`DROP TABLE IF EXISTS ${q(this.oldTable)}`);
      await this.begin();
    } else {
      await this.begin();
      // Never evolved: the stream had no schema at all, so replacing means emptying what is there.
      if (exists) await this.conn.query(`DELETE FROM ${target}`);
    }
    await this.saveState(state);
    await this.commitTx();
  }

  private async saveState(state: StreamState): Promise<void> {
    const t = this.target;
    if (t.leavesState) return;
    try {
      for (const st of this.opts.state.insert(t.pipeline, t.stream, this.stateVersion + 1, t.runId, state)) {
        await this.conn.query(st.sql, st.params);
      }
    } catch (e) {
      // The next version is taken: a worker that took this load's task over claimed the stream (claimState).
      if ((e as { errno?: number }).errno === 1062) {
        throw new RunError(`stream ${t.stream}: another process committed this stream since this load began (its task was taken over): this commit is rolled back`, t.stream);
      }
      // Never a row's refused value: wrapped here, run() takes it as it is.
      throw mysqlError(e, `stream ${t.stream}: saving state failed`, t.stream);
    }
    this.stateVersion++;
  }

  /** The primary key (or group column) names target columns; resolve them as MySQL does (case-insensitively). */
  private columnName(key: string, what = 'primary key column'): string {
    return requireColumn(this.columns, mysqlName(key), this.target.stream, what);
  }

  /** The delete marker as the schema spells it, once the schema has it (a stream may not have seen it yet). */
  private markerColumn(): string | undefined {
    const name = this.target.deleteColumn;
    return name === undefined ? undefined : foldedColumn(this.columns, mysqlName(name));
  }

  private async begin(): Promise<void> {
    await this.conn.query('BEGIN');
    this.inTransaction = true;
  }

  private async commitTx(): Promise<void> {
    this.inTransaction = false;
    await this.conn.query('COMMIT');
  }

  /** Run a step; a server error becomes a RunError naming the stream, a refused value a RowValueError (see write()). */
  private async run<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw refusedOr(mysqlError(e, `stream ${this.target.stream}: ${what}`, this.target.stream), refusedValue(e), this.target.stream, e);
    }
  }

  private async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.spill.close();
    await this.probe?.close();
    this.conn.release();
    this.opts.onDone();
  }
}
