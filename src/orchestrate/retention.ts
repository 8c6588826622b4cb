// A pipeline's or sync's `retention:` applied (config/retention-spec.ts): its old dead-letter entries, runs and run log
// lines deleted from the control store, a sync's old change-log events from its own file. `sluice gc` and `sluice serve`
// both come here; a pass that deleted something leaves one audit entry per file with the counts and the horizons,
// never a value.
import { existsSync } from 'node:fs';
import type { PipelineRetention, SyncRetention } from '../config/retention-spec.js';
import type { LoadedSync } from '../config/sync-spec.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import type { Duration } from '../core/duration.js';
import { openDatabase } from '../core/sqlite-driver.js';
import { syncFile } from '../sync/base.js';
import { pruneChangeLog } from '../sync/change-log-retention.js';

export type RetentionKind = 'dlq' | 'runs' | 'logs' | 'changes';

export interface RetentionOutcome {
  /** The pipeline's or the sync's name. */
  name: string;
  kind: 'pipeline' | 'sync';
  file?: string;
  dry_run: boolean;
  /** Per kind retained: records older than this time go (ISO). */
  horizons: Partial<Record<RetentionKind, string>>;
  /** What went (or, dry, would go): log lines count those of removed runs too. */
  removed: { dlq?: number; runs?: number; log_lines?: number; changes?: number };
}

export interface RetentionOptions {
  store: ControlStore;
  /** $SLUICE_HOME, where a sync keeps its change log. */
  home: string;
  actor: string;
  now?: Date;
  dryRun?: boolean;
}

const total = (o: RetentionOutcome): number => Object.values(o.removed).reduce((a, b) => a + b, 0);

function horizonsOf(retention: PipelineRetention | SyncRetention, now: Date): Partial<Record<RetentionKind, Date>> {
  return Object.fromEntries(Object.entries(retention)
    .filter((e): e is [RetentionKind, Duration] => e[1] !== undefined)
    .map(([kind, d]) => [kind, new Date(now.getTime() - d.ms)]));
}

/** Runs and their log lines, the two kinds that share records: the log lines of a run removed count once. */
async function pruneRunRecords(o: RetentionOptions, name: string, h: Partial<Record<RetentionKind, Date>>, out: RetentionOutcome['removed']): Promise<void> {
  if (!h.runs && !h.logs) return;
  const dryRun = !!o.dryRun;
  out.log_lines = 0;
  if (h.runs) {
    const r = await o.store.pruneRuns(name, h.runs, { dryRun });
    out.runs = r.runs;
    // Dry, the runs are all still there: the lines are counted below, once, up to the later of the two horizons.
    if (!dryRun) out.log_lines += r.logLines;
  }
  const linesBefore = h.logs && (!h.runs || h.logs > h.runs) ? h.logs : dryRun ? h.runs : undefined;
  if (linesBefore) out.log_lines += (await o.store.pruneRuns(name, linesBefore, { logsOnly: true, dryRun })).logLines;
}

async function finish(o: RetentionOptions, outcome: RetentionOutcome): Promise<RetentionOutcome> {
  if (!o.dryRun && total(outcome) > 0) {
    await o.store.appendAudit({
      actor: o.actor, action: 'gc', pipeline: outcome.name,
      detail: { ...(outcome.kind === 'sync' ? { sync: true } : {}), removed: outcome.removed, horizons: outcome.horizons },
    });
  }
  return outcome;
}

const shown = (h: Partial<Record<RetentionKind, Date>>) => Object.fromEntries(Object.entries(h).map(([k, d]) => [k, d.toISOString()]));

/** The pipeline's `retention:` applied; undefined when it has none. */
export async function applyPipelineRetention(loaded: LoadedPipeline, o: RetentionOptions): Promise<RetentionOutcome | undefined> {
  const retention = loaded.config.retention;
  if (!retention) return undefined;
  const name = loaded.config.pipeline;
  const h = horizonsOf(retention, o.now ?? new Date());
  const removed: RetentionOutcome['removed'] = {};
  if (h.dlq) removed.dlq = await o.store.pruneDlq(name, h.dlq, { dryRun: !!o.dryRun });
  await pruneRunRecords(o, name, h, removed);
  return finish(o, { name, kind: 'pipeline', ...(loaded.file ? { file: loaded.file } : {}), dry_run: !!o.dryRun, horizons: shown(h), removed });
}

/** The sync's `retention:` applied (its change log in its own file, its runs in the control store); undefined when it has none. */
export async function applySyncRetention(loaded: LoadedSync, o: RetentionOptions): Promise<RetentionOutcome | undefined> {
  const retention = loaded.config.retention;
  if (!retention) return undefined;
  const name = loaded.config.sync;
  const h = horizonsOf(retention, o.now ?? new Date());
  const removed: RetentionOutcome['removed'] = {};
  if (h.changes) {
    const path = syncFile(o.home, name);
    // A sync that never ran has no file: nothing to prune, and none is created for it.
    if (!existsSync(path)) removed.changes = 0;
    else {
      const db = openDatabase(path, { timeout: 10_000 });
      try {
        const hasLog = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'change_log'").pluck().get() !== undefined;
        removed.changes = hasLog ? await pruneChangeLog(db, h.changes, { dryRun: !!o.dryRun }) : 0;
      } finally {
        db.close();
      }
    }
  }
  await pruneRunRecords(o, name, h, removed);
  return finish(o, { name, kind: 'sync', ...(loaded.file ? { file: loaded.file } : {}), dry_run: !!o.dryRun, horizons: shown(h), removed });
}
