// Retention under `sluice serve`: every served pipeline's and sync's `retention:` applied at start and then every hour
// (./retention.ts). Only the process holding the scheduler lease sweeps, so two serve processes on one control store
// never both delete (nor both audit) the same records; a process that takes the lease over sweeps at once.
import type { ControlStore } from '../control/control-store.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { applyPipelineRetention, applySyncRetention, type RetentionOutcome } from './retention.js';
import type { Service } from './service.js';

export interface RetentionSweepOptions {
  service: Service;
  store: ControlStore;
  logger: Logger;
  home: string;
  /** Between two sweeps (ms; default an hour). */
  intervalMs?: number;
  /** How often the lease is looked at (ms; default 5 s, at most the interval): a process taking the lease over sweeps soon. */
  checkMs?: number;
  now?: () => Date;
}

const HOUR = 3_600_000;

export class RetentionSweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastAt?: number;

  constructor(private readonly o: RetentionSweepOptions) {}

  start(): void {
    const interval = this.o.intervalMs ?? HOUR;
    this.timer = setInterval(() => void this.tick(), Math.min(this.o.checkMs ?? 5_000, interval));
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** A sweep when this process leads and the last one is an interval old; resolves when it is done. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    const now = (this.o.now ?? (() => new Date()))();
    if (!this.o.service.scheduler.isLeader) {
      // Leading again later (after another process held the lease) sweeps at once: that one's sweeps are not known here.
      this.lastAt = undefined;
      return Promise.resolve();
    }
    if (this.lastAt !== undefined && now.getTime() - this.lastAt < (this.o.intervalMs ?? HOUR)) return Promise.resolve();
    this.lastAt = now.getTime();
    this.running = this.sweep(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweep(now: Date): Promise<void> {
    const opts = { store: this.o.store, home: this.o.home, actor: 'scheduler', now };
    const served = [
      ...[...this.o.service.pipelines.pipelines().values()].map(({ loaded }) => () => applyPipelineRetention(loaded, opts)),
      ...[...this.o.service.pipelines.syncs().values()].map(({ loaded }) => () => applySyncRetention(loaded, opts)),
    ];
    for (const apply of served) {
      let outcome: RetentionOutcome | undefined;
      try {
        outcome = await apply();
      } catch (e) {
        // One pipeline's failure (its sync file locked, the store down a moment) leaves the others swept; the next sweep tries again.
        this.o.logger.error({ err: errorMessage(e) }, 'retention failed');
        continue;
      }
      if (outcome && Object.values(outcome.removed).some((n) => n > 0)) {
        this.o.logger.info({ [outcome.kind]: outcome.name, removed: outcome.removed }, 'retention applied');
      }
    }
  }
}
