// The default control store: one SQLite file, `$SLUICE_HOME/control.db`. WAL mode so `sluice runs` can read while a
// run writes; every write is a short transaction, so concurrent processes only wait on each other briefly.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LockedError } from '../core/errors.js';
import { openDatabase, type SqliteDatabase } from '../core/sqlite-driver.js';
import type { StreamCounts } from '../core/types.js';
import type {
  ControlStore, DlqEntry, DlqFilter, LockOwner, PhaseRecord, QualityRecord, RunDetail, RunFinish, RunRow, RunStart, RunStats,
  SchemaChangeRecord, StreamRecord,
} from './control-store.js';
import { positionKey } from './control-store.js';
import { isProcessAlive } from './process.js';
import { SERVICE_MIGRATION, SqliteServiceStore } from './sqlite-service.js';

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
];

export class SqliteControlStore extends SqliteServiceStore implements ControlStore {
  constructor(home: string) {
    mkdirSync(home, { recursive: true });
    super(openWal(join(home, 'control.db')));
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
      const held = this.db.prepare('SELECT run_id, pid, host, acquired_at FROM locks WHERE pipeline = ?').get(pipeline) as
        | { run_id: string; pid: number; host: string; acquired_at: string } | undefined;
      // A lock whose process died (SIGKILL, power loss) on this host is stale; on another host we cannot tell.
      if (held && !(held.host === owner.host && !isProcessAlive(held.pid))) {
        throw new LockedError(
          `pipeline "${pipeline}" is already running (run ${held.run_id}, pid ${held.pid} on ${held.host}, since ${held.acquired_at}); ` +
            'wait for it to finish',
        );
      }
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
    this.db.prepare(`INSERT OR REPLACE INTO phases (run_id, stream, phase, status, duration_ms, rows_in, rows_out, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(p.runId, p.stream, p.phase, p.status, Math.round(p.durationMs), p.rowsIn ?? null, p.rowsOut ?? null, p.error ?? null);
  }

  async recordStream(s: StreamRecord): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO streams (run_id, stream, status, counts, error) VALUES (?, ?, ?, ?, ?)')
      .run(s.runId, s.stream, s.status, JSON.stringify(s.counts), s.error ?? null);
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
        const key = positionKey(e.position) + '|' + createHash('sha1').update(e.raw).digest('hex');
        added += insert.run(e.pipeline, e.stream, e.runId, e.stage, e.reason, e.raw, JSON.stringify(e.position), key, now).changes;
      }
      return added;
    })();
  }

  async listDlq(f: DlqFilter): Promise<DlqEntry[]> {
    const { where, params } = dlqWhere(f);
    const rows = this.db.prepare(`SELECT * FROM dlq ${where} ORDER BY id LIMIT ?`).all(...params, f.limit ?? -1) as DlqRow[];
    return rows.map((r) => ({
      id: r.id, pipeline: r.pipeline, stream: r.stream, runId: r.run_id, stage: r.stage as DlqEntry['stage'],
      reason: r.reason, raw: r.raw, position: JSON.parse(r.position), createdAt: r.created_at, replayedAt: r.replayed_at,
    }));
  }

  async markReplayed(ids: number[]): Promise<void> {
    const stmt = this.db.prepare('UPDATE dlq SET replayed_at = ? WHERE id = ?');
    const now = new Date().toISOString();
    this.db.transaction(() => ids.forEach((id) => stmt.run(now, id)))();
  }

  async purgeDlq(f: DlqFilter): Promise<number> {
    const { where, params } = dlqWhere({ ...f, includeReplayed: true });
    return this.db.prepare(`DELETE FROM dlq ${where}`).run(...params).changes;
  }

  async listRuns(opts: { pipeline?: string; limit?: number }): Promise<RunRow[]> {
    const where = opts.pipeline ? 'WHERE pipeline = ?' : '';
    const params: unknown[] = opts.pipeline ? [opts.pipeline] : [];
    return this.db.prepare(`SELECT run_id, pipeline, status, started_at, finished_at, duration_ms, error, file,
      (SELECT ROUND(AVG(q.score), 1) FROM quality q WHERE q.run_id = runs.run_id) AS quality_score FROM runs ${where}
      ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(...params, opts.limit ?? 20) as RunRow[];
  }

  async getRun(runId: string): Promise<RunDetail | undefined> {
    const run = this.db.prepare('SELECT * FROM runs WHERE run_id = ?').get(runId) as (RunRow & { summary: string | null }) | undefined;
    if (!run) return undefined;
    const phases = (this.db.prepare('SELECT * FROM phases WHERE run_id = ? ORDER BY rowid').all(runId) as PhaseRow[]).map((p) => ({
      runId: p.run_id, stream: p.stream, phase: p.phase as PhaseRecord['phase'], status: p.status as PhaseRecord['status'],
      durationMs: p.duration_ms, rowsIn: p.rows_in ?? undefined, rowsOut: p.rows_out ?? undefined, error: p.error ?? undefined,
    }));
    const streams = (this.db.prepare('SELECT * FROM streams WHERE run_id = ? ORDER BY stream').all(runId) as StreamRow[]).map((s) => ({
      runId: s.run_id, stream: s.stream, status: s.status as StreamRecord['status'], counts: JSON.parse(s.counts), error: s.error ?? undefined,
    }));
    const schemaChanges = (this.db.prepare('SELECT * FROM schema_changes WHERE run_id = ? ORDER BY id').all(runId) as ChangeRow[]).map((c) => ({
      runId: c.run_id, stream: c.stream, change: c.change, column: c.col, from: c.from_type ?? undefined, to: c.to_type ?? undefined,
    }));
    const quality = (this.db.prepare('SELECT * FROM quality WHERE run_id = ? ORDER BY stream').all(runId) as QualityRow[]).map((q) => ({
      runId: q.run_id, pipeline: q.pipeline, stream: q.stream, report: JSON.parse(q.report) as QualityRecord['report'],
    }));
    const { summary, ...row } = run;
    return { ...row, summary: summary ? JSON.parse(summary) : null, phases, streams, schema_changes: schemaChanges, quality };
  }

  async stats(pipeline?: string): Promise<RunStats> {
    const where = pipeline ? `AND pipeline = ?` : '';
    const r = this.db.prepare(`SELECT COUNT(*) AS runs, SUM(status IN ('success', 'partial_success')) AS succeeded,
        AVG(duration_ms) AS mean FROM runs WHERE status != 'running' ${where}`).get(...(pipeline ? [pipeline] : [])) as
      { runs: number; succeeded: number | null; mean: number | null };
    return {
      runs: r.runs,
      succeeded: r.succeeded ?? 0,
      success_rate: r.runs ? (r.succeeded ?? 0) / r.runs : 0,
      mean_duration_ms: r.mean === null ? null : Math.round(r.mean),
    };
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

interface DlqRow { id: number; pipeline: string; stream: string; run_id: string; stage: string; reason: string; raw: string; position: string; created_at: string; replayed_at: string | null }
interface PhaseRow { run_id: string; stream: string; phase: string; status: string; duration_ms: number; rows_in: number | null; rows_out: number | null; error: string | null }
interface StreamRow { run_id: string; stream: string; status: string; counts: string; error: string | null }
interface QualityRow { run_id: string; pipeline: string; stream: string; report: string }
interface ChangeRow { run_id: string; stream: string; change: string; col: string; from_type: string | null; to_type: string | null }

function dlqWhere(f: DlqFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.pipeline) { clauses.push('pipeline = ?'); params.push(f.pipeline); }
  if (f.stream) { clauses.push('stream = ?'); params.push(f.stream); }
  if (f.runId) { clauses.push('run_id = ?'); params.push(f.runId); }
  if (f.ids?.length) { clauses.push(`id IN (${f.ids.map(() => '?').join(', ')})`); params.push(...f.ids); }
  if (!f.includeReplayed) clauses.push('replayed_at IS NULL');
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
