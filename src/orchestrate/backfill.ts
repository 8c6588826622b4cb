// `sluice backfill`: a cursor range cut into bounded windows ([from, to) each), each a run that reads the window
// again and merges it on the key (engine: RunOptions.window), the stream's own state left as it is. Every window is
// recorded in the control store, so the same command after a crash resumes at the first window not done. Windows
// take the pipeline's lock one at a time, so they never overlap its scheduled runs, and a scheduled run that finds
// the lock taken waits for the window to end (executor.ts) and goes before the next one.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import type { BackfillRecord, BackfillWindow } from '../control/service-records.js';
import { ConfigError, errorMessage, LockedError, RunError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { newRunId } from '../engine/run-id.js';
import { planTasks, runPipeline, type RunOptions } from '../engine/runner.js';
import type { RunFn } from './executor.js';

export type WindowStep = 'day' | 'week' | 'month' | number;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^[+-]?\d+(\.\d+)?$/;

/** `--by day|week|month|<number>`. */
export function parseStep(raw: string | undefined): WindowStep | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'day' || raw === 'week' || raw === 'month') return raw;
  if (NUMBER.test(raw) && Number(raw) > 0) return Number(raw);
  throw new ConfigError(`--by: expected day, week, month or a positive number, got "${raw}"`);
}

/**
 * [from, to) cut into windows: by calendar steps in UTC for dates and timestamps (bounds written as the user wrote
 * them: dates stay dates), by a number for numeric cursors, or one window.
 */
export function cutWindows(fromRaw: string, toRaw: string, by: WindowStep | undefined): { from: string | number; to: string | number }[] {
  if (NUMBER.test(fromRaw) && NUMBER.test(toRaw)) {
    const from = Number(fromRaw);
    const to = Number(toRaw);
    if (!(from < to)) throw new ConfigError(`--from ${fromRaw} must be before --to ${toRaw}`);
    if (by !== undefined && typeof by !== 'number') throw new ConfigError(`--by ${by}: a numeric range is cut by a number`);
    const step = by ?? to - from;
    const out: { from: number; to: number }[] = [];
    for (let a = from; a < to; a += step) out.push({ from: a, to: Math.min(a + step, to) });
    return out;
  }
  const from = Date.parse(fromRaw);
  const to = Date.parse(toRaw);
  if (Number.isNaN(from) || Number.isNaN(to)) throw new ConfigError(`--from and --to: expected dates (2024-01-31), timestamps (2024-01-31T12:00:00Z) or numbers, got "${fromRaw}" and "${toRaw}"`);
  if (!(from < to)) throw new ConfigError(`--from ${fromRaw} must be before --to ${toRaw}`);
  if (typeof by === 'number') throw new ConfigError(`--by ${by}: a date range is cut by day, week or month`);
  const dates = DATE.test(fromRaw) && DATE.test(toRaw);
  const show = (ms: number) => (dates ? new Date(ms).toISOString().slice(0, 10) : new Date(ms).toISOString());
  if (!by) return [{ from: show(from), to: show(to) }];
  const out: { from: string; to: string }[] = [];
  for (let a = from; a < to;) {
    const d = new Date(a);
    const next = by === 'day' ? a + 86_400_000 : by === 'week' ? a + 7 * 86_400_000
      : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
    out.push({ from: show(a), to: show(Math.min(next, to)) });
    a = next;
  }
  if (out.length > 10_000) throw new ConfigError(`${out.length} windows: choose a larger --by`);
  return out;
}

export interface BackfillOptions {
  store: ControlStore;
  from: string;
  to: string;
  by?: WindowStep;
  /** Windows at a time; each beyond the first holds its own lock while the backfill holds the pipeline's. */
  parallel?: number;
  streams?: string[];
  actor: string;
  logger: Logger;
  home?: string;
  run?: RunFn;
  signal?: AbortSignal;
  drain?: AbortSignal;
  /** Called after each window, with the record as it stands. */
  onWindow?: (b: BackfillRecord, w: BackfillWindow) => void;
}

export const backfillId = (pipeline: string, o: Pick<BackfillOptions, 'from' | 'to' | 'by' | 'streams'>): string =>
  'bf-' + createHash('sha256').update(JSON.stringify([pipeline, o.from, o.to, o.by ?? null, o.streams ?? null])).digest('hex').slice(0, 12);

/** Runs (or resumes) a backfill to its end; returns its record. */
export async function runBackfill(loaded: LoadedPipeline, o: BackfillOptions): Promise<BackfillRecord> {
  const pipeline = loaded.config.pipeline;
  const id = backfillId(pipeline, o);
  const windows = cutWindows(o.from, o.to, o.by);
  // Streams without a cursor or a key fail here, before anything is recorded.
  planTasks(loaded, { window: windows[0], ...(o.streams ? { streams: o.streams } : {}) }, 'plan');
  const now = () => new Date().toISOString();
  const known = await o.store.getBackfill(id);
  const record: BackfillRecord = known
    ? { ...known, status: 'running', windows: known.windows.map((w) => (w.status === 'success' || w.status === 'partial_success' ? w : { ...w, status: 'pending' })) }
    : {
      id, pipeline, from: o.from, to: o.to, by: o.by === undefined ? null : String(o.by), streams: o.streams ?? null, status: 'running',
      actor: o.actor, createdAt: now(), updatedAt: now(), windows: windows.map((w) => ({ ...w, status: 'pending' })),
    };
  const holder = `${hostname()}:${process.pid}`;
  if (!(await o.store.acquireLease(`backfill:${id}`, holder, 10 * 60_000))) {
    throw new RunError(`backfill ${id} of ${pipeline} is running in another process`);
  }
  const save = async () => {
    record.updatedAt = now();
    await o.store.saveBackfill(record);
    await o.store.acquireLease(`backfill:${id}`, holder, 10 * 60_000);
  };
  try {
    const done = record.windows.filter((w) => w.status !== 'pending').length;
    await save();
    await o.store.appendAudit({
      actor: o.actor, action: 'backfill.started', pipeline,
      detail: { backfill: id, from: o.from, to: o.to, by: record.by, windows: record.windows.length, resumed_after: done, streams: o.streams ?? null },
    });
    const pending = record.windows.filter((w) => w.status === 'pending');
    const parallel = Math.max(1, o.parallel ?? 1);
    for (let i = 0; i < pending.length && !o.drain?.aborted && !o.signal?.aborted; i += parallel) {
      const wave = pending.slice(i, i + parallel);
      await (wave.length === 1 ? runWindow(wave[0]) : runWave(wave));
      // A breath between windows: a scheduled run waiting for the pipeline's lock takes it here.
      if (i + parallel < pending.length) await sleep(300);
    }
    const failed = record.windows.some((w) => w.status === 'failed' || w.status === 'pending');
    record.status = failed ? 'failed' : record.windows.some((w) => w.status === 'partial_success') ? 'partial_success' : 'success';
    await save();
    await o.store.appendAudit({ actor: o.actor, action: 'backfill.finished', pipeline, detail: { backfill: id, status: record.status } });
    return record;
  } finally {
    await o.store.releaseLease(`backfill:${id}`, holder);
  }

  async function runWindow(w: BackfillWindow, lockKey?: string): Promise<void> {
    w.status = 'running';
    w.runId = newRunId();
    delete w.error;
    await save();
    const opts: RunOptions = {
      runId: w.runId, window: { from: w.from, to: w.to }, trigger: 'backfill', actor: o.actor, store: o.store, logger: o.logger,
      ...(o.streams ? { streams: o.streams } : {}), ...(o.home ? { home: o.home } : {}), ...(lockKey ? { lockKey } : {}),
      ...(o.signal ? { signal: o.signal } : {}), ...(o.drain ? { drain: o.drain } : {}),
    };
    for (;;) {
      try {
        const summary = await (o.run ?? runPipeline)(loaded, opts);
        w.status = summary.status;
        if (summary.error) w.error = summary.error;
        break;
      } catch (e) {
        // A scheduled run (or another window) holds the pipeline: wait for it rather than run beside it.
        if (e instanceof LockedError && !o.drain?.aborted) {
          await sleep(500);
          continue;
        }
        if (e instanceof ConfigError) throw e;
        w.status = 'failed';
        w.error = errorMessage(e);
        break;
      }
    }
    await save();
    o.onWindow?.(record, w);
  }

  /** Several windows at once: the backfill holds the pipeline's lock (nothing else runs it), each window its own. */
  async function runWave(wave: BackfillWindow[]): Promise<void> {
    const owner = { runId: `backfill-${id}`, pid: process.pid, host: hostname() };
    for (;;) {
      try {
        await o.store.acquireLock(pipeline, owner);
        break;
      } catch (e) {
        if (!(e instanceof LockedError)) throw e;
        await sleep(500);
      }
    }
    try {
      await Promise.all(wave.map((w) => runWindow(w, `${pipeline}#${id}-${record.windows.indexOf(w)}`)));
    } finally {
      await o.store.releaseLock(pipeline, owner.runId);
    }
  }
}
