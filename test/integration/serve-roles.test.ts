// Token roles through a real serve process: read-only looks, operator runs (and replays the DLQ) but cannot purge or
// erase, admin purges and erases a data subject; a token file line without a role is admin, as before roles existed;
// every refusal is in the audit trail with who, what and the role it needed — cookie requests refused for CSRF too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { tempDir, until } from '../helpers.js';
import { api, serve, TOKEN } from '../support/serve-process.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';

test('roles: read-only looks, operator runs and replays but cannot purge, admin purges; refusals are audited', async () => {
  const { dir, cleanup } = tempDir();
  writeFileSync(join(dir, 'tokens.txt'), `# no role: admin\nboss: ${TOKEN}\nviewer: ${VIEWER} read-only\nop: ${OPERATOR} operator\n`);
  writeFileSync(join(dir, 'events.csv'), 'id,amount\n1,10\n2,not-a-number\n');
  writeFileSync(join(dir, 'ledger.yaml'), `pipeline: ledger
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: events.csv
        primary_key: id
        columns: { id: integer, amount: integer }
destination: { type: sqlite, path: out.db }
`);
  const server = serve(dir, join(dir, '.sluice'), 'roles');
  try {
    const url = await server.url;
    const as = (token: string, method: string, path: string) => api(url, path, { method, token });

    for (const [token, actor, role] of [[TOKEN, 'token:boss', 'admin'], [OPERATOR, 'token:op', 'operator'], [VIEWER, 'token:viewer', 'read-only']]) {
      const s = (await as(token, 'GET', '/api/session')).body;
      assert.deepEqual([s.actor, s.role], [actor, role]);
    }

    // read-only: 403 on running and on purging, told the role it lacks
    const run = await as(VIEWER, 'POST', '/api/pipelines/ledger/runs');
    assert.deepEqual([run.status, run.body.error], [403, 'forbidden: token "viewer" has the read-only role; POST /api/pipelines/ledger/runs needs operator']);
    const viewerPurge = await as(VIEWER, 'DELETE', '/api/dlq?pipeline=ledger');
    assert.deepEqual([viewerPurge.status, viewerPurge.body.error], [403, 'forbidden: token "viewer" has the read-only role; DELETE /api/dlq needs admin']);
    assert.equal((await as(VIEWER, 'GET', '/api/dlq?pipeline=ledger')).status, 200);

    // operator: runs, replays, but cannot purge
    assert.equal((await as(OPERATOR, 'POST', '/api/pipelines/ledger/runs')).status, 202);
    const dlq = async () => (await as(VIEWER, 'GET', '/api/dlq?pipeline=ledger')).body.rows as unknown[];
    await until('the dead-lettered row', async () => (await dlq()).length === 1);
    const replay = await api(url, '/api/dlq/replay', { method: 'POST', token: OPERATOR, body: JSON.stringify({ pipeline: 'ledger' }) });
    assert.equal(replay.status, 200, replay.text);
    const opPurge = await as(OPERATOR, 'DELETE', '/api/dlq?pipeline=ledger');
    assert.deepEqual([opPurge.status, opPurge.body.error], [403, 'forbidden: token "op" has the operator role; DELETE /api/dlq needs admin']);
    assert.equal((await dlq()).length, 1, 'a refused purge removed nothing');

    // admin (a token file line with no role): purges
    const purge = await as(TOKEN, 'DELETE', '/api/dlq?pipeline=ledger');
    assert.deepEqual([purge.status, purge.body], [200, { purged: 1 }]);
    assert.equal((await dlq()).length, 0);

    // erasing a data subject: admin only; the others are refused before anything is touched
    const erase = (token: string, body: object) => api(url, '/api/pipelines/ledger/erase', { method: 'POST', token, body: JSON.stringify(body) });
    const ids = () => {
      const db = openDatabase(join(dir, 'out.db'), { readonly: true });
      try {
        return db.prepare('SELECT id FROM events ORDER BY id').all().map((r) => (r as { id: number }).id);
      } finally {
        db.close();
      }
    };
    for (const token of [VIEWER, OPERATOR]) assert.equal((await erase(token, { column: 'id', value: '1' })).status, 403);
    assert.deepEqual(ids(), [1]);
    assert.equal((await erase(TOKEN, { column: 'id' })).status, 400);
    const erased = await erase(TOKEN, { column: 'id', value: '1' });
    assert.equal(erased.status, 200, erased.text);
    assert.deepEqual([erased.body.tables, erased.body.suppressed], [[{ table: 'events', stream: 'events', kind: 'stream', rows: 1 }], true]);
    assert.deepEqual(ids(), []);

    // a cookie session whose request lacks its CSRF token is refused, and that is audited too
    const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: OPERATOR }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    assert.equal((await api(url, '/api/pipelines/ledger/pause', { method: 'POST', token: null, headers: { cookie } })).status, 403);

    const audit = (await as(VIEWER, 'GET', '/api/audit?pipeline=ledger&limit=1000')).body.entries as { actor: string; action: string; detail: Record<string, unknown> }[];
    const denied = audit.filter((e) => e.action === 'access.denied').map((e) => [e.actor, e.detail]);
    assert.deepEqual(denied, [
      ['token:viewer', { method: 'POST', path: '/api/pipelines/ledger/runs', role: 'read-only', needed: 'operator', reason: 'role' }],
      ['token:viewer', { method: 'DELETE', path: '/api/dlq', role: 'read-only', needed: 'admin', reason: 'role' }],
      ['token:op', { method: 'DELETE', path: '/api/dlq', role: 'operator', needed: 'admin', reason: 'role' }],
      ['token:viewer', { method: 'POST', path: '/api/pipelines/ledger/erase', role: 'read-only', needed: 'admin', reason: 'role' }],
      ['token:op', { method: 'POST', path: '/api/pipelines/ledger/erase', role: 'operator', needed: 'admin', reason: 'role' }],
      ['token:op', { method: 'POST', path: '/api/pipelines/ledger/pause', role: 'operator', needed: 'operator', reason: 'csrf' }],
    ]);
    // …and what was allowed is there with its actor
    const allowed = audit.filter((e) => ['run.triggered', 'dlq.replay', 'dlq.purge', 'erase'].includes(e.action)).map((e) => [e.action, e.actor]);
    assert.deepEqual(allowed, [['run.triggered', 'token:op'], ['dlq.replay', 'token:op'], ['dlq.purge', 'token:boss'], ['erase', 'token:boss']]);
  } finally {
    server.child.kill('SIGKILL');
    cleanup();
  }
});
