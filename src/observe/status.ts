// One consistent look at every served pipeline: its recent record, its DLQ, its health. `/metrics`, `/api/health`,
// the pipelines API and the alert rules read it; a short cache keeps a burst of scrapes from re-reading the store.
import type { ScheduleConfig } from '../config/schedule-spec.js';
import type { ControlStore } from '../control/control-store.js';
import type { PipelineOverview } from '../control/service-records.js';
import { overallHealth, pipelineHealth, type HealthStatus, type PipelineHealth } from './health.js';

/** Runs that health and success rates look at. */
export const HEALTH_WINDOW = 20;
/** How soon a snapshot is read again once a run finished. */
const REFRESH_MS = 250;

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
  private cached?: { at: number; snapshot: Promise<StatusSnapshot> };
  private stale = false;

  constructor(
    private readonly store: ControlStore,
    private readonly served: () => ServedPipeline[],
    private readonly maxAgeMs = 1000,
  ) {}

  snapshot(now = new Date()): Promise<StatusSnapshot> {
    // Stale (a run finished) it is read again, but not more often than every REFRESH_MS: with many runs finishing
    // each second, reading the whole overview after every one would take the event loop from the scrapes.
    const age = this.cached ? now.getTime() - this.cached.at : Infinity;
    if (this.cached && age < (this.stale ? REFRESH_MS : this.maxAgeMs)) return this.cached.snapshot;
    const snapshot = this.read(now);
    this.stale = false;
    this.cached = { at: now.getTime(), snapshot };
    snapshot.catch(() => { this.cached = undefined; });
    return snapshot;
  }

  /** After a run finishes: the next read after REFRESH_MS sees it; `atOnce` (an action through the API): the next read. */
  invalidate(atOnce = false): void {
    this.stale = true;
    if (atOnce) this.cached = undefined;
  }

  private async read(now: Date): Promise<StatusSnapshot> {
    const [rows, dlq] = await Promise.all([this.store.pipelineOverview(HEALTH_WINDOW), this.store.dlqCounts()]);
    const overview = new Map(rows.map((r) => [r.pipeline, r]));
    const health: Record<string, PipelineHealth> = {};
    for (const p of this.served()) health[p.name] = pipelineHealth(overview.get(p.name), p.schedule, { now, invalid: p.invalid });
    return { at: now, overview, dlq, health, overall: overallHealth(health) };
  }
}
