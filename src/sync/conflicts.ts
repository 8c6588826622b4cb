// Conflicts held for a person (`conflict: { strategy: manual-review }`): a key changed on both sides since the last
// sync is written nowhere; both versions are kept here with the hash of each, and every sync holds the key until
// someone takes a side (`sluice conflicts resolve <file> <id> --take a|b`). The next sync then writes the side taken
// — if that side has not changed again meanwhile (then it is a new conflict, shown again) — and closes the record.
// Kept in the sync's own file beside its base (./base.ts), in the base's transaction: a sync that fails records
// nothing.
//
// With a key (SLUICE_ENCRYPTION_KEY, ../core/at-rest.ts) both versions are stored sealed, as the change log's images
// are; without it they are listed as undecryptable, and a decision on such a conflict is not carried out by a stream
// (it cannot tell whether the versions are still those shown).
import { seal, unseal, UnsealError } from '../core/at-rest.js';
import type { SqliteDatabase } from '../core/sqlite-driver.js';

export interface ConflictRecord {
  id: number;
  table: string;
  key: Record<string, string | null>;
  /** Each side's row (values as both sides compare them), null where that side deleted it. */
  a: Record<string, string | null> | null;
  b: Record<string, string | null> | null;
  detected_at: string;
  resolved_at: string | null;
  take: 'a' | 'b' | null;
  applied_at: string | null;
  /** The versions are sealed with a key this process does not have: `a` and `b` are not shown (null). */
  undecryptable?: true;
}

interface Row {
  id: number; tbl: string; key: string; a: string | null; b: string | null; ha: number | null; hb: number | null;
  detected_at: string; resolved_at: string | null; take: 'a' | 'b' | null; applied_at: string | null;
}

function versions(r: Row): Pick<ConflictRecord, 'a' | 'b' | 'undecryptable'> {
  try {
    return {
      a: r.a === null ? null : JSON.parse(unseal(r.a)) as ConflictRecord['a'], b: r.b === null ? null : JSON.parse(unseal(r.b)) as ConflictRecord['b'],
    };
  } catch (e) {
    if (e instanceof UnsealError) return { a: null, b: null, undecryptable: true };
    throw e;
  }
}

const record = (r: Row): ConflictRecord => ({
  id: r.id, table: r.tbl, key: JSON.parse(r.key) as ConflictRecord['key'], ...versions(r),
  detected_at: r.detected_at, resolved_at: r.resolved_at, take: r.take, applied_at: r.applied_at,
});

export function createConflictsTable(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS conflicts (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL, a TEXT, b TEXT,
    ha INTEGER, hb INTEGER, detected_at TEXT NOT NULL, resolved_at TEXT, take TEXT, applied_at TEXT);
    CREATE UNIQUE INDEX IF NOT EXISTS conflicts_open ON conflicts (tbl, key) WHERE applied_at IS NULL;`);
}

export class ConflictLog {
  constructor(private readonly db: SqliteDatabase, private readonly now: () => Date = () => new Date()) {}

  /**
   * A key in conflict met by a sync: the side a person took, when they did and that side is as they saw it; else the
   * conflict is recorded (or brought up to date) and the key held (undefined).
   */
  meet(table: string, key: Record<string, string | null>, a: { row: Record<string, string | null> | null; hash: number | null }, b: { row: Record<string, string | null> | null; hash: number | null }): { take: 'a' | 'b'; id: number } | undefined {
    const keyText = JSON.stringify(key);
    const open = this.db.prepare('SELECT * FROM conflicts WHERE tbl = ? AND key = ? AND applied_at IS NULL').get(table, keyText) as Row | undefined;
    if (open && open.take && (open.take === 'a' ? open.ha === a.hash : open.hb === b.hash)) return { take: open.take, id: open.id };
    const at = this.now().toISOString();
    const rowText = (r: Record<string, string | null> | null) => (r === null ? null : seal(JSON.stringify(r)));
    if (!open) {
      this.db.prepare('INSERT INTO conflicts (tbl, key, a, b, ha, hb, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(table, keyText, rowText(a.row), rowText(b.row), a.hash, b.hash, at);
    } else if (open.ha !== a.hash || open.hb !== b.hash) {
      // Changed again since it was shown: what a person decided was about other versions.
      this.db.prepare('UPDATE conflicts SET a = ?, b = ?, ha = ?, hb = ?, detected_at = ?, resolved_at = NULL, take = NULL WHERE id = ?')
        .run(rowText(a.row), rowText(b.row), a.hash, b.hash, at, open.id);
    }
    return undefined;
  }

  /** The side taken has been written: the conflict is closed. */
  applied(id: number): void {
    this.db.prepare('UPDATE conflicts SET applied_at = ? WHERE id = ?').run(this.now().toISOString(), id);
  }

  /** A key no longer in conflict (the sides came to agree by themselves): its open record is closed. */
  settled(table: string, key: Record<string, string | null>): void {
    this.db.prepare('UPDATE conflicts SET applied_at = ? WHERE tbl = ? AND key = ? AND applied_at IS NULL').run(this.now().toISOString(), table, JSON.stringify(key));
  }

  list(o: { all?: boolean; table?: string } = {}): ConflictRecord[] {
    const rows = this.db.prepare(`SELECT * FROM conflicts WHERE (? OR applied_at IS NULL) AND (? IS NULL OR tbl = ?) ORDER BY id`)
      .all(o.all ? 1 : 0, o.table ?? null, o.table ?? null) as Row[];
    return rows.map(record);
  }

  get(id: number): ConflictRecord | undefined {
    const r = this.db.prepare('SELECT * FROM conflicts WHERE id = ?').get(id) as Row | undefined;
    return r && record(r);
  }

  /** A person takes a side; the next sync writes it. False when there is no open conflict with that id. */
  resolve(id: number, take: 'a' | 'b'): boolean {
    return this.db.prepare('UPDATE conflicts SET take = ?, resolved_at = ? WHERE id = ? AND applied_at IS NULL').run(take, this.now().toISOString(), id).changes > 0;
  }
}
