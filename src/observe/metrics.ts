// Prometheus metrics (DESIGN.md lists the names dashboards and alerts rely on). Counters and histograms count what
// this process ran; gauges are read from the control store at scrape time, so every serve process sharing a store
// reports the same last success, quality, DLQ size and health. Labels are pipeline, stream, phase, status and
// outcome only (and, for the streams of a mode: cdc sync, sync, stream, op and wal_status): never a run id or another
// unbounded value. A sync's lag is sampled by the service on a timer and read here from memory, so a scrape stays
// cheap. Sluice's own families render themselves (exposition.ts, for scrape time); prom-client supplies the process
// metrics.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { RunSummary } from '../engine/runner.js';
import { CounterFamily, GaugeFamily, HistogramFamily, type Chunk } from './exposition.js';
import type { StatusSnapshot, StatusView } from './status.js';
import type { SyncStreamView } from './sync-status.js';

// Seven buckets from half a second to two hours: a pipeline run is seconds to hours, and each bucket is a line per
// pipeline and phase at every scrape.
const DURATION_BUCKETS = [0.5, 5, 30, 120, 600, 1800, 7200];
const OUTCOMES = ['extracted', 'loaded', 'dead_lettered', 'filtered'] as const;

export class Metrics {
  private readonly process = new Registry();
  private readonly runs = new CounterFamily('sluice_runs_total', 'Runs finished, by status (skipped and timed_out included).', ['pipeline', 'status']);
  private readonly rows = new CounterFamily('sluice_rows_total', 'Rows per stream by outcome: extracted = loaded + dead_lettered + filtered.', ['pipeline', 'stream', 'outcome']);
  private readonly runDuration = new HistogramFamily('sluice_run_duration_seconds', 'Run duration.', ['pipeline'], DURATION_BUCKETS);
  private readonly phaseDuration = new HistogramFamily('sluice_phase_duration_seconds', 'Phase duration, summed over a run\'s streams.', ['pipeline', 'phase'], DURATION_BUCKETS);
  /** One histogram for the service: the lag is the scheduler's, not a pipeline's. */
  private readonly lag = new HistogramFamily('sluice_schedule_lag_seconds', 'Start time minus due time of scheduled runs.', [], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 120]);
  private readonly syncChanges = new CounterFamily('sluice_sync_changes_total', 'Rows a mode: cdc sync stream applied to its target, by op (upsert, delete).', ['sync', 'stream', 'op']);
  private readonly syncTransactions = new CounterFamily('sluice_sync_transactions_total', 'Source transactions a mode: cdc sync stream applied.', ['sync', 'stream']);
  private readonly syncFailures = new CounterFamily('sluice_sync_failures_total', 'Times a mode: cdc sync failed (it starts again after a wait).', ['sync']);
  private snapshot?: StatusSnapshot;
  private readonly gauges: GaugeFamily[];

  constructor(private readonly status: StatusView, extra: { running: () => number; leader: () => boolean; syncs?: () => SyncStreamView[] }) {
    // Event-loop delay sampled every 100 ms, not prom-client's 10: an idle service should not wake 100 times a second.
    collectDefaultMetrics({ register: this.process, eventLoopMonitoringPrecision: 100 });
    // prom-client names these gauges `_total`, which the exposition conventions reserve for counters (promtool says so).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.process.removeSingleMetric(name);
    const fromStatus = (name: string, help: string, labels: string[], fill: (set: (v: readonly string[], x: number) => void, s: StatusSnapshot) => void) =>
      new GaugeFamily(name, help, labels, (set) => fill(set, this.snapshot!));
    this.gauges = [
      fromStatus('sluice_last_success_timestamp_seconds', 'When the pipeline last finished a run that loaded (Unix seconds).', ['pipeline'], (set, s) => {
        for (const o of s.overview.values()) if (o.last_success_at) set([o.pipeline], Date.parse(o.last_success_at) / 1000);
      }),
      fromStatus('sluice_freshness_seconds', 'Age of the pipeline\'s last successful run.', ['pipeline'], (set, s) => {
        for (const o of s.overview.values()) if (o.last_success_at) set([o.pipeline], (s.at.getTime() - Date.parse(o.last_success_at)) / 1000);
      }),
      fromStatus('sluice_quality_score', 'Quality score (0–100) of the pipeline\'s last run with checks.', ['pipeline'], (set, s) => {
        for (const o of s.overview.values()) if (o.quality_score !== null) set([o.pipeline], o.quality_score);
      }),
      fromStatus('sluice_dlq_rows', 'Rows waiting in the dead-letter queue.', ['pipeline', 'stream'], (set, s) => {
        for (const d of s.dlq) set([d.pipeline, d.stream], d.rows);
      }),
      fromStatus('sluice_success_rate', 'Share of the last runs that loaded.', ['pipeline'], (set, s) => {
        for (const o of s.overview.values()) if (o.runs) set([o.pipeline], o.succeeded / o.runs);
      }),
      fromStatus('sluice_health_score', 'Health score (0–100) per pipeline; see /api/health for its issues.', ['pipeline'], (set, s) => {
        for (const [pipeline, h] of Object.entries(s.health)) set([pipeline], h.score);
      }),
      new GaugeFamily('sluice_runs_running', 'Runs going now in this process.', [], (set) => set([], extra.running())),
      new GaugeFamily('sluice_scheduler_leader', '1 when this process holds the scheduler lease.', [], (set) => set([], extra.leader() ? 1 : 0)),
      ...syncGauges(extra.syncs ?? (() => [])),
    ];
  }

  /** Counts a finished run (or one that ended without running: skipped, failed to start). */
  recordRun(pipeline: string, status: string, summary?: RunSummary, lagSeconds?: number): void {
    this.runs.inc([pipeline, status]);
    if (lagSeconds !== undefined) this.lag.observe([], Math.max(0, lagSeconds));
    if (!summary) return;
    this.runDuration.observe([pipeline], summary.duration_ms / 1000);
    // A phase that took no time did not happen in this run (no transforms, nothing to publish): not a sample of it.
    for (const p of summary.phases) if (p.duration_ms > 0) this.phaseDuration.observe([pipeline, p.phase], p.duration_ms / 1000);
    for (const [stream, counts] of Object.entries(summary.streams)) {
      // Zero increments too: a series exists from a stream's first run, so rate() and alerts see it.
      for (const outcome of OUTCOMES) this.rows.inc([pipeline, stream, outcome], counts[outcome] ?? 0);
    }
  }

  /** What a mode: cdc sync stream applied since it last said. */
  recordSync(sync: string, stream: string, delta: { upserted: number; removed: number; transactions: number }): void {
    this.syncChanges.inc([sync, stream, 'upsert'], delta.upserted);
    this.syncChanges.inc([sync, stream, 'delete'], delta.removed);
    this.syncTransactions.inc([sync, stream], delta.transactions);
  }

  recordSyncFailure(sync: string): void {
    this.syncFailures.inc([sync]);
  }

  /**
   * The exposition in parts: most of it is histogram blocks kept encoded (exposition.ts), handed over as they are.
   * Sent part by part: copying 5 MB into one buffer cost 14 ms a scrape here, nearly all of it fresh pages.
   */
  async parts(): Promise<Buffer[]> {
    this.snapshot = await this.status.snapshot();
    const out: Chunk[] = [await this.process.metrics()];
    for (const f of [this.runs, this.rows, this.runDuration, this.phaseDuration, this.lag, this.syncChanges, this.syncTransactions, this.syncFailures, ...this.gauges]) f.render(out);
    // Runs of text are joined and encoded once.
    const parts: Buffer[] = [];
    let text: string[] = [];
    for (const c of out) {
      if (typeof c === 'string') {
        text.push(c);
        continue;
      }
      if (text.length) parts.push(Buffer.from(text.join('')));
      text = [];
      parts.push(c);
    }
    if (text.length) parts.push(Buffer.from(text.join('')));
    return parts;
  }

  async text(): Promise<string> {
    return Buffer.concat(await this.parts()).toString();
  }

  get contentType(): string {
    return this.process.contentType;
  }
}

/** The gauges of mode: cdc sync streams: state, lag by time, and the source's log not yet applied (or kept for them). */
function syncGauges(views: () => SyncStreamView[]): GaugeFamily[] {
  const LABELS = ['sync', 'stream'];
  const each = (name: string, help: string, value: (v: SyncStreamView) => number | undefined) =>
    new GaugeFamily(name, help, LABELS, (set) => {
      for (const v of views()) {
        const x = value(v);
        if (x !== undefined) set([v.sync, v.stream], x);
      }
    });
  return [
    each('sluice_sync_streaming', '1 while the stream applies changes, 0 while it starts, waits to start again after a failure, or is stopped.', (v) => (v.state === 'streaming' ? 1 : 0)),
    each('sluice_sync_last_commit_timestamp_seconds', 'When the source committed the last transaction the stream applied (Unix seconds).', (v) => (v.lastCommitAt ? v.lastCommitAt.getTime() / 1000 : undefined)),
    each('sluice_sync_lag_seconds', 'Source commit to target commit of the last transaction the stream applied; 0 once it has caught up.', (v) => v.lagSeconds),
    each('sluice_sync_lag_bytes', 'Bytes of the source\'s log past what the stream applied: PostgreSQL, its slot\'s confirmed_flush_lsn to the current WAL position; MariaDB, its binlog position to the server\'s.', (v) => v.lag?.lagBytes),
    each('sluice_sync_wal_retained_bytes', 'PostgreSQL: WAL the server keeps for the stream\'s slot (restart_lsn to the current WAL position).', (v) => v.lag?.retainedBytes),
    each('sluice_sync_safe_wal_size_bytes', 'PostgreSQL: WAL that may still be written before the slot is at risk of losing what it needs (max_slot_wal_keep_size).', (v) => v.lag?.safeWalSize),
    new GaugeFamily('sluice_sync_wal_status', 'PostgreSQL: 1 for the wal_status of the stream\'s slot (reserved, extended, unreserved, lost).', [...LABELS, 'wal_status'], (set) => {
      for (const v of views()) if (v.lag?.walStatus) set([v.sync, v.stream, v.lag.walStatus], 1);
    }),
  ];
}
