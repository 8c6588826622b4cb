// A sync in mode: cdc. Each side with tables to read is a stream: its changes, read from its log (./pg-changes.ts),
// applied to the other side (./apply-changes.ts), the position kept there with the rows. Side a's stream carries its
// a_to_b and two-way tables, side b's its b_to_a and two-way ones.
// A stream with no position yet starts from a snapshot: the tables are brought in step as the new slot's snapshot sees
// them (the hash sync, ../sync-table.ts, its writes guarded and tagged), the slot's consistent point kept as the
// position, and streaming goes on from there — nothing between the copy and the stream is missed or read twice.
// `once`: streams until everything committed at the start is applied, then stops; otherwise until `signal` aborts,
// finishing the source transaction being read.
import { tableOn, type SyncConfig, type SyncTable } from '../../config/sync-spec.js';
import { ConfigError } from '../../core/errors.js';
import type { SyncBase } from '../base.js';
import { rowImage } from '../change-log.js';
import { fieldHashes } from '../field-merge.js';
import { contentHash } from '../values.js';
import { numericKeyParts, keyReader, pairColumns, type PairedColumns } from '../diff.js';
import { openSide } from '../open-side.js';
import type { Side, SyncMark } from '../side.js';
import { softDeletes } from '../soft-delete.js';
import type { SyncSuppression } from '../suppressed.js';
import { syncTable, type TableSync } from '../sync-table.js';
import { writeValue } from '../write-values.js';
import { applyChanges, type AppliedTable, type ApplyCounts } from './apply-changes.js';
import type { ChangeReader, Snapshot } from './change-queue.js';
import { CommitTimes } from './commit-times.js';
import { MysqlChanges } from './mysql-changes.js';
import { PgChanges } from './pg-changes.js';
import { applyResolved } from './review.js';

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
  /**
   * After each commit on the target: the stream's counts so far, the position kept, and when the source committed the
   * last transaction applied (undefined for a heartbeat: the stream had caught up with its source). For metrics.
   */
  onCommit?: (from: 'a' | 'b', counts: ApplyCounts, position: string, sourceTime?: Date) => void;
  /** Data subjects erased from the sync: their rows are neither copied by a snapshot nor applied (../suppressed.ts). */
  suppressed?: SyncSuppression;
}

const suppressedRows = (test: AppliedTable['suppressed']) => (test ? { suppressed: test } : {});

/** The streams of a sync's tables: side a's carries its a_to_b and two-way tables, side b's its b_to_a and two-way ones. */
export function cdcStreams(tables: SyncTable[]): { from: 'a' | 'b'; tables: SyncTable[] }[] {
  return (['a', 'b'] as const).map((from) => ({ from, tables: tables.filter((t) => t.direction === 'two_way' || t.direction === (from === 'a' ? 'a_to_b' : 'b_to_a')) }))
    .filter((s) => s.tables.length > 0);
}

/** A two-way table whose conflicts (all, or those within its clock skew) a person settles. */
const heldForReview = (t: SyncTable) => t.direction === 'two_way' && (t.conflict?.strategy === 'manual-review' || t.conflict?.fallback === 'manual-review');

interface Stream {
  from: 'a' | 'b';
  to: 'a' | 'b';
  tables: SyncTable[];
  mark: SyncMark;
  reader?: ChangeReader;
  snapshot?: Snapshot;
  position?: string;
}

export async function runCdc(config: SyncConfig, baseDir: string, file: string, tables: SyncTable[], base: SyncBase, o: CdcOptions): Promise<StreamResult[]> {
  const streams: Stream[] = cdcStreams(tables).map((s) => ({ ...s, to: s.from === 'a' ? 'b' : 'a', mark: { sync: config.sync, stream: s.from } }));
  for (const s of streams) {
    const type = config.systems[s.from].type;
    if (type !== 'postgres' && type !== 'mysql') {
      throw new ConfigError(`mode: cdc reads PostgreSQL's write-ahead log or MariaDB's binary log; reading side ${s.from} (${type}) is not built`, { file, path: `systems.${s.from}.type`, expected: 'postgres | mysql' });
    }
  }
  const sides: Record<'a' | 'b', Side> = { a: openSide(config.systems.a, baseDir), b: openSide(config.systems.b, baseDir) };
  // One failing stream stops the others at their next transaction's end.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const pairs = new Map(await Promise.all(tables.map(async (t) => [t, await pairColumns(sides.a, sides.b, t)] as const)));
    for (const s of streams) {
      s.position = o.resnapshot ? undefined : await sides[s.to].position(s.mark);
      // The source's publication holds its position table too (where the other stream's writes are tagged).
      await sides[s.from].position({ sync: config.sync, stream: s.to });
    }
    // Two-way tables tie both streams: one starting afresh starts both, from one snapshot of each side.
    if (tables.some((t) => t.direction === 'two_way') && streams.some((s) => s.position === undefined)) for (const s of streams) s.position = undefined;
    for (const s of streams) {
      const open = config.systems[s.from].type === 'postgres' ? PgChanges.open : MysqlChanges.open;
      const opened = await open({
        config: config.systems[s.from] as unknown as Record<string, unknown>, baseDir, sync: config.sync, side: s.from, from: s.position,
        tables: s.tables.map((t) => {
          const p = pairs.get(t)!;
          return { name: tableOn(t, s.from), columns: p[s.from].map((c) => c.name), keyParts: p.keyParts, before: t.direction === 'two_way' };
        }),
        heartbeatMs: (config.cdc?.heartbeat_seconds ?? 10) * 1000,
      });
      s.reader = opened.reader;
      s.snapshot = opened.snapshot;
    }
    const snapshots = await snapshotPhase(config, streams, sides, pairs, base, o.suppressed);
    // Decisions people took on held keys: carried out before streaming, then with every heartbeat (./review.ts).
    const reviewed = tables.filter(heldForReview).map((t) => ({ t, p: pairs.get(t)! }));
    const resolve = async () => {
      if (reviewed.length) await applyResolved(base.conflicts, sides, reviewed, { sync: config.sync, stream: 'review' });
    };
    await resolve();
    let resolving: Promise<void> | undefined;
    const timer = reviewed.length && !o.once ? setInterval(() => {
      resolving ??= resolve().catch(() => undefined).finally(() => { resolving = undefined; });
    }, (config.cdc?.heartbeat_seconds ?? 10) * 1000) : undefined;
    const results = await Promise.all(streams.map(async (s) => {
      try {
        o.onStart?.(s.from, s.position!, snapshots.has(s));
        return await runStream(s, sides, pairs, snapshots.get(s), base, { ...o, signal: stop.signal });
      } catch (e) {
        stop.abort();
        throw e;
      }
    })).finally(async () => {
      clearInterval(timer);
      await resolving;
    });
    return results;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    for (const s of streams) {
      await s.snapshot?.close();
      await s.reader?.close();
    }
    await Promise.all([sides.a.close(), sides.b.close()]);
  }
}

/**
 * Streams starting afresh: their tables brought in step as the new slots' snapshots see them (a side read live when
 * no stream of it starts afresh), by the hash sync with guarded writes — a row changed since its snapshot is left to
 * its stream — then each stream's position is its slot's consistent point.
 */
async function snapshotPhase(config: SyncConfig, streams: Stream[], sides: Record<'a' | 'b', Side>, pairs: Map<SyncTable, PairedColumns>, base: SyncBase, suppressed?: SyncSuppression): Promise<Map<Stream, TableSync[]>> {
  const fresh = streams.filter((s) => s.snapshot);
  const done = new Map<Stream, TableSync[]>();
  if (!fresh.length) return done;
  const seen = { ...sides };
  for (const s of fresh) seen[s.from] = s.snapshot!.side();
  try {
    const tables = [...new Set(fresh.flatMap((s) => s.tables))];
    const synced = new Map<SyncTable, TableSync>();
    for (const t of tables) {
      // What the streams applied since the base was kept, first: a key one side changed since then flows from it.
      const p = pairs.get(t)!;
      const merging = t.conflict?.strategy === 'merge';
      base.fold(p.nameA, numericKeyParts(p), (image) => {
        const row = p.a.map((c) => image[c.name]);
        return { hn: contentHash(row, p.keyParts), hf: merging ? fieldHashes(row, p.keyParts) : null };
      });
      synced.set(t, await syncTable(seen.a, seen.b, t, base, { mark: { sync: config.sync, stream: 'snapshot' }, ...(suppressed ? { suppressed } : {}) }));
    }
    for (const s of fresh) done.set(s, s.tables.map((t) => synced.get(t)!));
  } finally {
    for (const s of fresh) {
      await seen[s.from].close();
      await s.snapshot!.close();
      s.position = s.snapshot!.at;
      s.snapshot = undefined;
    }
  }
  for (const s of fresh) await (await sides[s.to].transaction(s.mark)).commit(s.position);
  return done;
}

async function runStream(s: Stream, sides: Record<'a' | 'b', Side>, pairs: Map<SyncTable, PairedColumns>, snapshot: TableSync[] | undefined, base: SyncBase, o: CdcOptions): Promise<StreamResult> {
  const reader = s.reader!;
  const into = sides[s.to];
  const applied = new Map<string, AppliedTable>(s.tables.map((t) => {
    const p = pairs.get(t)!;
    const column = t.conflict?.column ? p.a.findIndex((c) => c.name.toLowerCase() === t.conflict!.column!.toLowerCase()) : -1;
    const soft = softDeletes(t, p);
    // Keys as a hash sync spells them, in the log, the base, conflicts and suppressions alike.
    const key = keyReader(p);
    // The log keeps rows as side a spells them: side b's are converted as they would be written into a.
    const spelledByA = (spelledBy: 'from' | 'to') => (spelledBy === 'from') === (s.from === 'a');
    const image = (row: unknown[], spelledBy: 'from' | 'to') =>
      rowImage(p.a, spelledByA(spelledBy) ? row : row.map((v, i) => writeValue(v, p.b[i], p.a[i], sides.a.type)));
    return [tableOn(t, s.from), {
      target: tableOn(t, s.to), from: p[s.from], to: p[s.to], keyParts: p.keyParts,
      ...(t.direction === 'two_way' ? { twoWay: { from: s.from, conflict: t.conflict, column, ...(heldForReview(t) ? { review: base.conflicts } : {}) } } : {}),
      review: { table: p.nameA, names: p.a.map((c) => c.name), keyParts: p.keyParts, key },
      ...(soft ? { soft } : {}),
      log: { table: p.nameA, from: s.from, to: s.to, image, key },
      ...suppressedRows(o.suppressed?.rows(p.nameA, p[s.from], key)),
    }];
  }));
  await reader.start(s.position!);
  if (o.once) await reader.catchUp();
  const stop = () => reader.stop();
  if (o.signal.aborted) stop();
  o.signal.addEventListener('abort', stop, { once: true });
  let last = s.position!;
  try {
    const times = new CommitTimes(reader);
    const counts = await applyChanges(times.reader, into, s.mark, applied, {
      untilCaughtUp: o.once,
      onCommit: (c, at) => {
        last = at;
        o.onCommit?.(s.from, c, at, times.take(at));
      },
      ...(base.changes ? { log: base.changes } : {}),
    });
    return { from: s.from, to: s.to, ...(snapshot ? { snapshot } : {}), ...counts, position: last };
  } finally {
    o.signal.removeEventListener('abort', stop);
  }
}
