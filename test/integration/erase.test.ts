// `sluice erase` through the real binary, on every SQL destination (PostgreSQL, DuckDB, MariaDB, SQLite, each fresh):
// a subject loaded into a merged table with a flatten child table, an SCD2 table holding two versions of it (the
// older under another email) and a table of visits, with one visit dead-lettered, is gone from all of them and from
// the DLQ after one erase by email; a dry run changes nothing; the audit trail records counts and never the value;
// a full re-run from sources that still hold the subject does not bring it back (its rows count as filtered) until
// the suppression is lifted. With an encryption key set, the value is nowhere in plain text under $SLUICE_HOME.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sluice, tempDir } from '../helpers.js';
import { ADA, ADA_OLD, ndjson, plainText, projectDir, visitsWith } from '../support/erase-fixtures.js';
import { TARGETS, type Target } from '../conformance/targets.js';

const { dir: root, cleanup: removeRoot } = tempDir('sluice-erase-');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
  removeRoot();
});

const KEY = randomBytes(32).toString('hex');

const customers = (adaEmail: string) => [
  { id: 1, email: adaEmail, name: 'Ada Lovelace', orders: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }] },
  { id: 2, email: 'bob@example.com', name: 'Bob Stone', orders: [{ sku: 'C', qty: 3 }] },
];
const visits = visitsWith([{ age: '36' }, { age: 'not-a-number' }, { age: '40' }]);

let seq = 0;
function project(t: Target, over = '') {
  const { dir, home, file } = projectDir(root, `p${++seq}`, `pipeline: erase-${seq}
${over}sources:
  - name: crm
    type: ndjson
    streams:
      - name: customers
        path: customers.ndjson
        primary_key: [id]
        write: merge
        pii: [email, name]
      - name: history
        path: customers.ndjson
        primary_key: [id]
        write: scd2
        pii: [email, name]
      - name: visits
        path: visits.ndjson
        primary_key: [visit_id]
        write: merge
        pii: [email]
        columns: { age: integer }
transforms:
  customers:
    - flatten: { column: orders }
${t.destination}`);
  writeFileSync(join(dir, 'visits.ndjson'), ndjson(visits));
  const env = { SLUICE_ENCRYPTION_KEY: KEY };
  return {
    dir, home, file,
    customers: (adaEmail: string) => writeFileSync(join(dir, 'customers.ndjson'), ndjson(customers(adaEmail))),
    run: async (...args: string[]) => {
      const r = await sluice(['run', file, '--json', ...args], { home, env });
      assert.ok(r.code === 0 || r.code === 3, r.stderr);
      return JSON.parse(r.stdout) as { streams: Record<string, { extracted: number; loaded: number; dead_lettered: number; filtered: number }> };
    },
    erase: async (...args: string[]) => {
      const r = await sluice(['erase', file, '--json', ...args], { home, env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { tables: { table: string; rows: number; kind: string }[]; dlq: { entries: number; unreadable: number }; suppressed: boolean; mode: string };
    },
    dlq: async () => {
      const r = await sluice(['dlq', 'list', '--all', '--json', '--pipeline', `erase-${seq}`], { home, env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { stream: string; raw: string }[];
    },
  };
}

/** The ids, emails and names of a table, read as text. */
const rows = async (t: Target, table: string, cols: string[]) =>
  (await t.query(`SELECT ${cols.map((c) => `${t.text(c)} AS ${c}`).join(', ')} FROM ${t.table(table)}`))
    .map((r) => cols.map((c) => (r[c] === null ? 'NULL' : String(r[c]))).join('|')).sort();

for (const kind of TARGETS) {
  test(`${kind.name}: erase removes a subject from tables, SCD2 history, child tables and the DLQ, and keeps it out`, async () => {
    const t = await kind.create();
    cleanups.push(() => t.cleanup());
    const p = project(t);
    p.customers(ADA_OLD);
    await p.run();
    p.customers(ADA);
    const second = await p.run('--full-refresh');
    assert.equal(second.streams.visits.dead_lettered, 1);
    assert.deepEqual(await rows(t, 'history', ['id', 'email']), ['1|ada@example.com', '1|ada@old.example', '2|bob@example.com']);
    assert.equal((await rows(t, 'customers__orders', ['_parent_key', 'sku'])).length, 3);
    assert.equal((await p.dlq()).length, 1);

    // A dry run counts and changes nothing.
    const dry = await p.erase('--key', `email=${ADA}`, '--dry-run');
    const count = (r: typeof dry, table: string) => r.tables.find((x) => x.table === table)?.rows;
    assert.deepEqual([count(dry, 'customers'), count(dry, 'customers__orders'), count(dry, 'history'), count(dry, 'visits'), dry.dlq.entries],
      [1, 2, 2, 1, 1], JSON.stringify(dry));
    assert.equal(dry.suppressed, false);
    assert.equal((await rows(t, 'customers', ['id'])).length, 2);
    assert.equal((await p.dlq()).length, 1);

    const done = await p.erase('--key', `email=${ADA}`);
    assert.deepEqual([count(done, 'customers'), count(done, 'customers__orders'), count(done, 'history'), count(done, 'visits'), done.dlq.entries],
      [1, 2, 2, 1, 1], JSON.stringify(done));
    assert.equal(done.suppressed, true);
    assert.deepEqual(await rows(t, 'customers', ['id', 'email']), ['2|bob@example.com']);
    // Both versions went, the one under the old email too.
    assert.deepEqual(await rows(t, 'history', ['id', 'email']), ['2|bob@example.com']);
    assert.deepEqual(await rows(t, 'customers__orders', ['_parent_key', 'sku']), ['2|C']);
    assert.deepEqual(await rows(t, 'visits', ['visit_id']), ['12']);
    assert.deepEqual(await p.dlq(), []);

    // The audit trail: the request with its counts, never the value.
    const audit = (await sluice(['audit', 'list', '--json', '--pipeline', `erase-${seq}`], { home: p.home })).stdout;
    const entries = audit.trim().split('\n').map((l) => JSON.parse(l) as { action: string; detail: Record<string, unknown> });
    const erased = entries.find((e) => e.action === 'erase');
    assert.ok(erased, audit);
    assert.equal(erased.detail.column, 'email');
    assert.equal(erased.detail.dlq_entries, 1);
    assert.ok(entries.some((e) => e.action === 'erase.dry_run'));
    assert.ok(!audit.includes(ADA) && !audit.includes('ada@'), 'no value in the audit trail');
    assert.deepEqual(plainText(p.home, ADA), [], 'no plain-text value under SLUICE_HOME');

    // The sources still hold Ada: a full re-run filters her rows (and her dead-lettered visit) out.
    const again = await p.run('--full-refresh');
    assert.equal(again.streams.customers.filtered, 1);
    assert.equal(again.streams.visits.filtered, 2);
    for (const s of Object.values(again.streams)) assert.equal(s.extracted, s.loaded + s.dead_lettered + s.filtered, JSON.stringify(again));
    assert.deepEqual(await rows(t, 'customers', ['id']), ['2']);
    assert.deepEqual(await rows(t, 'history', ['id']), ['2']);
    assert.deepEqual(await rows(t, 'customers__orders', ['_parent_key']), ['2']);
    assert.deepEqual(await rows(t, 'visits', ['visit_id']), ['12']);
    assert.deepEqual(await p.dlq(), []);

    // Lifted, the subject loads again.
    const lift = await sluice(['erase', p.file, '--key', `email=${ADA}`, '--lift', '--json'], { home: p.home });
    assert.equal(lift.code, 0, lift.stderr);
    assert.equal(JSON.parse(lift.stdout).lifted, true);
    await p.run('--full-refresh');
    assert.deepEqual(await rows(t, 'customers', ['id']), ['1', '2']);
  });
}

test('anonymise keeps the rows and blanks their pii columns; a stream without pii columns refuses before any change', async () => {
  const sqlite = TARGETS.find((k) => k.name === 'sqlite')!;
  const t = await sqlite.create();
  cleanups.push(() => t.cleanup());
  const p = project(t, 'privacy: { erasure: anonymise }\n');
  p.customers(ADA);
  await p.run();
  const r = await p.erase('--key', 'id=1');
  assert.equal(r.mode, 'anonymise');
  assert.deepEqual(await rows(t, 'customers', ['id', 'email', 'name']), ['1|NULL|NULL', '2|bob@example.com|Bob Stone']);
  assert.deepEqual(await rows(t, 'history', ['id', 'email']), ['1|NULL', '2|bob@example.com']);
  // The children stay (they hold no column the parent tags).
  assert.equal((await rows(t, 'customers__orders', ['_parent_key'])).length, 3);

  writeFileSync(p.file, readFileSync(p.file, 'utf8').replace('        pii: [email, name]\n      - name: history', '      - name: history'));
  const refused = await sluice(['erase', p.file, '--key', 'id=2'], { home: p.home, env: { SLUICE_ENCRYPTION_KEY: KEY } });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /customers has no `pii` columns to anonymise/);
  assert.deepEqual(await rows(t, 'history', ['id', 'email']), ['1|NULL', '2|bob@example.com'], 'nothing changed');
});

test('erase needs --key column=value', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'p.yaml'), 'pipeline: x\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: s\n        path: s.csv\n');
    const r = await sluice(['erase', join(dir, 'p.yaml'), '--key', 'novalue'], { home: join(dir, '.sluice') });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--key <column>=<value>/);
  } finally {
    cleanup();
  }
});
