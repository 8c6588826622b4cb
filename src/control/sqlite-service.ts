// The service records (service-records.ts) in the SQLite control store. Every read-then-write is one IMMEDIATE
// transaction, so serve processes sharing the file never both claim a run, both hold the lease or fork the audit chain.
import type { SqliteDatabase } from '../core/sqlite-driver.js';
import { chainEntry } from './audit-chain.js';
import type {
  AlertState, AuditEntry, AuditInput, BackfillRecord, OutboxDelivery, PausedSchedule, PipelineOverview, ScheduledRun, ScheduledRunUpdate,
  ScheduledStatus, ServiceStore,
} from './service-records.js';
import {
  type AlertRow, type AuditRow, type OutboxRow, type ScheduledRow, alertState, auditEntry, delivery, scheduledRun,
} from './store-rows.js';

export const SERVICE_MIGRATION = `
  CREATE TABLE scheduled_runs (
    pipeline TEXT NOT NULL, scheduled_for INTEGER NOT NULL, trigger_kind TEXT NOT NULL, status TEXT NOT NULL,
    holder TEXT NOT NULL, run_id TEXT, attempt INTEGER NOT NULL DEFAULT 0, claimed_at INTEGER NOT NULL,
    started_at INTEGER, finished_at INTEGER, error TEXT, actor TEXT, PRIMARY KEY (pipeline, scheduled_for));
  CREATE INDEX scheduled_runs_status ON scheduled_runs (status);
  CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, pipeline TEXT, run_id TEXT,
    detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
  CREATE INDEX audit_run ON audit (run_id);
  CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
  CREATE TABLE alerts (
    rule TEXT NOT NULL, pipeline TEXT NOT NULL, stream TEXT NOT NULL, status TEXT NOT NULL, dedup_key TEXT NOT NULL,
    summary TEXT NOT NULL, severity TEXT NOT NULL, opened_at TEXT NOT NULL, last_sent_at TEXT NOT NULL, resolved_at TEXT,
    PRIMARY KEY (rule, pipeline, stream));
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, channel TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT, last_error TEXT);
  CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);`;

const ms = (v: number | null): Date | undefined => (v === null ? undefined : new Date(v));

export const BACKFILL_MIGRATION = `
  CREATE TABLE backfills (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    doc TEXT NOT NULL);
  CREATE INDEX backfills_pipeline ON backfills (pipeline, created_at);`;

export class SqliteServiceStore implements ServiceStore {
  constructor(protected readonly db: SqliteDatabase) {}

  async saveBackfill(b: BackfillRecord): Promise<void> {
    this.db.prepare(`INSERT INTO backfills (id, pipeline, status, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, doc = excluded.doc`)
      .run(b.id, b.pipeline, b.status, b.createdAt, b.updatedAt, JSON.stringify(b));
  }

  async getBackfill(id: string): Promise<BackfillRecord | undefined> {
    const r = this.db.prepare('SELECT doc FROM backfills WHERE id = ?').get(id) as { doc: string } | undefined;
    return r && (JSON.parse(r.doc) as BackfillRecord);
  }

  async listBackfills(opts: { pipeline?: string; limit?: number }): Promise<BackfillRecord[]> {
    const rows = (opts.pipeline
      ? this.db.prepare('SELECT doc FROM backfills WHERE pipeline = ? ORDER BY created_at DESC LIMIT ?').all(opts.pipeline, opts.limit ?? 50)
      : this.db.prepare('SELECT doc FROM backfills ORDER BY created_at DESC LIMIT ?').all(opts.limit ?? 50)) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as BackfillRecord);
  }

  async pipelineOverview(window: number, only?: readonly string[]): Promise<PipelineOverview[]> {
    return this.db.prepare(`WITH ranked AS (
        SELECT run_id, pipeline, status, finished_at, duration_ms, summary,
          ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY started_at DESC, rowid DESC) AS n
        FROM runs WHERE status != 'running' AND COALESCE(json_extract(options, '$.dryRun'), 0) = 0
          AND (? IS NULL OR pipeline IN (SELECT value FROM json_each(?))))
      SELECT pipeline, COUNT(*) AS runs, SUM(status IN ('success', 'partial_success')) AS succeeded,
        group_concat(CASE WHEN status IN ('success', 'partial_success') THEN 's' ELSE 'f' END, '' ORDER BY n) AS outcomes,
        CAST(ROUND(AVG(duration_ms)) AS INTEGER) AS mean_duration_ms,
        MAX(CASE WHEN n = 1 THEN status END) AS last_status, MAX(CASE WHEN n = 1 THEN run_id END) AS last_run_id,
        MAX(CASE WHEN n = 1 THEN finished_at END) AS last_finished_at,
        COALESCE(MAX(CASE WHEN n = 1 THEN (SELECT SUM(json_extract(value, '$.dead_lettered')) FROM json_each(summary, '$.streams')) END), 0) AS last_dead_lettered,
        (SELECT MAX(finished_at) FROM runs r2 WHERE r2.pipeline = ranked.pipeline AND r2.status IN ('success', 'partial_success')) AS last_success_at,
        (SELECT ROUND(AVG(q.score), 1) FROM quality q WHERE q.run_id = MAX(CASE WHEN n = 1 THEN ranked.run_id END)) AS quality_score
      FROM ranked WHERE n <= ? GROUP BY pipeline ORDER BY pipeline`)
      .all(only ? 1 : null, JSON.stringify(only ?? []), window) as PipelineOverview[];
  }

  async dlqCounts(): Promise<{ pipeline: string; stream: string; rows: number }[]> {
    return this.db.prepare('SELECT pipeline, stream, COUNT(*) AS rows FROM dlq WHERE replayed_at IS NULL GROUP BY pipeline, stream ORDER BY pipeline, stream')
      .all() as { pipeline: string; stream: string; rows: number }[];
  }

  async claimScheduledRun(r: Pick<ScheduledRun, 'pipeline' | 'scheduledFor' | 'trigger' | 'holder'> & { actor?: string }): Promise<boolean> {
    return this.db.prepare(`INSERT INTO scheduled_runs (pipeline, scheduled_for, trigger_kind, status, holder, claimed_at, actor)
      VALUES (?, ?, ?, 'claimed', ?, ?, ?) ON CONFLICT DO NOTHING`)
      .run(r.pipeline, r.scheduledFor.getTime(), r.trigger, r.holder, Date.now(), r.actor ?? null).changes === 1;
  }

  async updateScheduledRun(pipeline: string, scheduledFor: Date, u: ScheduledRunUpdate): Promise<void> {
    this.db.prepare(`UPDATE scheduled_runs SET status = ?, run_id = COALESCE(?, run_id), attempt = COALESCE(?, attempt),
      started_at = COALESCE(?, started_at), finished_at = COALESCE(?, finished_at), error = ? WHERE pipeline = ? AND scheduled_for = ?`)
      .run(u.status, u.runId ?? null, u.attempt ?? null, u.startedAt?.getTime() ?? null, u.finishedAt?.getTime() ?? null,
        u.error ?? null, pipeline, scheduledFor.getTime());
  }

  async lastScheduledFor(pipeline: string): Promise<Date | undefined> {
    const r = this.db.prepare(`SELECT MAX(scheduled_for) AS t FROM scheduled_runs WHERE pipeline = ? AND trigger_kind = 'schedule'`)
      .get(pipeline) as { t: number | null };
    return ms(r.t);
  }

  async listScheduledRuns(opts: { pipeline?: string; status?: ScheduledStatus[]; limit?: number }): Promise<ScheduledRun[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (opts.pipeline) { clauses.push('pipeline = ?'); params.push(opts.pipeline); }
    if (opts.status?.length) { clauses.push(`status IN (${opts.status.map(() => '?').join(', ')})`); params.push(...opts.status); }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT * FROM scheduled_runs ${where} ORDER BY scheduled_for DESC LIMIT ?`)
      .all(...params, opts.limit ?? 100) as ScheduledRow[];
    return rows.map(scheduledRun);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return this.db.prepare(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at < ?`).run(name, holder, now + ttlMs, now).changes === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  async appendAudit(input: AuditInput): Promise<AuditEntry> {
    return this.db.transaction(() => {
      const head = this.db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
      const entry = chainEntry(input, head);
      this.db.prepare(`INSERT INTO audit (seq, at, actor, action, pipeline, run_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(entry.seq, entry.at, entry.actor, entry.action, entry.pipeline, entry.runId, JSON.stringify(entry.detail), entry.prevHash, entry.hash);
      this.db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash')
        .run(entry.seq, entry.hash);
      return entry;
    }).immediate();
  }

  async listAudit(opts: { runId?: string; pipeline?: string; afterSeq?: number; limit?: number; newestFirst?: boolean }): Promise<AuditEntry[]> {
    const clauses = ['seq > ?'];
    const params: unknown[] = [opts.afterSeq ?? 0];
    if (opts.runId) { clauses.push('run_id = ?'); params.push(opts.runId); }
    if (opts.pipeline) { clauses.push('pipeline = ?'); params.push(opts.pipeline); }
    const rows = this.db.prepare(`SELECT * FROM audit WHERE ${clauses.join(' AND ')} ORDER BY seq ${opts.newestFirst ? 'DESC' : ''} LIMIT ?`)
      .all(...params, opts.limit ?? -1) as AuditRow[];
    return rows.map(auditEntry);
  }

  async auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return this.db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
  }

  async getAlert(rule: string, pipeline: string, stream: string): Promise<AlertState | undefined> {
    const r = this.db.prepare('SELECT * FROM alerts WHERE rule = ? AND pipeline = ? AND stream = ?').get(rule, pipeline, stream) as AlertRow | undefined;
    return r && alertState(r);
  }

  async saveAlert(a: AlertState): Promise<void> {
    this.db.prepare(`INSERT INTO alerts (rule, pipeline, stream, status, dedup_key, summary, severity, opened_at, last_sent_at, resolved_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, pipeline, stream) DO UPDATE SET status = excluded.status,
      dedup_key = excluded.dedup_key, summary = excluded.summary, severity = excluded.severity, opened_at = excluded.opened_at,
      last_sent_at = excluded.last_sent_at, resolved_at = excluded.resolved_at`)
      .run(a.rule, a.pipeline, a.stream, a.status, a.dedupKey, a.summary, a.severity, a.openedAt, a.lastSentAt, a.resolvedAt);
  }

  async setPaused(pipeline: string, actor: string | null): Promise<void> {
    if (actor === null) this.db.prepare('DELETE FROM paused WHERE pipeline = ?').run(pipeline);
    else this.db.prepare('INSERT OR IGNORE INTO paused (pipeline, actor, at) VALUES (?, ?, ?)').run(pipeline, actor, new Date().toISOString());
  }

  async listPaused(): Promise<PausedSchedule[]> {
    return this.db.prepare('SELECT pipeline, actor, at FROM paused ORDER BY pipeline').all() as PausedSchedule[];
  }

  async listAlerts(opts: { status?: AlertState['status'] }): Promise<AlertState[]> {
    const rows = (opts.status
      ? this.db.prepare('SELECT * FROM alerts WHERE status = ? ORDER BY opened_at').all(opts.status)
      : this.db.prepare('SELECT * FROM alerts ORDER BY opened_at').all()) as AlertRow[];
    return rows.map(alertState);
  }

  async enqueueDelivery(channel: string, body: Record<string, unknown>): Promise<number> {
    return Number(this.db.prepare('INSERT INTO outbox (channel, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?)')
      .run(channel, JSON.stringify(body), Date.now(), new Date().toISOString()).lastInsertRowid);
  }

  async dueDeliveries(nowMs: number, limit: number): Promise<OutboxDelivery[]> {
    return (this.db.prepare('SELECT * FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?')
      .all(nowMs, limit) as OutboxRow[]).map(delivery);
  }

  async markDelivered(id: number): Promise<void> {
    this.db.prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(new Date().toISOString(), id);
  }

  async markDeliveryFailed(id: number, error: string, nextAttemptAt: number): Promise<void> {
    this.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?').run(error, nextAttemptAt, id);
  }

  async listDeliveries(opts: { pending?: boolean; limit?: number }): Promise<OutboxDelivery[]> {
    const where = opts.pending ? 'WHERE delivered_at IS NULL' : '';
    return (this.db.prepare(`SELECT * FROM outbox ${where} ORDER BY id DESC LIMIT ?`).all(opts.limit ?? 100) as OutboxRow[]).map(delivery);
  }
}
