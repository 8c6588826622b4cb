// The default control store: one SQLite file, `$SLUICE_HOME/control.db`. WAL mode so `sluice runs` can read while a
// run writes; every write is a short transaction, so concurrent processes only wait on each other briefly.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { seal } from '../core/at-rest.js';
import { openDatabase, type SqliteDatabase } from '../core/sqlite-driver.js';
import type { StepCounts, StreamCounts } from '../core/types.js';
import type {
  ControlStore, DlqEntry, DlqFilter, LockOwner, PhaseRecord, PrunedRuns, QualityRecord, RunDetail, RunFinish, RunLogLine, RunRow, RunStart,
  RunStats, SchemaChangeRecord, StoreAddress, StreamRecord, Suppression,
} from './control-store.js';
import { DLQ_CHUNK, LOG_CHUNK, RUN_CHUNK, RUN_RECORD_TABLES, nextTurn } from './prune.js';
import { BACKFILL_MIGRATION, SERVICE_MIGRATION, SqliteServiceStore } from './sqlite-service.js';
import {
  type ChangeRow, type DlqRow, type LockRow, type PhaseRow, type QualityRow, type RunLogRow, type RunTableRow, type StepRow, type StreamRow,
  STEP_COLUMNS, dlqEntry, dlqKey, dlqWhere, phaseRecord, runLogLine, qualityRecord, refuseLiveLock, runRow, runStats, schemaChange, stepRecord,
  stepValues, streamRecord, suppressionMap,
} from './store-rows.js';

const MIGRATIONS = [
  `CREATE TABLE runs (
     run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL,
     finished_at TEXT, duration_ms INTEGER, error TEXT, file TEXT, options TEXT, summary TEXT);
   CREATE INDEX runs_pipeline ON runs (pipeline, started_at);
   CREATE TABLE phases (
     run_id TEXT NOT NULL, stream TEXT NOT NULL, phase TEXT NOT NULL, status TEXT NOT NULL, duration_ms INTEGER,
     rows_in INTEGER, rows_out INTEGER, error TEXT, PRIMARY KEY (run_id, stream, phase));
   CREATE TABLE streams (
     run_id TEXT NOT NULL, stream TEXT NOT NULL, status TEXT NOT NULL, counts TEXT NOT NULL, error TEXT,
     PRIMARY KEY (run_id, stream));
   CREATE TABLE schema_changes (
     id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, stream TEXT NOT NULL, change TEXT NOT NULL, col TEXT NOT NULL,
     from_type TEXT, to_type TEXT, at TEXT NOT NULL);
   CREATE TABLE dlq (
     id INTEGER PRIMARY KEY, pipeline TEXT NOT NULL, stream TEXT NOT NULL, run_id TEXT NOT NULL, stage TEXT NOT NULL,
     reason TEXT NOT NULL, raw TEXT NOT NULL, position TEXT NOT NULL, dedupe_key TEXT NOT NULL, created_at TEXT NOT NULL,
     replayed_at TEXT);
   CREATE UNIQUE INDEX dlq_dedupe ON dlq (pipeline, stream, dedupe_key);
   CREATE TABLE locks (pipeline TEXT PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
     acquired_at TEXT NOT NULL);`,
  `CREATE TABLE quality (
     run_id TEXT NOT NULL, pipeline TEXT NOT NULL, stream TEXT NOT NULL, score REAL, completeness REAL, validity REAL,
     consistency REAL, timeliness REAL, rows INTEGER NOT NULL, report TEXT NOT NULL, at TEXT NOT NULL,
     PRIMARY KEY (run_id, stream));
   CREATE INDEX quality_pipeline ON quality (pipeline, stream, at);`,
  SERVICE_MIGRATION,
  BACKFILL_MIGRATION,
  // The dashboard: each phase's wall-clock span (timelines), each run's log lines, paused schedules.
  `ALTER TABLE phases ADD COLUMN started_at TEXT;
   ALTER TABLE phases ADD COLUMN ended_at TEXT;
   CREATE TABLE run_logs (
     run_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, level TEXT NOT NULL, msg TEXT NOT NULL, stream TEXT,
     fields TEXT NOT NULL, PRIMARY KEY (run_id, seq));
   CREATE TABLE paused (pipeline TEXT PRIMARY KEY, actor TEXT NOT NULL, at TEXT NOT NULL);`,
  // Per transform step of each stream: rows in, out, dead-lettered (failed) and filtered, and its time.
  `CREATE TABLE transformer_runs (
     run_id TEXT NOT NULL, stream TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, records_in INTEGER NOT NULL,
     records_out INTEGER NOT NULL, failed INTEGER NOT NULL, filtered INTEGER NOT NULL, duration_ms REAL NOT NULL,
     PRIMARY KEY (run_id, stream, step));`,
  // Erased subjects later runs filter out (core/suppression.ts): digests, never values.
  `CREATE TABLE suppressions (
     pipeline TEXT NOT NULL, col TEXT NOT NULL, digest TEXT NOT NULL, created_at TEXT NOT NULL,
     PRIMARY KEY (pipeline, col, digest));`,
];

export class SqliteControlStore extends SqliteServiceStore implements ControlStore {
  readonly address: StoreAddress;

  constructor(home: string) {
    mkdirSync(home, { recursive: true });
    super(openWal(join(home, 'control.db')));
    this.address = { kind: 'sqlite', home };
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  async acquireLock(pipeline: string, owner: LockOwner): Promise<void> {
    this.db.transaction(() => {
      refuseLiveLock(pipeline, owner, this.db.prepare('SELECT run_id, pid, host, acquired_at FROM locks WHERE pipeline = ?').get(pipeline) as LockRow | undefined);
      this.db.prepare('INSERT OR REPLACE INTO locks (pipeline, run_id, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?)')
        .run(pipeline, owner.runId, owner.pid, owner.host, new Date().toISOString());
    }).immediate();
  }

  async releaseLock(pipeline: string, runId: string): Promise<void> {
    this.db.prepare('DELETE FROM locks WHERE pipeline = ? AND run_id = ?').run(pipeline, runId);
  }

  async startRun(run: RunStart): Promise<void> {
    this.db.prepare(`INSERT INTO runs (run_id, pipeline, status, started_at, file, options) VALUES (?, ?, 'running', ?, ?, ?)`)
      .run(run.runId, run.pipeline, run.startedAt.toISOString(), run.file ?? null, JSON.stringify(run.options));
  }

  async finishRun(runId: string, f: RunFinish): Promise<void> {
    const started = this.db.prepare('SELECT started_at FROM runs WHERE run_id = ?').get(runId) as { started_at: string };
    this.db.prepare('UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error = ?, summary = ? WHERE run_id = ?').run(
      f.status, f.finishedAt.toISOString(), f.finishedAt.getTime() - Date.parse(started.started_at), f.error ?? null,
      JSON.stringify(f.summary), runId,
    );
  }

  async recordPhase(p: PhaseRecord): Promise<void> {
    this.db.prepare(`INSERT OR REPLACE INTO phases (run_id, stream, phase, status, duration_ms, rows_in, rows_out, error, started_at, ended_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(p.runId, p.stream, p.phase, p.status, Math.round(p.durationMs), p.rowsIn ?? null, p.rowsOut ?? null, p.error ?? null,
        p.startedAt?.toISOString() ?? null, p.endedAt?.toISOString() ?? null);
  }

  async appendRunLogs(runId: string, lines: RunLogLine[]): Promise<void> {
    const insert = this.db.prepare('INSERT OR IGNORE INTO run_logs (run_id, seq, at, level, msg, stream, fields) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const l of lines) insert.run(runId, l.seq, l.at, l.level, l.msg, l.stream, JSON.stringify(l.fields));
    })();
  }

  async listRunLogs(runId: string, opts: { afterSeq?: number; limit?: number } = {}): Promise<RunLogLine[]> {
    return (this.db.prepare('SELECT * FROM run_logs WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(runId, opts.afterSeq ?? 0, opts.limit ?? 1000) as RunLogRow[]).map(runLogLine);
  }

  async recordStream(s: StreamRecord): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO streams (run_id, stream, status, counts, error) VALUES (?, ?, ?, ?, ?)')
      .run(s.runId, s.stream, s.status, JSON.stringify(s.counts), s.error ?? null);
  }

  async recordSteps(runId: string, stream: string, steps: StepCounts[]): Promise<void> {
    const insert = this.db.prepare(`INSERT OR REPLACE INTO transformer_runs (run_id, stream, ${STEP_COLUMNS.join(', ')})
      VALUES (?, ?, ${STEP_COLUMNS.map(() => '?').join(', ')})`);
    this.db.transaction(() => {
      for (const s of steps) insert.run(runId, stream, ...stepValues(s));
    })();
  }

  async recordSchemaChange(c: SchemaChangeRecord): Promise<void> {
    this.db.prepare('INSERT INTO schema_changes (run_id, stream, change, col, from_type, to_type, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(c.runId, c.stream, c.change, c.column, c.from ?? null, c.to ?? null, new Date().toISOString());
  }

  async recordQuality(q: QualityRecord): Promise<void> {
    const r = q.report;
    this.db.prepare(`INSERT OR REPLACE INTO quality (run_id, pipeline, stream, score, completeness, validity, consistency, timeliness, rows, report, at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(q.runId, q.pipeline, q.stream, r.score, r.completeness, r.validity, r.consistency, r.timeliness, r.rows, JSON.stringify(r), new Date().toISOString());
  }

  async streamHistory(pipeline: string, stream: string, limit: number, excludeRunId?: string): Promise<StreamCounts[]> {
    const rows = this.db.prepare(`SELECT s.counts FROM streams s JOIN runs r ON r.run_id = s.run_id
      WHERE r.pipeline = ? AND s.stream = ? AND s.status IN ('success', 'partial_success') AND r.run_id != ?
        AND COALESCE(json_extract(r.options, '$.dryRun'), 0) = 0
      ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?`).all(pipeline, stream, excludeRunId ?? '', limit) as { counts: string }[];
    return rows.map((r) => JSON.parse(r.counts) as StreamCounts);
  }

  async qualityTrend(pipeline: string, limit: number) {
    return this.db.prepare(`SELECT q.run_id, r.started_at, r.status, q.stream, q.score, q.completeness, q.validity, q.consistency, q.timeliness
      FROM quality q JOIN runs r ON r.run_id = q.run_id WHERE q.pipeline = ? ORDER BY r.started_at DESC, r.rowid DESC, q.stream LIMIT ?`)
      .all(pipeline, limit) as Awaited<ReturnType<ControlStore['qualityTrend']>>;
  }

  async addDlq(entries: DlqEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const insert = this.db.prepare(`INSERT INTO dlq (pipeline, stream, run_id, stage, reason, raw, position, dedupe_key, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (pipeline, stream, dedupe_key) DO UPDATE SET run_id = excluded.run_id, reason = excluded.reason,
        stage = excluded.stage, created_at = excluded.created_at, replayed_at = NULL`);
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      let added = 0;
      for (const e of entries) {
        added += insert.run(e.pipeline, e.stream, e.runId, e.stage, seal(e.reason), seal(e.raw), JSON.stringify(e.position), dlqKey(e), now).changes;
      }
      return added;
    })();
  }

  async listDlq(f: DlqFilter): Promise<DlqEntry[]> {
    const { where, params } = dlqWhere(f, () => '?');
    const rows = this.db.prepare(`SELECT * FROM dlq ${where} ORDER BY id LIMIT ?`).all(...params, f.limit ?? -1) as DlqRow[];
    return rows.map(dlqEntry);
  }

  async markReplayed(ids: number[]): Promise<void> {
    const stmt = this.db.prepare('UPDATE dlq SET replayed_at = ? WHERE id = ?');
    const now = new Date().toISOString();
    this.db.transaction(() => ids.forEach((id) => stmt.run(now, id)))();
  }

  async purgeDlq(f: DlqFilter): Promise<number> {
    const { where, params } = dlqWhere({ ...f, includeReplayed: true }, () => '?');
    return this.db.prepare(`DELETE FROM dlq ${where}`).run(...params).changes;
  }

  async addSuppressions(entries: Suppression[]): Promise<number> {
    const stmt = this.db.prepare('INSERT INTO suppressions (pipeline, col, digest, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    const now = new Date().toISOString();
    return this.db.transaction(() => entries.reduce((n, e) => n + stmt.run(e.pipeline, e.column, e.digest, now).changes, 0))();
  }

  async suppressions(pipeline: string): Promise<Map<string, Set<string>>> {
    return suppressionMap(this.db.prepare('SELECT col, digest FROM suppressions WHERE pipeline = ?').all(pipeline) as { col: string; digest: string }[]);
  }

  async liftSuppressions(entries: Suppression[]): Promise<number> {
    const stmt = this.db.prepare('DELETE FROM suppressions WHERE pipeline = ? AND col = ? AND digest = ?');
    return this.db.transaction(() => entries.reduce((n, e) => n + stmt.run(e.pipeline, e.column, e.digest).changes, 0))();
  }

  async listRuns(opts: { pipeline?: string; limit?: number }): Promise<RunRow[]> {
    const where = opts.pipeline ? 'WHERE pipeline = ?' : '';
    const params: unknown[] = opts.pipeline ? [opts.pipeline] : [];
    const rows = (name: string) => `(SELECT SUM(json_extract(s.counts, '$.${name}')) FROM streams s WHERE s.run_id = runs.run_id) AS ${name}`;
    return this.db.prepare(`SELECT run_id, pipeline, status, started_at, finished_at, duration_ms, error, file,
      (SELECT ROUND(AVG(q.score), 1) FROM quality q WHERE q.run_id = runs.run_id) AS quality_score,
      ${rows('extracted')}, ${rows('loaded')}, ${rows('dead_lettered')} FROM runs ${where}
      ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(...params, opts.limit ?? 20) as RunRow[];
  }

  async getRun(runId: string): Promise<RunDetail | undefined> {
    const run = this.db.prepare('SELECT * FROM runs WHERE run_id = ?').get(runId) as (RunTableRow & { summary: string | null }) | undefined;
    if (!run) return undefined;
    const all = <R>(sql: string): R[] => this.db.prepare(sql).all(runId) as R[];
    const { summary, ...row } = run;
    return {
      ...runRow(row), summary: summary ? JSON.parse(summary) : null,
      phases: all<PhaseRow>('SELECT * FROM phases WHERE run_id = ? ORDER BY rowid').map(phaseRecord),
      steps: all<StepRow>('SELECT * FROM transformer_runs WHERE run_id = ? ORDER BY stream, step').map(stepRecord),
      streams: all<StreamRow>('SELECT * FROM streams WHERE run_id = ? ORDER BY stream').map(streamRecord),
      schema_changes: all<ChangeRow>('SELECT * FROM schema_changes WHERE run_id = ? ORDER BY id').map(schemaChange),
      quality: all<QualityRow>('SELECT * FROM quality WHERE run_id = ? ORDER BY stream').map(qualityRecord),
    };
  }

  async stats(pipeline?: string): Promise<RunStats> {
    const where = pipeline ? `AND pipeline = ?` : '';
    const r = this.db.prepare(`SELECT COUNT(*) AS runs, SUM(status IN ('success', 'partial_success')) AS succeeded,
        AVG(duration_ms) AS mean FROM runs WHERE status != 'running' ${where}`).get(...(pipeline ? [pipeline] : [])) as
      { runs: number; succeeded: number | null; mean: number | null };
    return runStats(r.runs, r.succeeded, r.mean);
  }

  async pruneDlq(pipeline: string, before: Date, opts: { dryRun?: boolean } = {}): Promise<number> {
    const old = 'pipeline = ? AND created_at < ?';
    const at = before.toISOString();
    if (opts.dryRun) return this.db.prepare(`SELECT COUNT(*) FROM dlq WHERE ${old}`).pluck().get(pipeline, at) as number;
    // Walked by id, so each chunk starts where the last stopped instead of scanning the young entries again.
    const pick = this.db.prepare(`SELECT id FROM dlq WHERE ${old} AND id > ? ORDER BY id LIMIT ?`).pluck();
    const remove = this.db.prepare('DELETE FROM dlq WHERE id IN (SELECT value FROM json_each(?))');
    let removed = 0;
    for (let after = 0; ;) {
      const ids = pick.all(pipeline, at, after, DLQ_CHUNK) as number[];
      if (!ids.length) return removed;
      removed += remove.run(JSON.stringify(ids)).changes;
      after = ids[ids.length - 1];
      await nextTurn();
    }
  }

  async pruneRuns(pipeline: string, before: Date, opts: { logsOnly?: boolean; dryRun?: boolean } = {}): Promise<PrunedRuns> {
    const kept = JSON.stringify(this.keptRuns(pipeline));
    const old = `pipeline = ? AND status != 'running' AND finished_at < ? AND run_id NOT IN (SELECT value FROM json_each(?))
      ${opts.logsOnly ? 'AND EXISTS (SELECT 1 FROM run_logs l WHERE l.run_id = runs.run_id)' : ''}`;
    const args = [pipeline, before.toISOString(), kept];
    if (opts.dryRun) {
      const r = this.db.prepare(`SELECT COUNT(*) AS runs, COALESCE(SUM((SELECT COUNT(*) FROM run_logs l WHERE l.run_id = runs.run_id)), 0) AS lines
        FROM runs WHERE ${old}`).get(...args) as { runs: number; lines: number };
      return { runs: r.runs, logLines: r.lines };
    }
    const pick = this.db.prepare(`SELECT rowid, run_id FROM runs WHERE ${old} AND rowid > ? ORDER BY rowid LIMIT ?`).raw(true);
    const lines = this.db.prepare(`DELETE FROM run_logs WHERE rowid IN
      (SELECT rowid FROM run_logs WHERE run_id IN (SELECT value FROM json_each(?)) LIMIT ${LOG_CHUNK})`);
    const records = [...RUN_RECORD_TABLES, 'runs'].map((t) => this.db.prepare(`DELETE FROM ${t} WHERE run_id IN (SELECT value FROM json_each(?))`));
    const out: PrunedRuns = { runs: 0, logLines: 0 };
    for (let after = 0; ;) {
      const chunk = pick.all(...args, after, RUN_CHUNK) as [number, string][];
      if (!chunk.length) return out;
      const ids = JSON.stringify(chunk.map(([, id]) => id));
      let n: number;
      do {
        n = lines.run(ids).changes;
        out.logLines += n;
        await nextTurn();
      } while (n === LOG_CHUNK);
      // The log lines first: a pass stopped in between leaves runs without lines, which the next pass removes.
      if (!opts.logsOnly) {
        this.db.transaction(() => {
          for (const r of records) r.run(ids);
        })();
      }
      out.runs += chunk.length;
      after = chunk[chunk.length - 1][0];
      await nextTurn();
    }
  }

  /** The runs retention never removes (ControlStore.pruneRuns). */
  private keptRuns(pipeline: string): string[] {
    const latest = (where: string) => this.db.prepare(`SELECT run_id FROM runs WHERE pipeline = ? ${where}
      ORDER BY started_at DESC, rowid DESC LIMIT 1`).pluck().get(pipeline) as string | undefined;
    const finished = "AND status != 'running' AND COALESCE(json_extract(options, '$.dryRun'), 0) = 0";
    return [latest(''), latest(finished), latest(`${finished} AND status IN ('success', 'partial_success')`)].filter((id) => id !== undefined);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function openWal(path: string): SqliteDatabase {
  const db = openDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  return db;
}
