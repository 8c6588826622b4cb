// Decides which scheduled runs are due and claims them. Several `serve` processes may share one control store: the
// one holding the `scheduler` lease schedules; the others serve the API and take over when the lease expires (a
// leader that crashed stops renewing it). Claiming the (pipeline, due time) key is what keeps a run from starting
// twice, even if two processes believed themselves leader for a moment.
import type { ScheduleConfig } from '../config/schedule-spec.js';
import type { ControlStore } from '../control/control-store.js';
import type { Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';
import { DueTimes } from './due-times.js';
import type { RunRequest } from './executor.js';

export const SCHEDULER_LEASE = 'scheduler';
const FAR = new Date(8.64e15);

export interface SchedulerOptions {
  store: ControlStore;
  holder: string;
  /** Current schedules by pipeline name. */
  schedules: () => Map<string, ScheduleConfig>;
  submit: (req: RunRequest) => void;
  /** Pipelines whose schedule is paused: their due times pass without runs (none are caught up on resume). */
  paused?: () => ReadonlyMap<string, unknown>;
  logger: Logger;
  leaseMs?: number;
  now?: () => Date;
  /** `catchup: none` still runs a due time this recent (a tick that came a little late is no missed run). */
  graceMs?: number;
}

interface Cursor {
  /** Due times up to here are handled. */
  at: Date;
  next?: Date;
  due: DueTimes;
  /** The schedule it was made for: a reloaded file brings a new object, and a new cursor. */
  schedule: ScheduleConfig;
}

export class Scheduler {
  private readonly cursors = new Map<string, Cursor>();
  private leader = false;
  private leaseRenewedAt = 0;
  /** The schedules the cursors were last checked against, and the earliest time one of them is due. */
  private seen?: Map<string, ScheduleConfig>;
  private seenPaused?: ReadonlyMap<string, unknown>;
  private wakeAt?: Date;

  constructor(private readonly o: SchedulerOptions) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** The next due time of a pipeline as this process sees it (leader or not); none while it is paused. */
  nextDue(pipeline: string, schedule: ScheduleConfig, now = this.now()): Date | undefined {
    if (this.o.paused?.().has(pipeline)) return undefined;
    const c = this.cursors.get(pipeline);
    if (c?.next) return c.next;
    return schedule.enabled ? new DueTimes(schedule).next(now) : undefined;
  }

  /** One pass: renew or take the lease, then claim and hand over every due run. */
  async tick(): Promise<void> {
    const now = this.now();
    await this.keepLease(now);
    if (!this.leader) return;
    const schedules = this.o.schedules();
    const paused = this.o.paused?.();
    // Nothing is due before the earliest next due time, unless the schedules or pauses changed: most ticks end here.
    if (schedules === this.seen && paused === this.seenPaused && this.wakeAt !== undefined && now < this.wakeAt) return;
    this.seen = schedules;
    this.seenPaused = paused;
    for (const name of this.cursors.keys()) if (!schedules.has(name)) this.cursors.delete(name);
    for (const [pipeline, schedule] of schedules) {
      if (!schedule.enabled) continue;
      // Most ticks find nothing due: decided here without a promise per pipeline (idle CPU with thousands of them).
      const c = this.cursors.get(pipeline);
      if (c && c.schedule === schedule && (!c.next || c.next > now)) continue;
      if (paused?.has(pipeline)) {
        // Its due times pass: a resumed schedule goes on from its next one, as if it had been off meanwhile.
        const due = c?.schedule === schedule ? c.due : new DueTimes(schedule);
        this.cursors.set(pipeline, { at: now, due, schedule, next: due.timed ? due.next(now) : undefined });
        continue;
      }
      try {
        await this.schedule(pipeline, schedule, now);
      } catch (e) {
        this.o.logger.error({ pipeline, err: errorMessage(e) }, 'scheduling failed');
      }
    }
    let wake: Date | undefined;
    for (const c of this.cursors.values()) if (c.next && (!wake || c.next < wake)) wake = c.next;
    // A failed pass (no cursor for a pipeline) is tried again at the next tick.
    let complete = true;
    for (const [name, s] of schedules) if (s.enabled && !this.cursors.has(name)) complete = false;
    this.wakeAt = complete ? wake ?? FAR : undefined;
  }

  async stop(): Promise<void> {
    if (this.leader) await this.o.store.releaseLease(SCHEDULER_LEASE, this.o.holder);
    this.leader = false;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  private async keepLease(now: Date): Promise<void> {
    const ttl = this.o.leaseMs ?? 15_000;
    // Renew at a third of the lease, so two missed renewals still leave it ours.
    if (this.leader && now.getTime() - this.leaseRenewedAt < ttl / 3) return;
    const was = this.leader;
    this.leader = await this.o.store.acquireLease(SCHEDULER_LEASE, this.o.holder, ttl);
    if (this.leader) this.leaseRenewedAt = now.getTime();
    if (this.leader && !was) {
      this.o.logger.info({ holder: this.o.holder }, 'this process now schedules runs');
      this.cursors.clear(); // another process may have scheduled meanwhile: start again from the store
      this.wakeAt = undefined;
      await this.recoverAbandoned();
    }
    if (!this.leader && was) this.o.logger.warn({ holder: this.o.holder }, 'another process took over scheduling');
  }

  /**
   * Scheduled runs a previous leader claimed or started and never finished: it died with them, and they are recorded
   * as failed. Runs a person asked for (trigger, rerun, backfill) belong to the process that took the request, which
   * may well be alive: they are left alone.
   */
  private async recoverAbandoned(): Promise<void> {
    for (const r of await this.o.store.listScheduledRuns({ status: ['claimed', 'running'], limit: 10_000 })) {
      if (r.holder === this.o.holder || !['schedule', 'after', 'retry'].includes(r.trigger)) continue;
      await this.o.store.updateScheduledRun(r.pipeline, r.scheduledFor, {
        status: 'failed', finishedAt: this.now(), error: `abandoned: the serve process holding it (${r.holder}) stopped`,
      });
    }
  }

  private async schedule(pipeline: string, schedule: ScheduleConfig, now: Date): Promise<void> {
    let c = this.cursors.get(pipeline);
    if (!c || c.schedule !== schedule) {
      const due = new DueTimes(schedule);
      // Never scheduled before: start from now rather than the epoch (a new pipeline has missed nothing).
      const last = due.timed ? (await this.o.store.lastScheduledFor(pipeline)) ?? now : now;
      c = { at: c?.at && c.at > last ? c.at : last, due, schedule };
      c.next = due.timed ? due.next(c.at) : undefined;
      this.cursors.set(pipeline, c);
    }
    if (!c.next || c.next > now) return;
    const { times, skipped } = c.due.between(c.at, now, schedule.catchup === 'all' ? schedule.catchup_limit : 1);
    let run = times;
    if (schedule.catchup === 'none') run = times.filter((t) => now.getTime() - t.getTime() <= (this.o.graceMs ?? 5_000));
    const missed = skipped + times.length - run.length;
    c.at = now;
    c.next = c.due.next(now);
    if (missed > 0) {
      this.o.logger.warn({ pipeline, missed, catchup: schedule.catchup }, 'missed runs skipped');
      await this.o.store.appendAudit({
        actor: 'scheduler', action: 'schedule.missed', pipeline,
        detail: { missed, catchup: schedule.catchup, until: (run[0] ?? now).toISOString() },
      });
      // Record the newest skipped time, so a restart does not count the same missed runs again.
      const newestSkipped = times.filter((t) => !run.includes(t)).at(-1);
      if (newestSkipped && await this.o.store.claimScheduledRun({ pipeline, scheduledFor: newestSkipped, trigger: 'schedule', holder: this.o.holder, actor: 'scheduler' })) {
        await this.o.store.updateScheduledRun(pipeline, newestSkipped, { status: 'skipped', finishedAt: now, error: `missed (catchup: ${schedule.catchup})` });
      }
    }
    for (const t of run) {
      if (await this.o.store.claimScheduledRun({ pipeline, scheduledFor: t, trigger: 'schedule', holder: this.o.holder, actor: 'scheduler' })) {
        this.o.submit({ pipeline, scheduledFor: t, trigger: 'schedule', actor: 'scheduler', attempt: 0, ...(run.length > 1 ? { catchup: true } : {}) });
      }
    }
  }
}
