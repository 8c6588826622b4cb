// The file a sync keeps beside its base — conflicts held for review and the change log (src/sync/base.ts) — opened
// for the commands that read or act on them (`sluice conflicts`, `sluice changes`). A sync that never ran has none:
// an empty one in memory stands in, so listing says "nothing" rather than failing.
import { existsSync } from 'node:fs';
import { loadSyncFile, type LoadedSync } from '../config/sync-spec.js';
import { sluiceHome } from '../control/open.js';
import { openDatabase, type SqliteDatabase } from '../core/sqlite-driver.js';
import { syncFile } from '../sync/base.js';
import { createChangeLogTable } from '../sync/change-log.js';
import { createConflictsTable } from '../sync/conflicts.js';

export async function withSyncDb<T>(file: string, body: (db: SqliteDatabase, sync: LoadedSync) => T | Promise<T>): Promise<T> {
  const loaded = await loadSyncFile(file);
  const path = syncFile(sluiceHome(), loaded.config.sync);
  const db = existsSync(path) ? openDatabase(path, { timeout: 10_000 }) : openDatabase(':memory:');
  try {
    createConflictsTable(db);
    createChangeLogTable(db);
    return await body(db, loaded);
  } finally {
    db.close();
  }
}
