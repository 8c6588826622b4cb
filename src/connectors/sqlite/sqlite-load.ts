// One stream's load into SQLite. The destination has ONE connection (better-sqlite3 is synchronous, and SQLite has
// one writer per file), shared by streams loading concurrently. So no transaction on the main database may stay open
// across an await: another stream's statements would land inside it. Rows therefore wait in a staging table and every
// commit is one synchronous call that nothing can interleave:
//
//   append   rows → TEMP staging (connection-private, never locks the file);
//            commit = BEGIN IMMEDIATE; INSERT INTO target SELECT … FROM staging; state row; COMMIT
//            with `replaceGroups` (child tables) staging numbers rows in write order (an INTEGER PRIMARY KEY);
//            commit = BEGIN IMMEDIATE; the target's rows of every staged group deleted, the staged rows inserted
//            (../sql/replace-groups.ts); state row; COMMIT
//   merge    TEMP staging keyed like the target, written INSERT OR REPLACE (last row per key wins);
//            commit = BEGIN IMMEDIATE; keys whose staged row carries the delete marker deleted; count;
//            INSERT … ON CONFLICT (key) DO UPDATE; state row; COMMIT
//   scd2     TEMP staging keyed like the target, written INSERT OR REPLACE;
//            commit = BEGIN IMMEDIATE; history recorded by ../sql/scd2.ts; state row; COMMIT
//   replace  rows → main.<table>__sluice_replace (invisible; dropped at the next start if a run dies);
//            finish = BEGIN IMMEDIATE; rows carrying the delete marker, then the marker column, dropped from
//            staging; DROP target; RENAME staging TO target; state row; COMMIT
//   staged   (dataset gates) rows → main.<table>__sluice_staged, a real table (keyed like the target for merge and
//            scd2), durable as written; commits write nothing; finish = BEGIN IMMEDIATE; create/evolve the target;
//            staged rows appended, upserted or recorded as history; state row; DROP staging; COMMIT
//
// The delete marker (`delete_column`) steers merge, scd2, replace and group replacement; it is never a column of
// their target (a plain append keeps what it is given), and it is read only once the schema has that column.
//
// SQLite DDL is transactional, so every step, the replace swap and a staged finish included, commits with its state or
// not at all.
import type { SqliteDatabase, SqliteStatement } from '../../core/sqlite-driver.js';
import type { CommitCounts, LoadTarget, StreamLoad } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { type Schema, type StreamState, typedColumn } from '../../core/types.js';
import { foldedColumn, requireColumn } from '../sql/column-names.js';
import { derivedName } from '../sql/derived-name.js';
import { mergeCountSql } from '../sql/merge-count.js';
import { applyGroupReplaceSync } from '../sql/replace-groups.js';
import { SCD2_COLUMNS, SCD2_LOGICAL_COLUMNS, applyScd2Sync } from '../sql/scd2.js';
import type { StateStatements } from '../sql/state-statements.js';
import {
  SQLITE_DIALECT, SQLITE_GROUP_REPLACE, SQLITE_MAX_IDENTIFIER, SQLITE_SCD2, q, sqliteDeleteMarked,
} from './sqlite-dialect.js';
import { describeTable, ensureTable, primaryKeyOf } from './sqlite-tables.js';
import type { WantedColumn } from './sqlite-tables.js';
import { binderFor } from './sqlite-types.js';
import type { Binder } from './sqlite-types.js';

const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };
/** Write sequence of group-replacement staging: an INTEGER PRIMARY KEY, so SQLite numbers rows as they are inserted. */
const SEQ_COLUMN = '_sluice_seq';

export interface SqliteLoadOptions {
  db: SqliteDatabase;
  target: LoadTarget;
  state: StateStatements;
  logger: Logger;
  /** Distinguishes this load's TEMP staging from other streams' on the shared connection. */
  id: number;
  onDone: () => void;
}

export class SqliteStreamLoad implements StreamLoad {
  private readonly db: SqliteDatabase;
  private readonly target: LoadTarget;
  /** `temp` staging (append, merge, scd2) or `main` (replace, staged). */
  private readonly stageSchema: string;
  private readonly stageTable: string;
  private columns: WantedColumn[] = [];
  private keys: string[] = [];
  /** Append by replacing groups (`LoadTarget.replaceGroups`): the column naming a row's group, as the schema spells it. */
  private group: string | undefined;
  private insert: SqliteStatement | undefined;
  private binders: Binder[] = [];
  private stateVersion = 0;
  private pending = 0;
  private totalRows = 0;
  private done = false;

  constructor(private readonly opts: SqliteLoadOptions) {
    this.db = opts.db;
    this.target = opts.target;
    const t = opts.target.table;
    if (opts.target.disposition === 'replace') {
      this.stageSchema = 'main';
      this.stageTable = derivedName(t, '__sluice_replace', SQLITE_MAX_IDENTIFIER);
    } else if (opts.target.staged) {
      this.stageSchema = 'main';
      this.stageTable = derivedName(t, '__sluice_staged', SQLITE_MAX_IDENTIFIER);
    } else {
      this.stageSchema = 'temp';
      this.stageTable = derivedName(t, `__sluice_stage_${opts.id}`, SQLITE_MAX_IDENTIFIER);
    }
  }

  /** Rows reach the target only in finish(): a replace, or a load whose dataset gates must pass first. */
  private get stagedOnly(): boolean {
    return this.target.disposition === 'replace' || !!this.target.staged;
  }

  start(): void {
    const { target } = this;
    const d = target.disposition;
    if ((d === 'merge' || d === 'scd2') && target.primaryKey.length === 0) {
      throw new RunError(`stream ${target.stream}: write: ${d} needs a primary_key`, target.stream);
    }
    if (target.replaceGroups !== undefined && d !== 'append') {
      throw new RunError(`stream ${target.stream}: replacing groups is an append; got write: ${d}`, target.stream);
    }
    this.run('cannot start the load', () => {
      // A staging table left by a crashed run holds rows nobody committed (or a blocked load's, kept for inspection).
      this.db.exec(`DROP TABLE IF EXISTS ${this.stage()}`);
      const st = this.opts.state.maxVersion(target.pipeline, target.stream);
      this.stateVersion = Number((this.db.prepare(st.sql).get(...st.params) as { version: number | null }).version ?? 0);
    });
  }

  async evolve(schema: Schema): Promise<void> {
    this.columns = schema.columns.map((c) => typedColumn(c, c.target ?? c.name));
    this.keys = this.target.primaryKey.map((k) => this.columnName(k));
    this.group = this.target.replaceGroups === undefined ? undefined : this.columnName(this.target.replaceGroups, 'group column');
    const d = this.target.disposition;
    const clash = d === 'scd2' ? this.columns.find((c) => (SCD2_COLUMNS as readonly string[]).includes(c.name.toLowerCase())) : undefined;
    if (clash) throw new RunError(`stream ${this.target.stream}: column "${clash.name}" is reserved by write: scd2 (${SCD2_COLUMNS.join(', ')}); rename it`, this.target.stream);
    this.run('cannot create or evolve the table', () => this.db.transaction(() => {
      // A staged load leaves the target alone until finish, so a blocked one changes nothing.
      if (!this.stagedOnly) this.ensureTarget();
      ensureTable(this.db, this.stageSchema, this.stageTable, this.columns, {
        primaryKey: d === 'append' ? [] : this.keys,
        ...(this.group === undefined ? {} : { extra: [`${q(SEQ_COLUMN)} INTEGER PRIMARY KEY`] }),
      });
    }).immediate());
    const cols = this.columns.map((c) => q(c.name));
    // Staging keyed like the target keeps the last row of each key; append staging has no key and keeps all.
    const verb = d === 'append' ? 'INSERT' : 'INSERT OR REPLACE';
    this.insert = this.db.prepare(`${verb} INTO ${this.stage()} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    this.binders = this.columns.map((c) => binderFor(c.type));
  }

  async write(rows: unknown[][]): Promise<void> {
    const insert = this.insert;
    if (!insert) throw new RunError(`stream ${this.target.stream}: write() before evolve()`, this.target.stream);
    if (rows.length === 0) return;
    const binders = this.binders;
    const n = binders.length;
    const values = new Array<unknown>(n);
    this.run('writing rows failed', () => {
      // One transaction per write: SQLite commits each statement otherwise, at a fraction of the speed.
      this.db.transaction(() => {
        for (const row of rows) {
          for (let i = 0; i < n; i++) {
            const v = row[i];
            values[i] = v === null || v === undefined ? null : binders[i](v);
          }
          insert.run(values);
        }
      })();
    });
    this.pending += rows.length;
    this.totalRows += rows.length;
  }

  async commit(state: StreamState): Promise<CommitCounts> {
    // A staged load's rows are durable as written (each write is a transaction) and invisible until finish; no state.
    if (this.stagedOnly) return ZERO;
    return this.run('commit failed', () => this.db.transaction((): CommitCounts => {
      const counts = this.pending === 0 ? ZERO : this.applyStaged();
      this.db.exec(`DELETE FROM ${this.stage()}`);
      this.saveState(state);
      return counts;
    }).immediate());
  }

  async finish(state: StreamState): Promise<CommitCounts> {
    let counts: CommitCounts;
    if (this.target.disposition === 'replace') {
      this.run('replacing the table failed', () => this.db.transaction(() => this.swap(state)).immediate());
      counts = { ...ZERO, inserted: this.totalRows };
    } else if (this.target.staged) {
      counts = this.run('applying the staged rows failed', () => this.db.transaction((): CommitCounts => {
        // A stream that never had a column never created staging: only its state is saved.
        const evolved = this.insert !== undefined;
        let c = ZERO;
        if (evolved) {
          this.ensureTarget();
          c = this.applyStaged();
          this.db.exec(`DROP TABLE IF EXISTS ${this.stage()}`);
        }
        this.saveState(state);
        return c;
      }).immediate());
    } else {
      counts = await this.commit(state);
    }
    this.close();
    return counts;
  }

  async abort(opts: { keepStaging?: boolean } = {}): Promise<{ kept?: string } | void> {
    if (this.done) return;
    // No transaction is ever open here (see the header): what was written is in staging, and only there.
    const kept = opts.keepStaging && this.stagedOnly && describeTable(this.db, this.stageSchema, this.stageTable).length > 0
      ? this.stage() : undefined;
    try {
      if (!kept) this.db.exec(`DROP TABLE IF EXISTS ${this.stage()}`);
    } catch (e) {
      this.opts.logger.warn({ table: this.stageTable, err: errorMessage(e) }, 'could not drop the sqlite staging table');
    }
    this.close();
    return kept ? { kept } : undefined;
  }

  /** Create or evolve the target, in the caller's transaction (a staged load does this only in finish). */
  private ensureTarget(): void {
    const d = this.target.disposition;
    const table = this.target.table;
    // The delete marker steers the load; it is not a column of the target, except in a plain append.
    const marker = d === 'append' && this.group === undefined ? undefined : this.markerColumn();
    const columns = this.columns.filter((c) => c.name !== marker);
    if (d === 'scd2') {
      ensureTable(this.db, 'main', table, [...columns, ...SCD2_LOGICAL_COLUMNS], { primaryKey: [] });
      // One current version per key, enforced, and the index the change detection joins on.
      this.db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS main.${q(derivedName(table, '__sluice_current', SQLITE_MAX_IDENTIFIER))}
        ON ${q(table)} (${this.keys.map(q).join(', ')}) WHERE ${q('is_current')}`);
      return;
    }
    ensureTable(this.db, 'main', table, columns, { primaryKey: d === 'merge' ? this.keys : [] });
    if (this.group !== undefined) {
      // Every commit deletes by group: without an index that is a scan of the whole (child) table each time. Made
      // after ensureTable, which drops indexes when it rebuilds the table to widen a column.
      this.db.exec(`CREATE INDEX IF NOT EXISTS main.${q(derivedName(table, '__sluice_group', SQLITE_MAX_IDENTIFIER))}
        ON ${q(table)} (${q(this.group)})`);
    }
    if (d === 'merge') this.requireKey();
  }

  /** Move what is staged into the target, in the caller's transaction. */
  private applyStaged(): CommitCounts {
    this.pending = 0;
    switch (this.target.disposition) {
      case 'append': {
        if (this.group !== undefined) return this.replaceGroups();
        const cols = this.columns.map((c) => q(c.name)).join(', ');
        const r = this.db.prepare(`INSERT INTO main.${q(this.target.table)} (${cols}) SELECT ${cols} FROM ${this.stage()}`).run();
        return { ...ZERO, inserted: r.changes };
      }
      case 'merge':
        return this.mergeStaged();
      case 'scd2': {
        const marker = this.markerColumn();
        return applyScd2Sync({
          target: `main.${q(this.target.table)}`, stage: this.stage(), keys: this.keys,
          columns: this.columns.map((c) => c.name).filter((c) => c !== marker),
          ...(marker === undefined ? {} : { deleteWhere: (a: string) => sqliteDeleteMarked(`${a}.${q(marker)}`) }),
          // One timestamp for the whole commit ('now' moves between statements): a closed version ends when its
          // successor starts. Canonical timestamp text, as every timestamp column here holds.
          now: `${new Date().toISOString().slice(0, 23)}000Z`,
        }, (st) => {
          const stmt = this.db.prepare(st.sql);
          if (stmt.reader) return stmt.all(...st.params) as Record<string, unknown>[];
          stmt.run(...st.params);
          return [];
        }, SQLITE_SCD2);
      }
      default:
        return ZERO;
    }
  }

  /** Replace the target's rows of every staged group (see ../sql/replace-groups.ts), in the caller's transaction. */
  private replaceGroups(): CommitCounts {
    const marker = this.markerColumn();
    return applyGroupReplaceSync({
      target: `main.${q(this.target.table)}`, stage: this.stage(), group: this.group!, seq: SEQ_COLUMN, marker,
      columns: this.columns.map((c) => c.name).filter((c) => c !== marker),
    }, (sql) => this.db.prepare(sql).run().changes, SQLITE_GROUP_REPLACE);
  }

  /**
   * Upsert the staged rows (one per key: the last one written), in the caller's transaction. Keys whose row carries
   * the delete marker are deleted from the target (`deleted` counts those it had) and then from staging; the counts
   * of the rest are taken before the upsert: staged keys already in the target are updates.
   */
  private mergeStaged(): CommitCounts {
    const target = `main.${q(this.target.table)}`;
    const marker = this.markerColumn();
    let deleted = 0;
    if (marker !== undefined) {
      const marked = sqliteDeleteMarked(q(marker));
      const keys = this.keys.map(q).join(', ');
      deleted = this.db.prepare(`DELETE FROM ${target} WHERE (${keys}) IN (SELECT ${keys} FROM ${this.stage()} WHERE ${marked})`).run().changes;
      this.db.prepare(`DELETE FROM ${this.stage()} WHERE ${marked}`).run();
    }
    const c = this.db.prepare(mergeCountSql(SQLITE_DIALECT, target, this.stage(), this.keys)).get() as { staged: number; existing: number };
    const columns = this.columns.filter((col) => col.name !== marker);
    const cols = columns.map((col) => q(col.name));
    const keySet = new Set(this.keys.map((k) => k.toLowerCase()));
    const updates = columns.filter((col) => !keySet.has(col.name.toLowerCase())).map((col) => `${q(col.name)} = excluded.${q(col.name)}`);
    // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join of the SELECT.
    this.db.exec(`INSERT INTO ${target} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${this.stage()} WHERE true
      ON CONFLICT (${this.keys.map(q).join(', ')}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`);
    return { inserted: c.staged - c.existing, updated: c.existing, deleted };
  }

  private swap(state: StreamState): void {
    const target = `main.${q(this.target.table)}`;
    const staged = describeTable(this.db, 'main', this.stageTable);
    const marker = this.markerColumn();
    if (marker !== undefined && staged.some((c) => c.name.toLowerCase() === marker.toLowerCase())) {
      // A full refresh leaves out the rows the source marks deleted, and the marker itself.
      this.db.exec(`DELETE FROM ${this.stage()} WHERE ${sqliteDeleteMarked(q(marker))}`);
      this.db.exec(`ALTER TABLE ${this.stage()} DROP COLUMN ${q(marker)}`);
    }
    if (staged.length > 0) {
      this.db.exec(`DROP TABLE IF EXISTS ${target}`);
      this.db.exec(`ALTER TABLE ${this.stage()} RENAME TO ${q(this.target.table)}`);
    } else if (describeTable(this.db, 'main', this.target.table).length > 0) {
      // Never evolved: the stream had no schema at all, so replacing means emptying what is there.
      this.db.exec(`DELETE FROM ${target}`);
    }
    this.saveState(state);
  }

  private requireKey(): void {
    const pk = primaryKeyOf(describeTable(this.db, 'main', this.target.table)).map((k) => k.toLowerCase());
    if (pk.join('\0') !== this.keys.map((k) => k.toLowerCase()).join('\0')) {
      throw new RunError(`stream ${this.target.stream}: write: merge needs table ${this.target.table} to have PRIMARY KEY `
        + `(${this.keys.join(', ')}), it has ${pk.length ? `(${pk.join(', ')})` : 'none'}; add it, or load with --full-refresh`, this.target.stream);
    }
  }

  private saveState(state: StreamState): void {
    const t = this.target;
    if (t.leavesState) return;
    for (const st of this.opts.state.insert(t.pipeline, t.stream, this.stateVersion + 1, t.runId, state)) {
      this.db.prepare(st.sql).run(...st.params);
    }
    this.stateVersion++;
  }

  private stage(): string {
    return `${q(this.stageSchema)}.${q(this.stageTable)}`;
  }

  /** The primary key (or group column) names target columns; resolve them as SQLite does (case-insensitively). */
  private columnName(key: string, what = 'primary key column'): string {
    return requireColumn(this.columns, key, this.target.stream, what);
  }

  /** The delete marker as the schema spells it, once the schema has it (a stream may not have seen it yet). */
  private markerColumn(): string | undefined {
    const name = this.target.deleteColumn;
    return name === undefined ? undefined : foldedColumn(this.columns, name);
  }

  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RunError) throw e;
      throw new RunError(`stream ${this.target.stream}: ${what}: ${errorMessage(e)}`, this.target.stream, { cause: e });
    }
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.opts.onDone();
  }
}
