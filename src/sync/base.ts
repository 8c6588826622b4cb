// What the last sync left both sides agreeing on: per key, the hash of the row's content (./hash.ts), kept in a SQLite
// file of the sync under $SLUICE_HOME/sync/. It is what tells, in a two-way sync, which side changed a key since then.
// Read in key order beside both sides (SQLite orders integers by value and text by its bytes, as the sides are read);
// the next base is written beside the old one and takes its place only once both sides committed, so a sync that
// fails halfway leaves the last agreed base, and the next one works out the same changes again.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type SqliteDatabase } from '../core/sqlite-driver.js';

const INTEGER = /^-?\d+$/;

/** A key part as stored: integers as integers (ordered by value), the rest as text (ordered by bytes). */
const stored = (v: string | null): string | number | bigint | null => {
  if (v === null || !INTEGER.test(v)) return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};

export class SyncBase {
  private readonly reader: SqliteDatabase;
  private readonly writer: SqliteDatabase;

  constructor(home: string, sync: string) {
    const dir = join(home, 'sync');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${sync}.db`);
    this.writer = openDatabase(path);
    this.writer.pragma('journal_mode = WAL');
    this.reader = openDatabase(path);
  }

  /** The table's base, and a writer for its next one. */
  table(name: string, keyParts: number): BaseTable {
    const t = `"${name.replaceAll('"', '""')}"`;
    const next = `"${`${name}__next`.replaceAll('"', '""')}"`;
    const keys = Array.from({ length: keyParts }, (_, i) => `k${i}`);
    const create = (n: string) => `CREATE TABLE IF NOT EXISTS ${n} (${keys.join(', ')}, hash BLOB NOT NULL, PRIMARY KEY (${keys.join(', ')})) WITHOUT ROWID`;
    this.writer.exec(create(t));
    this.writer.exec(`DROP TABLE IF EXISTS ${next}`);
    this.writer.exec(create(next));
    const insert = this.writer.prepare(`INSERT INTO ${next} VALUES (${[...keys, 'hash'].map(() => '?').join(', ')})`);
    const writer = this.writer;
    writer.exec('BEGIN');
    const reader = this.reader;
    return {
      *rows() {
        const stmt = reader.prepare(`SELECT ${keys.join(', ')}, hash FROM ${t} ORDER BY ${keys.map((k) => `${k} COLLATE BINARY`).join(', ')}`).raw(true);
        for (const row of stmt.iterate() as Iterable<unknown[]>) {
          yield { key: row.slice(0, keyParts).map((v) => (v === null ? null : String(v))), hash: row[keyParts] as Buffer };
        }
      },
      put(key, hash) {
        insert.run(...key.map(stored), hash);
      },
      keep() {
        writer.exec(`DROP TABLE ${t}`);
        writer.exec(`ALTER TABLE ${next} RENAME TO ${t}`);
        writer.exec('COMMIT');
      },
      discard() {
        if (writer.inTransaction) writer.exec('ROLLBACK');
        writer.exec(`DROP TABLE IF EXISTS ${next}`);
      },
    };
  }

  close(): void {
    this.reader.close();
    this.writer.close();
  }
}

export interface BaseTable {
  /** The last agreed hashes in key order (keys as text, as the sides' keys are compared). */
  rows(): Iterable<{ key: (string | null)[]; hash: Buffer }>;
  /** A key of the next base. */
  put(key: (string | null)[], hash: Buffer): void;
  /** The next base replaces the last one (both sides committed). */
  keep(): void;
  /** The last base stays (the sync failed). */
  discard(): void;
}
