// `sluice erase <sync.yaml> --key <column>=<value>`: a data subject erased from a sync — its rows on both sides, its
// base entries, every change-log event of its keys (so `sluice changes replay` cannot bring it back) and its conflicts
// — then kept out of later syncs by key and by value (./suppressed.ts). The request and what it removed (tables and
// counts, never the value) go to the audit trail, as a pipeline's erasure does (../privacy/erase.ts).
//
// The subject's keys, per table having the column on either side: the rows of a side whose column holds the value
// (read whole in key order: a sync reads its sides no other way, and an erasure is rare), and the keys whose logged
// images or conflict versions hold it — a row whose email changed, or that both sides deleted, still has its past in
// the log. Erasure deletes rows whatever `deletes: soft` says: a marked row would keep the personal data.
//
// Order, so that an erasure failing half-way leaves nothing to resurrect the subject and is finished by asking again:
// the subject is suppressed first (a sync starting meanwhile leaves its keys alone), then both sides' rows go (a stream
// passes the deletes by: they are marked as the sync's own), then the base, log and conflicts in one transaction of
// the sync's file. A hash sync running at that moment (holding the file) makes the request fail rather than wait: its
// reads predate the suppression.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { tableOn, type LoadedSync, type SyncTable } from '../config/sync-spec.js';
import type { ControlStore } from '../control/control-store.js';
import { sluiceHome } from '../control/open.js';
import { UnsealError, unseal } from '../core/at-rest.js';
import { RunError } from '../core/errors.js';
import { openDatabase, type SqliteDatabase } from '../core/sqlite-driver.js';
import { newRunId } from '../engine/run-id.js';
import { storedKey, syncFile } from './base.js';
import { keyReader, numericKeyParts, pairColumns, type PairedColumns } from './diff.js';
import { openSide } from './open-side.js';
import { fromJson } from './row-json.js';
import type { Side, SideColumn } from './side.js';
import { isKeyColumnOf, keyColumn, keyDigest, valueDigest } from './suppressed.js';
import { syncText } from './values.js';

export interface SyncSubject { column: string; value: string }

export interface SyncEraseRequest {
  key: SyncSubject;
  /** Count what would go; change nothing (the request is still audited). */
  dryRun?: boolean;
  /** Keep later syncs from carrying the subject again (default true). */
  suppress?: boolean;
  actor: string;
}

export interface SyncTableErasure {
  /** The table's name on side a. */
  table: string;
  /** The subject's keys found. */
  keys: number;
  /** Rows deleted on each side. */
  a: number;
  b: number;
  /** Base entries, change-log events and conflict records removed. */
  base: number;
  changes: number;
  conflicts: number;
}

export interface SyncEraseReport {
  sync: string;
  column: string;
  mode: 'delete';
  dry_run: boolean;
  tables: SyncTableErasure[];
  /** Logged images or conflict versions sealed with a key this process does not have: not checked. */
  unreadable: number;
  suppressed: boolean;
}

const hasTable = (db: SqliteDatabase, name: string): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) !== undefined;

const baseName = (table: string) => `"base:${table.replaceAll('"', '""')}"`;

interface TablePlan { t: SyncTable; p: PairedColumns; keys: Map<string, (string | null)[]> }

/** The subject's keys in one table: from whichever side has the column, the log and the conflicts. */
async function planTable(sides: Record<'a' | 'b', Side>, t: SyncTable, db: SqliteDatabase | undefined, subject: SyncSubject, counts: { unreadable: number }): Promise<TablePlan | undefined> {
  const p = await pairColumns(sides.a, sides.b, t);
  const n = p.keyParts;
  const column = subject.column.toLowerCase();
  const wanted = syncText(subject.value);
  const holds = (v: unknown) => v !== null && v !== undefined && syncText(v) === wanted;
  const keyText = keyReader(p);
  const keys = new Map<string, (string | null)[]>();
  const add = (key: (string | null)[]) => keys.set(JSON.stringify(key), key);
  let found = false;
  for (const s of ['a', 'b'] as const) {
    const name = tableOn(t, s);
    const col = (await sides[s].columns(name)).find((c) => c.name.toLowerCase() === column);
    if (!col) continue;
    found = true;
    const key = p[s].slice(0, n);
    const read: SideColumn[] = key.includes(col) ? key : [...key, col];
    const at = key.includes(col) ? key.indexOf(col) : n;
    for await (const page of sides[s].scan(name, read, key)) for (const row of page) if (holds(row[at])) add(keyText(row));
  }
  if (!found) return undefined;
  if (db) {
    const named = (image: Record<string, unknown> | null) => image && Object.entries(image).some(([k, v]) => k.toLowerCase() === column && holds(v));
    if (hasTable(db, 'change_log')) {
      for (const [key, row] of db.prepare('SELECT key, row FROM change_log WHERE tbl = ? AND row IS NOT NULL').raw(true).iterate(p.nameA) as Iterable<[string, string]>) {
        try {
          if (named(fromJson<Record<string, unknown>>(unseal(row)))) add(JSON.parse(key) as (string | null)[]);
        } catch (e) {
          if (!(e instanceof UnsealError)) throw e;
          counts.unreadable++;
        }
      }
    }
    if (hasTable(db, 'conflicts')) {
      for (const [key, a, b] of db.prepare('SELECT key, a, b FROM conflicts WHERE tbl = ?').raw(true).iterate(p.nameA) as Iterable<[string, string | null, string | null]>) {
        const k = JSON.parse(key) as Record<string, string | null>;
        try {
          const versions = [a, b].map((v) => (v === null ? null : JSON.parse(unseal(v)) as Record<string, unknown>));
          if (named(k) || versions.some(named)) add(p.a.slice(0, n).map((c) => k[c.name] ?? null));
        } catch (e) {
          if (!(e instanceof UnsealError)) throw e;
          counts.unreadable++;
          if (named(k)) add(p.a.slice(0, n).map((c) => k[c.name] ?? null));
        }
      }
    }
  }
  return { t, p, keys };
}

/** Deletes (or, dry, counts) the rows of these keys on one side, in one transaction. */
async function eraseRows(side: Side, table: string, columns: SideColumn[], keyParts: number, keys: (string | null)[][], o: { dryRun: boolean; mark?: { sync: string; stream: string } }): Promise<number> {
  if (!keys.length) return 0;
  const tx = await side.transaction(o.dryRun ? undefined : o.mark);
  try {
    const w = await tx.table(table, columns, columns.slice(0, keyParts));
    let rows = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      rows += (await w.read(batch)).length;
      if (!o.dryRun) await w.remove(batch);
    }
    if (o.dryRun) await tx.rollback();
    else await tx.commit();
    return rows;
  } catch (e) {
    await tx.rollback().catch(() => undefined);
    throw e;
  }
}

/** Base entries, log events and conflicts of the keys, removed (or counted) in the file's open transaction. */
function eraseRecords(db: SqliteDatabase, plan: TablePlan, dryRun: boolean): { base: number; changes: number; conflicts: number } {
  const out = { base: 0, changes: 0, conflicts: 0 };
  const n = plan.p.keyParts;
  const numeric = numericKeyParts(plan.p);
  const base = hasTable(db, `base:${plan.p.nameA}`) ? baseName(plan.p.nameA) : undefined;
  const where = Array.from({ length: n }, (_, i) => `k${i} = ?`).join(' AND ');
  const log = hasTable(db, 'change_log');
  const conflicts = hasTable(db, 'conflicts');
  const verb = (from: string, cond: string) => db.prepare(dryRun ? `SELECT count(*) FROM ${from} WHERE ${cond}` : `DELETE FROM ${from} WHERE ${cond}`);
  const count = (stmt: ReturnType<typeof verb>, ...args: unknown[]) => (dryRun ? stmt.pluck().get(...args) as number : stmt.run(...args).changes);
  const baseStmt = base && verb(base, where);
  const logStmt = log && verb('change_log', 'tbl = ? AND key = ?');
  const conflictStmt = conflicts && verb('conflicts', 'tbl = ? AND key = ?');
  for (const key of plan.keys.values()) {
    if (baseStmt) out.base += count(baseStmt, ...storedKey(key, numeric));
    if (logStmt) out.changes += count(logStmt, plan.p.nameA, JSON.stringify(key));
    if (conflictStmt) {
      const keyObject = Object.fromEntries(plan.p.a.slice(0, n).map((c, i) => [c.name, key[i]]));
      out.conflicts += count(conflictStmt, plan.p.nameA, JSON.stringify(keyObject));
    }
  }
  return out;
}

export async function eraseFromSync(loaded: LoadedSync, store: ControlStore, request: SyncEraseRequest, home: string = sluiceHome()): Promise<SyncEraseReport> {
  const { config, baseDir } = loaded;
  const sync = config.sync;
  const dryRun = !!request.dryRun;
  const path = syncFile(home, sync);
  const sides = { a: openSide(config.systems.a, baseDir), b: openSide(config.systems.b, baseDir) };
  const db = existsSync(path) ? openDatabase(path, { timeout: 2_000 }) : undefined;
  const runId = newRunId();
  // No scheduled run of it (`sluice serve`) meanwhile.
  await store.acquireLock(sync, { runId, pid: process.pid, host: hostname() });
  try {
    const counts = { unreadable: 0 };
    const plans: TablePlan[] = [];
    for (const t of config.tables) {
      const plan = await planTable(sides, t, db, request.key, counts);
      if (plan) plans.push(plan);
    }
    const suppress = !dryRun && request.suppress !== false;
    if (suppress) {
      const subject = valueDigest(sync, request.key.column, request.key.value);
      await store.addSuppressions([
        { pipeline: sync, column: request.key.column.toLowerCase(), digest: subject },
        ...plans.flatMap((x) => [...x.keys.values()].map((k) => ({ pipeline: sync, column: keyColumn(x.p.nameA, subject), digest: keyDigest(sync, x.p.nameA, k) }))),
      ]);
    }
    if (db && !dryRun) {
      try {
        db.exec('BEGIN IMMEDIATE');
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
          throw new RunError(`a sync of "${sync}" is running (its file is locked): erase again when it ends${suppress ? ' (the subject is suppressed meanwhile)' : ''}`);
        }
        throw e;
      }
    }
    const tables: SyncTableErasure[] = [];
    try {
      // A stream reading a side passes these deletes by (no delete events logged after the log was erased).
      const mark = config.mode === 'cdc' ? { sync, stream: 'erase' } : undefined;
      for (const x of plans) {
        const keys = [...x.keys.values()];
        const a = await eraseRows(sides.a, x.p.nameA, x.p.a, x.p.keyParts, keys, { dryRun, ...(mark ? { mark } : {}) });
        const b = await eraseRows(sides.b, x.p.nameB, x.p.b, x.p.keyParts, keys, { dryRun, ...(mark ? { mark } : {}) });
        const records = db ? eraseRecords(db, x, dryRun) : { base: 0, changes: 0, conflicts: 0 };
        tables.push({ table: x.p.nameA, keys: keys.length, a, b, ...records });
      }
      if (db?.inTransaction) db.exec('COMMIT');
    } finally {
      if (db?.inTransaction) db.exec('ROLLBACK');
    }
    const report: SyncEraseReport = { sync, column: request.key.column, mode: 'delete', dry_run: dryRun, tables, unreadable: counts.unreadable, suppressed: suppress };
    await store.appendAudit({
      actor: request.actor, action: dryRun ? 'erase.dry_run' : 'erase', pipeline: sync,
      detail: { sync: true, column: report.column, mode: 'delete', tables, unreadable: counts.unreadable, suppressed: suppress },
    });
    return report;
  } finally {
    await store.releaseLock(sync, runId);
    db?.close();
    await Promise.all([sides.a.close(), sides.b.close()]);
  }
}

/** Takes the subject off the sync's suppression list (its value and the keys erased for it). Audited; returns whether it was listed. */
export async function liftSyncSuppression(loaded: LoadedSync, store: ControlStore, subject: SyncSubject, actor: string): Promise<boolean> {
  const sync = loaded.config.sync;
  const digest = valueDigest(sync, subject.column, subject.value);
  const listed = await store.suppressions(sync);
  const entries = [{ pipeline: sync, column: subject.column.toLowerCase(), digest }];
  for (const [column, digests] of listed) {
    if (isKeyColumnOf(column, digest)) for (const d of digests) entries.push({ pipeline: sync, column, digest: d });
  }
  const lifted = await store.liftSuppressions(entries);
  await store.appendAudit({ actor, action: 'erase.lift', pipeline: sync, detail: { sync: true, column: subject.column, lifted: lifted > 0 } });
  return lifted > 0;
}
