// A sync in mode: cdc. Each direction with tables is a stream: the source side's changes, read from its log
// (./pg-changes.ts), applied to the other side (./apply-changes.ts), the position kept there with the rows.
// A stream with no position yet starts with a snapshot: the tables are brought in step as the slot's snapshot sees
// them (the hash sync, ../sync-table.ts, its writes tagged), the slot's consistent point kept as the position, and
// streaming goes on from there — nothing between the copy and the stream is missed or read twice.
// `once`: streams until everything committed at the start is applied, then stops; otherwise until `signal` aborts,
// finishing the source transaction being read.
import { tableOn, type SyncConfig, type SyncTable } from '../../config/sync-spec.js';
import { ConfigError } from '../../core/errors.js';
import type { SyncBase } from '../base.js';
import { pairColumns } from '../diff.js';
import { openSide } from '../open-side.js';
import type { Side, SyncMark } from '../side.js';
import { postgresSide } from '../sides/postgres-side.js';
import { syncTable, type TableSync } from '../sync-table.js';
import { applyChanges, type AppliedTable, type ApplyCounts } from './apply-changes.js';
import { PgChanges } from './pg-changes.js';

export interface StreamResult extends ApplyCounts {
  from: 'a' | 'b';
  to: 'a' | 'b';
  /** Tables brought in step by the starting snapshot (a new stream, or --resnapshot). */
  snapshot?: TableSync[];
  /** The source position kept on the target at the end. */
  position: string;
}

export interface CdcOptions {
  once: boolean;
  resnapshot?: boolean;
  signal: AbortSignal;
  /** When a stream starts: where from, and whether it began with a snapshot. */
  onStart?: (from: 'a' | 'b', position: string, snapshot: boolean) => void;
}

/** The streams of a sync's tables: a_to_b tables are read from side a, b_to_a ones from side b. */
export function cdcStreams(tables: SyncTable[], file: string): { from: 'a' | 'b'; tables: SyncTable[] }[] {
  tables.forEach((t, i) => {
    if (t.direction === 'two_way') {
      throw new ConfigError('a two-way table in mode: cdc is not built yet: use direction a_to_b or b_to_a, or mode: hash (`sluice sync --once`)', { file, path: `tables[${i}].direction`, expected: 'a_to_b | b_to_a' });
    }
  });
  return (['a', 'b'] as const).map((from) => ({ from, tables: tables.filter((t) => t.direction === (from === 'a' ? 'a_to_b' : 'b_to_a')) }))
    .filter((s) => s.tables.length > 0);
}

export async function runCdc(config: SyncConfig, baseDir: string, file: string, tables: SyncTable[], base: SyncBase, o: CdcOptions): Promise<StreamResult[]> {
  const streams = cdcStreams(tables, file);
  for (const s of streams) {
    const type = config.systems[s.from].type;
    if (type !== 'postgres') {
      throw new ConfigError(`mode: cdc reads PostgreSQL's log; reading side ${s.from} (${type}) is not built yet`, { file, path: `systems.${s.from}.type`, expected: 'postgres' });
    }
  }
  // One failing stream stops the others at their next transaction's end.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.all(streams.map(async (s) => {
      try {
        return await runStream(config, baseDir, s.from, s.tables, base, { ...o, signal: stop.signal });
      } catch (e) {
        stop.abort();
        throw e;
      }
    }));
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}

async function runStream(config: SyncConfig, baseDir: string, from: 'a' | 'b', tables: SyncTable[], base: SyncBase, o: CdcOptions): Promise<StreamResult> {
  const to = from === 'a' ? 'b' : 'a';
  const source = config.systems[from] as SyncConfig['systems']['a'] & Record<string, unknown>;
  const sides: Record<'a' | 'b', Side> = { a: openSide(config.systems.a, baseDir), b: openSide(config.systems.b, baseDir) };
  const mark: SyncMark = { sync: config.sync, stream: from };
  let reader: PgChanges | undefined;
  try {
    const pairs = await Promise.all(tables.map((t) => pairColumns(sides.a, sides.b, t)));
    const applied = new Map<string, AppliedTable>(tables.map((t, i) => [tableOn(t, from), {
      target: tableOn(t, to), from: pairs[i][from], to: pairs[i][to], keyParts: pairs[i].keyParts,
    }]));
    let position = o.resnapshot ? undefined : await sides[to].position(mark);
    // The source's publication holds its position table too (where the other stream's writes are tagged): made here.
    await sides[from].position({ sync: config.sync, stream: to });
    const opened = await PgChanges.open({
      config: source, baseDir, sync: config.sync, side: from, from: position,
      tables: tables.map((t, i) => ({ name: tableOn(t, from), columns: pairs[i][from].map((c) => c.name), keyParts: pairs[i].keyParts })),
      heartbeatMs: (config.cdc?.heartbeat_seconds ?? 10) * 1000,
    });
    reader = opened.reader;
    let snapshot: TableSync[] | undefined;
    if (opened.snapshot) {
      const seen = postgresSide(source, baseDir, { snapshot: opened.snapshot.name });
      try {
        snapshot = [];
        for (const t of tables) {
          snapshot.push(await syncTable(from === 'a' ? seen : sides.a, from === 'a' ? sides.b : seen, t, base, { mark }));
        }
      } finally {
        await seen.close();
        await opened.snapshot.close();
      }
      position = opened.snapshot.at;
      const tx = await sides[to].transaction(mark);
      await tx.commit(position);
    }
    o.onStart?.(from, position!, !!snapshot);
    await reader.start(position!);
    if (o.once) await reader.catchUp();
    const r = reader;
    const stop = () => r.stop();
    if (o.signal.aborted) stop();
    o.signal.addEventListener('abort', stop, { once: true });
    let last = position!;
    const counts = await applyChanges(reader, sides[to], mark, applied, { untilCaughtUp: o.once, onCommit: (_, at) => { last = at; } });
    o.signal.removeEventListener('abort', stop);
    return { from, to, ...(snapshot ? { snapshot } : {}), ...counts, position: last };
  } finally {
    await reader?.close();
    await Promise.all([sides.a.close(), sides.b.close()]);
  }
}
