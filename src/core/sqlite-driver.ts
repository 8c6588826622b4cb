// The SQLite driver for this Node.js: better-sqlite3 13 (Node-API) on Node 22 and later, 12 on Node 20.
//
// 12's handles are node::ObjectWrap objects, and since Node 24.19 an ObjectWrap that V8 collects while no context is
// entered (an idle-time collection, or one at exit) aborts the process: `Assertion failed: (env) != nullptr` in
// node::RemoveEnvironmentCleanupHook (nodejs/node#65446). Closing every handle does not help: a statement collected
// mid-run is enough. 13 is built on Node-API, which has no such destructor, but it needs Node 22 (on 20 it crashes);
// 12 is safe on Node 20. Both are optional dependencies with the same API; npm installs each only where its
// `engines` allow, and this module loads the one for the running Node.
// (Node's own node:sqlite would spare a native build on 22+, but it differs in API and types, warns that it is
// experimental on every start, and Node 20 would still need better-sqlite3.)
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteOptions = BetterSqlite3.Options;
export type SqliteStatement = BetterSqlite3.Statement;

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
/** The package (an npm alias for 13) that runs on this Node. */
export const SQLITE_PACKAGE = NODE_MAJOR >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
const INSTALL = NODE_MAJOR >= 22 ? 'better-sqlite3-napi@npm:better-sqlite3@^13' : 'better-sqlite3@^12';

let driver: typeof BetterSqlite3 | undefined;

/** A database handle from the driver for this Node (loaded on first use). */
export function openDatabase(path: string, options?: SqliteOptions): SqliteDatabase {
  if (!driver) {
    try {
      driver = createRequire(import.meta.url)(SQLITE_PACKAGE) as typeof BetterSqlite3;
    } catch (e) {
      throw new Error(`SQLite needs the npm package ${SQLITE_PACKAGE} on Node ${process.versions.node}, and it could not be loaded `
        + `(${(e as Error).message.split('\n')[0]}); install it with \`npm install ${INSTALL}\``, { cause: e });
    }
  }
  return new driver(path, options);
}
