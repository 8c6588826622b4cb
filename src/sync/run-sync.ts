// Runs a sync file, as `sluice sync` and `sluice serve` both do: mode: hash brings the tables in step once by content
// hashes (./sync-table.ts); mode: cdc streams each side's changes to the other (./cdc/run-cdc.ts) until `signal` aborts
// (the source transaction being read finished and committed first) or, with `once`, until everything committed when it
// started is applied. What cannot run is refused before any work, whoever runs the file.
import { tableOn, type LoadedSync } from '../config/sync-spec.js';
import { openControlStore, sluiceHome } from '../control/open.js';
import { ConfigError } from '../core/errors.js';
import { SyncBase } from './base.js';
import { runCdc, type CdcOptions, type StreamResult } from './cdc/run-cdc.js';
import { openSide } from './open-side.js';
import { syncSuppression, type SyncSuppression } from './suppressed.js';
import { syncTable, type TableSync } from './sync-table.js';

export interface SyncRunOptions extends Pick<CdcOptions, 'onStart' | 'onCommit'> {
  /** mode: cdc: until caught up, then stop. mode: hash always runs once, and needs it said (`--once`). */
  once?: boolean;
  /** Only this table (its name on side a). */
  table?: string;
  /** mode: hash: work out and count the changes, write nothing. */
  dryRun?: boolean;
  /** mode: cdc: copy the tables again from a new snapshot. */
  resnapshot?: boolean;
  /** mode: cdc: stop streaming (after the transaction in flight). mode: hash: no table is started after it. */
  signal?: AbortSignal;
  /** Where the sync's base of content hashes lives (default $SLUICE_HOME). */
  home?: string;
  /** mode: hash: each table as it is done. */
  onTable?: (r: TableSync) => void;
  /** Data subjects erased from the sync (default: read from the control store's suppression list at start). */
  suppressed?: SyncSuppression;
}

/** The sync's erased subjects (./suppressed.ts), read once per run: an erasure during a run applies from the next. */
async function suppressionOf(sync: string, home?: string): Promise<SyncSuppression> {
  const store = openControlStore(home);
  try {
    return syncSuppression(sync, await store.suppressions(sync));
  } finally {
    await store.close();
  }
}

export type SyncOutcome =
  | { mode: 'hash'; tables: TableSync[] }
  /** `held`: keys held for review (manual-review) at the end, awaiting a person or their decision's write. */
  | { mode: 'cdc'; streams: StreamResult[]; held: number };

export async function runSync(loaded: LoadedSync, o: SyncRunOptions = {}): Promise<SyncOutcome> {
  const { config, baseDir } = loaded;
  const file = loaded.file ?? config.sync;
  const tables = o.table === undefined ? config.tables : config.tables.filter((t) => tableOn(t, 'a') === o.table);
  if (!tables.length) throw new ConfigError(`no table ${o.table} in the sync file`, { expected: config.tables.map((t) => tableOn(t, 'a')).join(', ') });
  const signal = o.signal ?? new AbortController().signal;
  const suppressed = o.suppressed ?? await suppressionOf(config.sync, o.home);
  if (config.mode === 'cdc') {
    if (o.dryRun) throw new ConfigError('--dry-run is for mode: hash (a stream cannot be read without being taken)', { file, path: 'mode', expected: 'hash' });
    const base = new SyncBase(o.home ?? sluiceHome(), config.sync, { changeLog: config.change_log });
    try {
      const streams = await runCdc(config, baseDir, file, tables, base, {
        once: !!o.once, resnapshot: o.resnapshot, signal, onStart: o.onStart, onCommit: o.onCommit, suppressed,
      });
      return { mode: 'cdc', streams, held: base.conflicts.list().length };
    } finally {
      base.close();
    }
  }
  if (!o.once) throw new ConfigError('a hash sync runs once: run `sluice sync <file> --once` (on a schedule for repeated syncs), or set mode: cdc to stream changes', { file, path: 'mode', expected: 'cdc' });
  if (o.resnapshot) throw new ConfigError('--resnapshot is for mode: cdc', { file, path: 'mode', expected: 'cdc' });
  const a = openSide(config.systems.a, baseDir);
  const b = openSide(config.systems.b, baseDir);
  const base = new SyncBase(o.home ?? sluiceHome(), config.sync, { changeLog: config.change_log });
  const results: TableSync[] = [];
  try {
    for (const t of tables) {
      if (signal.aborted) break;
      const r = await syncTable(a, b, t, base, { dryRun: o.dryRun, suppressed });
      results.push(r);
      o.onTable?.(r);
    }
  } finally {
    base.close();
    await Promise.all([a.close(), b.close()]);
  }
  return { mode: 'hash', tables: results };
}
