// What the last sync left both sides agreeing on, per key: the hash of the agreed content (`hn`, values made
// comparable) and the hash of each side's own spelling of it (`ha`, `hb`; unknown — NULL — for a side the sync wrote
// into, until it is read back). It is what tells, in a two-way sync, which side changed a key since then, and a side
// whose spelling is unchanged is known to agree without making its values comparable (./values.ts).
//
// A SQLite file per sync under $SLUICE_HOME/sync/ (with the sync's conflicts and change log), read in key order beside both sides (SQLite orders integers by
// value and text by its bytes, as the sides are read). Changed entries are written in one transaction on a second
// connection and committed only once both sides committed: a sync that fails halfway leaves the last agreed base, and
// the next one works out the same changes again.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../core/errors.js';
import { openDatabase, type SqliteDatabase } from '../core/sqlite-driver.js';
import { newRunId } from '../engine/run-id.js';
import { ChangeLog, createChangeLogTable } from './change-log.js';
import { ConflictLog, createConflictsTable } from './conflicts.js';
import { decodeFields, encodeFields } from './field-merge.js';

const INTEGER = /^-?\d+$/;
const PAGE = 5000;
/**
 * The layout below; an older file's tables are dropped (the next sync compares content, as a first one does). 4: a
 * table's base is `base:<table>`, so a synced table named like the file's own (`conflicts`, `change_log`) is no clash.
 */
const VERSION = 4;

/**
 * A key part as stored: a whole number of a numeric column as an integer (ordered by value), the rest as text (ordered
 * by bytes), as compareKeys orders them.
 */
const stored = (v: string | null, numeric: boolean): string | number | bigint | null => {
  if (v === null || !numeric || !INTEGER.test(v)) return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};
/** A key as the base stores it (`numeric`: numericKeyParts of its table). */
export const storedKey = (key: readonly (string | null)[], numeric: readonly boolean[]) => key.map((v, i) => stored(v, numeric[i]));

export interface BaseEntry {
  key: (string | null)[];
  /** Hash of the agreed content. */
  hn: number;
  /** Hash of side a's and side b's spellings of it; null when not known. */
  ha: number | null;
  hb: number | null;
  /** Each field's hash of the agreed content: kept for merge tables only (field-merge.ts), else null. */
  hf: number[] | null;
}

export interface BaseTable {
  /** The last agreed entries in key order (keys as text, as the sides' keys are compared). */
  rows(): Iterator<BaseEntry>;
  set(e: BaseEntry): void;
  remove(key: (string | null)[]): void;
  /** The changes are the base now (both sides committed). */
  keep(): void;
  /** The last base stays (the sync failed, or was a dry run). */
  discard(): void;
}

/** The file of a sync's base and conflicts. */
export const syncFile = (home: string, sync: string): string => join(home, 'sync', `${sync}.db`);

export class SyncBase {
  private readonly reader: SqliteDatabase;
  private readonly writer: SqliteDatabase;
  /** Written in the base's transaction. */
  readonly conflicts: ConflictLog;
  /** This sync's run (one `sluice sync`), as the change log names it. */
  readonly run = newRunId();
  /** The change log (./change-log.ts); undefined when the sync file turns it off. */
  readonly changes: ChangeLog | undefined;

  constructor(home: string, private readonly sync: string, o: { changeLog?: boolean } = {}) {
    mkdirSync(join(home, 'sync'), { recursive: true });
    const path = syncFile(home, sync);
    this.writer = openDatabase(path);
    this.writer.pragma('journal_mode = WAL');
    if ((this.writer.pragma('user_version', { simple: true }) as number) < VERSION) {
      const tables = this.writer.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      for (const t of tables) this.writer.exec(`DROP TABLE "${t.replaceAll('"', '""')}"`);
      this.writer.pragma(`user_version = ${VERSION}`);
    }
    createConflictsTable(this.writer);
    this.conflicts = new ConflictLog(this.writer);
    // WAL without a sync per commit: a stream logs before each target commit, and a crash of the process loses nothing.
    this.writer.pragma('synchronous = NORMAL');
    if (o.changeLog ?? true) {
      createChangeLogTable(this.writer);
      this.changes = new ChangeLog(this.writer, this.run);
    }
    this.writer.exec('CREATE TABLE IF NOT EXISTS base_marks (tbl TEXT PRIMARY KEY, seq INTEGER NOT NULL)');
    // Tables whose text key parts were made text again (baseOf): each is scanned for it once.
    this.writer.exec('CREATE TABLE IF NOT EXISTS base_text_keys (tbl TEXT PRIMARY KEY)');
    this.reader = openDatabase(path);
  }

  /**
   * A table's base (created when missing): its quoted name and key columns. A text key part that looks like an
   * integer was stored as one before keys were compared by their columns' types: it is made text again, in byte
   * order with the rest ('007' had become 7: that entry no longer meets its key, which the sync then takes as a first
   * sync takes it). That scan of the base is made once per table (`base_text_keys`).
   */
  private baseOf(name: string, numeric: readonly boolean[]): { t: string; keys: string[] } {
    const t = `"base:${name.replaceAll('"', '""')}"`;
    const keys = numeric.map((_, i) => `k${i}`);
    this.writer.exec(`CREATE TABLE IF NOT EXISTS ${t} (${keys.join(', ')}, hn INTEGER NOT NULL, ha INTEGER, hb INTEGER, hf BLOB, PRIMARY KEY (${keys.join(', ')})) WITHOUT ROWID`);
    if (this.writer.prepare('SELECT 1 FROM base_text_keys WHERE tbl = ?').get(name) === undefined) {
      this.writer.transaction(() => {
        for (const [i, k] of keys.entries()) {
          if (!numeric[i]) this.writer.exec(`UPDATE OR REPLACE ${t} SET ${k} = CAST(${k} AS TEXT) WHERE typeof(${k}) = 'integer'`);
        }
        this.writer.prepare('INSERT INTO base_text_keys (tbl) VALUES (?)').run(name);
      })();
    }
    return { t, keys };
  }

  /**
   * Brings a table's base up to what its streams applied since it was last kept (mode: cdc keeps no base as it
   * goes): each key's last change in the change log after the base's mark. Then a new snapshot's hash sync tells who
   * changed a key since, rather than calling every such key a conflict. `hashes`: a row's content hash, and its field
   * hashes for a merge table.
   */
  fold(name: string, numeric: readonly boolean[], hashes: (row: Record<string, unknown>) => { hn: number; hf: number[] | null }): void {
    if (!this.changes) return;
    const { t, keys } = this.baseOf(name, numeric);
    const set = this.writer.prepare(`INSERT OR REPLACE INTO ${t} VALUES (${[...keys, 'hn', 'ha', 'hb', 'hf'].map(() => '?').join(', ')})`);
    const remove = this.writer.prepare(`DELETE FROM ${t} WHERE ${keys.map((k) => `${k} = ?`).join(' AND ')}`);
    const mark = this.writer.prepare('SELECT seq FROM base_marks WHERE tbl = ?').pluck();
    // Read on the other connection: one cannot write while it reads (the log is committed, WAL shows it there).
    const log = new ChangeLog(this.reader, this.run);
    this.writer.transaction(() => {
      const after = (mark.get(name) as number | undefined) ?? 0;
      for (const e of log.latest(name, { after })) {
        // Spellings unknown (ha, hb): the next hash sync makes those rows comparable before it compares them.
        if (e.row) {
          const { hn, hf } = hashes(e.row);
          set.run(...storedKey(e.key, numeric), hn, null, null, hf && encodeFields(hf));
        } else remove.run(...storedKey(e.key, numeric));
      }
      this.keepMark(name);
    })();
  }

  /** The change log's last event is in the table's base now. */
  private keepMark(name: string): void {
    if (this.changes) this.writer.prepare('INSERT OR REPLACE INTO base_marks VALUES (?, ?)').run(name, this.changes.lastSeq());
  }

  table(name: string, numeric: readonly boolean[]): BaseTable {
    const keyParts = numeric.length;
    const { t, keys } = this.baseOf(name, numeric);
    const set = this.writer.prepare(`INSERT OR REPLACE INTO ${t} VALUES (${[...keys, 'hn', 'ha', 'hb', 'hf'].map(() => '?').join(', ')})`);
    const remove = this.writer.prepare(`DELETE FROM ${t} WHERE ${keys.map((k) => `${k} = ?`).join(' AND ')}`);
    const { writer, reader } = this;
    try {
      // Taken at once (IMMEDIATE), held until the sync ends: two syncs of one file never work from the same base. A
      // second one is refused at once rather than waiting for a sync that may last minutes.
      writer.pragma('busy_timeout = 0');
      writer.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw new RunError(`another sync of "${this.sync}" is running (its base is locked); try again when it ends`);
      throw e;
    }
    return {
      // In pages by key (better-sqlite3's row-at-a-time iterate cost a sync of a million keys 1.5 s).
      *rows() {
        const cols = `${keys.join(', ')}, hn, ha, hb, hf`;
        const order = keys.map((k) => `${k} COLLATE BINARY`).join(', ');
        const first = reader.prepare(`SELECT ${cols} FROM ${t} ORDER BY ${order} LIMIT ${PAGE}`).raw(true);
        const after = reader.prepare(`SELECT ${cols} FROM ${t} WHERE (${keys.join(', ')}) > (${keys.map(() => '?').join(', ')}) ORDER BY ${order} LIMIT ${PAGE}`).raw(true);
        for (let page = first.all() as unknown[][]; page.length; page = after.all(...page[page.length - 1].slice(0, keyParts)) as unknown[][]) {
          for (const row of page) {
            yield {
              key: row.slice(0, keyParts).map((v) => (v === null ? null : String(v))),
              hn: row[keyParts] as number, ha: row[keyParts + 1] as number | null, hb: row[keyParts + 2] as number | null,
              hf: row[keyParts + 3] === null ? null : decodeFields(row[keyParts + 3] as Buffer),
            };
          }
          if (page.length < PAGE) return;
        }
      },
      set(e) {
        set.run(...storedKey(e.key, numeric), e.hn, e.ha, e.hb, e.hf && encodeFields(e.hf));
      },
      remove(key) {
        remove.run(...storedKey(key, numeric));
      },
      keep: () => {
        this.keepMark(name);
        writer.exec('COMMIT');
      },
      discard() {
        if (writer.inTransaction) writer.exec('ROLLBACK');
      },
    };
  }

  close(): void {
    this.reader.close();
    this.writer.close();
  }
}
