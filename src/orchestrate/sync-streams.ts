// The mode: cdc syncs `sluice serve` runs: each one streams continuously (src/sync/run-sync.ts) from the moment it is
// served, is started again with a doubling wait after a failure (a server restarting, a connection lost: the stream
// goes on from the position kept with the rows, so nothing is lost or applied twice), and is drained — the source
// transaction in flight applied and committed — when its file changes (then started again with the new version), when
// its file is removed, when this process stops scheduling (another serve process took the lease) and on SIGTERM.
// A sync the file itself forbids (a ConfigError) is not started again until the file changes.
// Each stream's lag is sampled on a timer (src/sync/cdc/lag.ts), not when /metrics is scraped: a scrape reads memory.
import type { LoadedSync } from '../config/sync-spec.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { streamLabel, type SyncStreamView } from '../observe/sync-status.js';
import type { LagProbe } from '../sync/cdc/lag.js';
import type { ApplyCounts } from '../sync/cdc/apply-changes.js';

export interface SyncProgress { upserted: number; removed: number; transactions: number }

export interface SyncStreamsOptions {
  logger: Logger;
  /** Where the syncs' bases live (default $SLUICE_HOME). */
  home?: string;
  /** The first wait before a failed sync starts again (ms; default 1 s); it doubles up to `restartMaxMs` (5 min). */
  restartMs?: number;
  restartMaxMs?: number;
  /** How often each stream's lag is sampled (ms; default 15 s). */
  lagSampleMs?: number;
  /** What a stream applied since it last said (metrics count it). */
  onProgress?: (sync: string, stream: string, delta: SyncProgress) => void;
  /** A sync failed and waits to start again. */
  onFailure?: (sync: string, error: string) => void;
}

/** A sync that ran this long before failing failed afresh: its wait starts again from `restartMs`. */
const HEALTHY_MS = 60_000;

interface Stream {
  view: SyncStreamView;
  /** The position it kept last (a MariaDB source's lag is measured from it). */
  position?: string;
  /** Counts of the current run as last reported (each run of the sync counts from zero). */
  seen: SyncProgress;
  probe?: LagProbe;
}

interface Running {
  loaded: LoadedSync;
  drain: AbortController;
  done: Promise<void>;
  streams: Map<'a' | 'b', Stream>;
  /** Cuts a wait before a restart short (a drain). */
  wake?: () => void;
}

export class SyncStreams {
  private readonly running = new Map<string, Running>();
  private wanted: ReadonlyMap<string, LoadedSync> = new Map();
  private sampler?: NodeJS.Timeout;
  private sampling = false;
  private stopped = false;

  constructor(private readonly o: SyncStreamsOptions) {}

  /**
   * Runs exactly the syncs given (by name, their current valid version): new ones start, removed ones are drained, a
   * changed one is drained and started again. Cheap when nothing changed (the same map).
   */
  reconcile(wanted: ReadonlyMap<string, LoadedSync>): void {
    if (this.stopped || wanted === this.wanted) return;
    this.wanted = wanted;
    for (const [name, r] of this.running) {
      if (wanted.get(name) !== r.loaded) this.drain(r);
    }
    for (const [name, loaded] of wanted) if (!this.running.has(name)) this.start(name, loaded);
    if (wanted.size && !this.sampler) {
      this.sampler = setInterval(() => void this.sample(), this.o.lagSampleMs ?? 15_000);
      this.sampler.unref();
    }
  }

  /** Every stream of every sync run here, as /metrics and the alert rules read them. */
  views(sync?: string): SyncStreamView[] {
    const out: SyncStreamView[] = [];
    for (const [name, r] of this.running) if (sync === undefined || name === sync) for (const s of r.streams.values()) out.push(s.view);
    return out;
  }

  /** SIGTERM: every stream drained (the transaction in flight committed), every connection closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sampler);
    const all = [...this.running.values()];
    for (const r of all) this.drain(r);
    await Promise.all(all.map((r) => r.done));
  }

  private start(name: string, loaded: LoadedSync): void {
    const streams = new Map<'a' | 'b', Stream>();
    const r: Running = { loaded, drain: new AbortController(), done: Promise.resolve(), streams };
    this.running.set(name, r);
    r.done = this.loop(name, r)
      .catch((e) => this.o.logger.error({ sync: name, err: errorMessage(e) }, 'sync supervisor failed'))
      .finally(async () => {
        for (const s of streams.values()) await s.probe?.close();
        if (this.running.get(name) === r) this.running.delete(name);
        // Drained for a new version (or a sync served again meanwhile): start what is wanted now.
        const next = this.wanted.get(name);
        if (next && !this.stopped && !this.running.has(name)) this.start(name, next);
      });
  }

  private drain(r: Running): void {
    r.drain.abort();
    r.wake?.();
  }

  private async loop(name: string, r: Running): Promise<void> {
    const { runSync } = await import('../sync/run-sync.js');
    const { cdcStreams } = await import('../sync/cdc/run-cdc.js');
    const { lagProbe } = await import('../sync/cdc/lag.js');
    const { config, baseDir } = r.loaded;
    const logger = this.o.logger.child({ sync: name });
    let failures = 0;
    try {
      for (const { from } of cdcStreams(config.tables)) {
        r.streams.set(from, {
          view: { sync: name, stream: streamLabel(from), state: 'starting' }, seen: { upserted: 0, removed: 0, transactions: 0 },
          probe: lagProbe(config.systems[from].type, config.systems[from] as unknown as Record<string, unknown>, baseDir, config.sync, from),
        });
      }
    } catch (e) {
      await this.stoppedBy(r, name, e);
      return;
    }
    while (!r.drain.signal.aborted) {
      const startedAt = Date.now();
      for (const s of r.streams.values()) {
        s.view.state = 'starting';
        s.seen = { upserted: 0, removed: 0, transactions: 0 };
      }
      let error: unknown;
      try {
        await runSync(r.loaded, {
          signal: r.drain.signal, ...(this.o.home ? { home: this.o.home } : {}),
          onStart: (from, position, snapshot) => {
            const s = r.streams.get(from)!;
            s.view.state = 'streaming';
            delete s.view.error;
            s.position = position;
            failures = 0;
            logger.info({ stream: s.view.stream, position, snapshot }, 'sync streaming');
            // Its lag is known from the start, not only after the sampler's next turn.
            void this.sample();
          },
          onCommit: (from, counts, position, sourceTime) => this.committed(name, r.streams.get(from)!, counts, position, sourceTime),
        });
        if (r.drain.signal.aborted) break;
        error = new Error('the stream ended by itself');
      } catch (e) {
        error = e;
      }
      if (error instanceof ConfigError) {
        await this.stoppedBy(r, name, error);
        return;
      }
      if (r.drain.signal.aborted) {
        logger.error({ err: errorMessage(error) }, 'sync failed while draining');
        break;
      }
      failures = Date.now() - startedAt >= HEALTHY_MS ? 1 : failures + 1;
      const wait = Math.min(this.o.restartMaxMs ?? 300_000, (this.o.restartMs ?? 1000) * 2 ** (failures - 1));
      const message = errorMessage(error);
      for (const s of r.streams.values()) {
        s.view.state = 'restarting';
        s.view.error = message;
      }
      logger.error({ err: message, restart_in_ms: wait, failures }, 'sync failed: starting it again');
      this.o.onFailure?.(name, message);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        r.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      r.wake = undefined;
    }
    for (const s of r.streams.values()) s.view.state = 'stopped';
    logger.info('sync drained');
  }

  /** A setting the file must change: not started again until it does (it stays in view, stopped, until then). */
  private async stoppedBy(r: Running, name: string, e: unknown): Promise<void> {
    const message = e instanceof ConfigError ? e.toString() : errorMessage(e);
    this.o.logger.error({ sync: name, err: message }, 'sync not started: fix its file');
    this.o.onFailure?.(name, message);
    if (!r.streams.size) r.streams.set('a', { view: { sync: name, stream: streamLabel('a'), state: 'stopped' }, seen: { upserted: 0, removed: 0, transactions: 0 } });
    for (const s of r.streams.values()) {
      s.view.state = 'stopped';
      s.view.error = message;
    }
    await new Promise<void>((resolve) => {
      if (r.drain.signal.aborted) resolve();
      else r.drain.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** A commit on the target: what it applied since the last one, and how late. */
  private committed(name: string, s: Stream, counts: ApplyCounts, position: string, sourceTime: Date | undefined): void {
    const delta = { upserted: counts.upserted - s.seen.upserted, removed: counts.removed - s.seen.removed, transactions: counts.transactions - s.seen.transactions };
    s.seen = { upserted: counts.upserted, removed: counts.removed, transactions: counts.transactions };
    s.position = position;
    if (sourceTime) {
      s.view.lastCommitAt = sourceTime;
      s.view.lagSeconds = Math.max(0, (Date.now() - sourceTime.getTime()) / 1000);
    } else if (delta.transactions === 0) {
      // A heartbeat kept: nothing of the source was waiting.
      s.view.lagSeconds = 0;
    }
    if (delta.transactions || delta.upserted || delta.removed) this.o.onProgress?.(name, s.view.stream, delta);
  }

  /** Each stream's source lag, one sync after another (a slow server delays the next sample, never a scrape). */
  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      for (const [name, r] of this.running) {
        for (const s of r.streams.values()) {
          if (!s.probe) continue;
          try {
            const lag = await s.probe.sample(s.position);
            if (lag) s.view.lag = { ...lag, at: new Date() };
            else delete s.view.lag;
          } catch (e) {
            this.o.logger.warn({ sync: name, stream: s.view.stream, err: errorMessage(e) }, 'sampling the sync\'s lag failed');
            delete s.view.lag;
          }
        }
      }
    } finally {
      this.sampling = false;
    }
  }

  /** Samples now (tests, and a first value before the timer's). */
  sampleNow(): Promise<void> {
    return this.sample();
  }
}
