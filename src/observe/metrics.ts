// Prometheus metrics (DESIGN.md lists the names dashboards and alerts rely on). Counters and histograms count what
// this process ran; gauges are read from the control store at scrape time, so every serve process sharing a store
// reports the same last success, quality, DLQ size and health. Labels are pipeline, stream, phase, status and
// outcome only: never a run id or another unbounded value.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunSummary } from '../engine/runner.js';
import type { StatusView } from './status.js';

const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600];
const OUTCOMES = ['extracted', 'loaded', 'dead_lettered', 'filtered'] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'pipeline' | 'status'>;
  private readonly rows: Counter<'pipeline' | 'stream' | 'outcome'>;
  private readonly runDuration: Histogram<'pipeline'>;
  private readonly phaseDuration: Histogram<'pipeline' | 'phase'>;
  private readonly lag: Histogram<'pipeline'>;

  constructor(status: StatusView, extra: { running: () => number; leader: () => boolean }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges `_total`, which the exposition conventions reserve for counters (promtool says so).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    this.runs = new Counter({ name: 'sluice_runs_total', help: 'Runs finished, by status (skipped and timed_out included).', labelNames: ['pipeline', 'status'], registers });
    this.rows = new Counter({ name: 'sluice_rows_total', help: 'Rows per stream by outcome: extracted = loaded + dead_lettered + filtered.', labelNames: ['pipeline', 'stream', 'outcome'], registers });
    this.runDuration = new Histogram({ name: 'sluice_run_duration_seconds', help: 'Run duration.', labelNames: ['pipeline'], buckets: DURATION_BUCKETS, registers });
    this.phaseDuration = new Histogram({ name: 'sluice_phase_duration_seconds', help: 'Phase duration, summed over a run\'s streams.', labelNames: ['pipeline', 'phase'], buckets: DURATION_BUCKETS, registers });
    this.lag = new Histogram({ name: 'sluice_schedule_lag_seconds', help: 'Start time minus due time of scheduled runs.', labelNames: ['pipeline'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 120], registers });
    const fromStatus = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, s: Awaited<ReturnType<StatusView['snapshot']>>) => void) =>
      new Gauge({
        name, help, labelNames, registers,
        async collect() {
          const s = await status.snapshot();
          this.reset();
          fill(this, s);
        },
      });
    fromStatus('sluice_last_success_timestamp_seconds', 'When the pipeline last finished a run that loaded (Unix seconds).', ['pipeline'], (g, s) => {
      for (const o of s.overview.values()) if (o.last_success_at) g.set({ pipeline: o.pipeline }, Date.parse(o.last_success_at) / 1000);
    });
    fromStatus('sluice_freshness_seconds', 'Age of the pipeline\'s last successful run.', ['pipeline'], (g, s) => {
      for (const o of s.overview.values()) if (o.last_success_at) g.set({ pipeline: o.pipeline }, (s.at.getTime() - Date.parse(o.last_success_at)) / 1000);
    });
    fromStatus('sluice_quality_score', 'Quality score (0–100) of the pipeline\'s last run with checks.', ['pipeline'], (g, s) => {
      for (const o of s.overview.values()) if (o.quality_score !== null) g.set({ pipeline: o.pipeline }, o.quality_score);
    });
    fromStatus('sluice_dlq_rows', 'Rows waiting in the dead-letter queue.', ['pipeline', 'stream'], (g, s) => {
      for (const d of s.dlq) g.set({ pipeline: d.pipeline, stream: d.stream }, d.rows);
    });
    fromStatus('sluice_success_rate', 'Share of the last runs that loaded.', ['pipeline'], (g, s) => {
      for (const o of s.overview.values()) if (o.runs) g.set({ pipeline: o.pipeline }, o.succeeded / o.runs);
    });
    fromStatus('sluice_health_score', 'Health score (0–100) per pipeline; see /api/health for its issues.', ['pipeline'], (g, s) => {
      for (const [pipeline, h] of Object.entries(s.health)) g.set({ pipeline }, h.score);
    });
    new Gauge({ name: 'sluice_runs_running', help: 'Runs going now in this process.', registers, collect() { this.set(extra.running()); } });
    new Gauge({ name: 'sluice_scheduler_leader', help: '1 when this process holds the scheduler lease.', registers, collect() { this.set(extra.leader() ? 1 : 0); } });
  }

  /** Counts a finished run (or one that ended without running: skipped, failed to start). */
  recordRun(pipeline: string, status: string, summary?: RunSummary, lagSeconds?: number): void {
    this.runs.inc({ pipeline, status });
    if (lagSeconds !== undefined) this.lag.observe({ pipeline }, Math.max(0, lagSeconds));
    if (!summary) return;
    this.runDuration.observe({ pipeline }, summary.duration_ms / 1000);
    for (const p of summary.phases) this.phaseDuration.observe({ pipeline, phase: p.phase }, p.duration_ms / 1000);
    for (const [stream, counts] of Object.entries(summary.streams)) {
      // Zero increments too: a series exists from a stream's first run, so rate() and alerts see it.
      for (const outcome of OUTCOMES) this.rows.inc({ pipeline, stream, outcome }, counts[outcome] ?? 0);
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
