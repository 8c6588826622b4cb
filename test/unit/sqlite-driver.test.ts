// Regression (Node 24.19+, nodejs/node#65446): better-sqlite3 12's statements, collected by V8 while no context is
// entered, aborted the process with `Assertion failed: (env) != nullptr`. The driver for this Node must survive
// statements left to the garbage collector, mid-run and at exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SQLITE_PACKAGE, openDatabase } from '../../src/core/sqlite-driver.js';

test('the SQLite driver is better-sqlite3 13 (Node-API) on Node 22 and later, 12 on Node 20', () => {
  const major = Number(process.versions.node.split('.')[0]);
  assert.equal(SQLITE_PACKAGE, major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3');
  const db = openDatabase(':memory:');
  try {
    assert.deepEqual(db.prepare('SELECT 6 * 7 AS n').get(), { n: 42 });
  } finally {
    db.close();
  }
});

test('statements left to the garbage collector, during a run and at exit, do not abort the process', () => {
  const driver = new URL('../../src/core/sqlite-driver.js', import.meta.url).href;
  const script = `
    import { openDatabase } from ${JSON.stringify(driver)};
    const db = openDatabase(':memory:');
    db.exec('CREATE TABLE t (x)');
    for (let i = 0; i < 2000; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
    // Garbage enough for collections between tasks, then statements still unreferenced at exit.
    let junk = [];
    for (let i = 0; i < 1e6; i++) junk.push({ i });
    junk = null;
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 1e6; i++) junk = { i };
    for (let i = 0; i < 500; i++) db.prepare('SELECT count(*) FROM t').get();
    console.log(db.prepare('SELECT count(*) AS n FROM t').get().n);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  assert.equal(out.trim(), '2000');
});
