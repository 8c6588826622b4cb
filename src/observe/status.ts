// One consistent look at every served pipeline: its recent record, its DLQ, its health. `/metrics`, `/api/health`,
// the pipelines API and the alert rules read it; a short cache keeps a burst of scrapes from re-reading the store.
import type { ScheduleConfig } from '../config/schedule-spec.js';
import type { ControlStore } from '../control/control-store.js';
import type { PipelineOverview } from '../control/service-records.js';
import { overallHealth, pipelineHealth, type HealthStatus, type PipelineHealth } from './health.js';

/** Runs that health and success rates look at. */
export const HEALTH_WINDOW = 20;
/** How soon the store is read again once a run finished, and at the latest. */
const REFRESH_MS = 250;
const ROWS_MAX_AGE_MS = 5000;

export interface ServedPipeline {
  name: string;
  schedule?: ScheduleConfig;
  /** Why its file is invalid now (the last good version, if any, keeps running). */
  invalid?: string;
}

export interface StatusSnapshot {
  at: Date;
  overview: Map<string, PipelineOverview>;
  dlq: { pipeline: string; stream: string; rows: number }[];
  health: Record<string, PipelineHealth>;
  overall: { status: HealthStatus; score: number };
}

export class StatusView {
  /** The store's rows (overview, DLQ counts): the part that costs a query. */
  private rows?: { at: number; data: Promise<StoredStatus> };
  private cached?: { at: number; snapshot: Promise<StatusSnapshot> };
  private stale = false;

  constructor(
    private readonly store: ControlStore,
    private readonly served: () => ServedPipeline[],
    private readonly maxAgeMs = 1000,
  ) {}

  /**
   * The store is read again once a run finished (`stale`), but not more often than every REFRESH_MS — with many runs
   * finishing each second, reading the whole overview after every one would take the event loop from the scrapes —
   * and otherwise every ROWS_MAX_AGE_MS (other serve processes sharing the store finish runs too). Health, which
   * depends on the time (freshness), is worked out again from those rows at most every `maxAgeMs`.
   */
  snapshot(now = new Date()): Promise<StatusSnapshot> {
    const t = now.getTime();
    if (!this.rows || t - this.rows.at >= (this.stale ? REFRESH_MS : ROWS_MAX_AGE_MS)) {
      const data = this.readRows();
      this.rows = { at: t, data };
      data.catch(() => { this.rows = undefined; });
      this.stale = false;
      this.cached = undefined;
    }
    if (this.cached && t - this.cached.at < this.maxAgeMs) return this.cached.snapshot;
    const snapshot = this.rows.data.then((d) => this.build(d, now));
    this.cached = { at: t, snapshot };
    snapshot.catch(() => { this.cached = undefined; });
    return snapshot;
  }

  /** After a run finishes: the next read after REFRESH_MS sees it; `atOnce` (an action through the API): the next read. */
  invalidate(atOnce = false): void {
    this.stale = true;
    if (atOnce) {
      this.rows = undefined;
      this.cached = undefined;
    }
  }

  private async readRows(): Promise<StoredStatus> {
    const [rows, dlq] = await Promise.all([this.store.pipelineOverview(HEALTH_WINDOW), this.store.dlqCounts()]);
    return { overview: new Map(rows.map((r) => [r.pipeline, r])), dlq };
  }

  private build({ overview, dlq }: StoredStatus, now: Date): StatusSnapshot {
    const health: Record<string, PipelineHealth> = {};
    for (const p of this.served()) health[p.name] = pipelineHealth(overview.get(p.name), p.schedule, { now, invalid: p.invalid });
    return { at: now, overview, dlq, health, overall: overallHealth(health) };
  }
}

interface StoredStatus {
  overview: Map<string, PipelineOverview>;
  dlq: { pipeline: string; stream: string; rows: number }[];
}
