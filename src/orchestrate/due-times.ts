// When a schedule is due. Cron times are read in the schedule's time zone by croner (which settles the
// daylight-saving cases documented in schedule-spec.ts); fixed intervals are multiples of the interval since the
// epoch, so every serve process and every restart computes the same due instants, which key the runs.
import { Cron } from 'croner';
import type { ScheduleConfig } from '../config/schedule-spec.js';

export class DueTimes {
  private readonly cronText?: string;
  private readonly timezone: string;
  private readonly everyMs?: number;

  constructor(schedule: Pick<ScheduleConfig, 'cron' | 'every' | 'timezone'>) {
    this.timezone = schedule.timezone;
    if (schedule.cron) this.cronText = schedule.cron;
    else if (schedule.every) this.everyMs = schedule.every.ms;
  }

  /** Whether the schedule has times of its own (an `after`-only schedule has none). */
  get timed(): boolean {
    return this.cronText !== undefined || this.everyMs !== undefined;
  }

  /** The first due time strictly after `t`. */
  next(t: Date, cron = this.cron()): Date | undefined {
    if (this.everyMs) return new Date((Math.floor(t.getTime() / this.everyMs) + 1) * this.everyMs);
    return cron?.nextRun(t) ?? undefined;
  }

  /**
   * A croner instance holds an 80 KB table of years, so none is kept between uses: a thousand served pipelines
   * would hold 80 MB for a computation done once per due time.
   */
  private cron(): Cron | undefined {
    return this.cronText ? new Cron(this.cronText, { timezone: this.timezone, paused: true }) : undefined;
  }

  /**
   * Due times in (from, to], oldest first, at most `limit` of the newest, plus how many older ones were left out:
   * after a long downtime an every-second schedule must not be walked one tick at a time.
   */
  between(from: Date, to: Date, limit: number): { times: Date[]; skipped: number } {
    if (this.everyMs) {
      const first = Math.floor(from.getTime() / this.everyMs) + 1;
      const last = Math.floor(to.getTime() / this.everyMs);
      const count = Math.max(0, last - first + 1);
      const start = Math.max(first, last - limit + 1);
      const times: Date[] = [];
      for (let k = start; k <= last; k++) times.push(new Date(k * this.everyMs));
      return { times, skipped: count - times.length };
    }
    const times: Date[] = [];
    let skipped = 0;
    const cron = this.cron();
    // Bounded walk: a cron fires at most once a second, and a year of every-second catch-up is not worth walking.
    for (let t = this.next(from, cron), steps = 0; t && t <= to && steps < 100_000; t = this.next(t, cron), steps++) {
      times.push(t);
      if (times.length > limit) {
        times.shift();
        skipped++;
      }
    }
    return { times, skipped };
  }
}
