// `sluice erase` on the files destination, through the real binary, on local disk (Parquet partitioned by a column,
// NDJSON, gzip CSV) and on a real S3-compatible server: a subject loaded into a table partitioned by country with a
// flatten child table, an appended history holding two versions of its key (the older under another email) and a
// table of visits partitioned by the email itself, is gone from every table after one erase — read back through the
// manifests with `sluice lake` — while every other row stays; each manifest's row counts match its parts; no file
// holds the value any more; a dry run touches no file; a full re-run does not bring the subject back. Then the crash
// windows of a rewrite, at library level: parts published but no manifest, and a manifest written but old parts left;
// and CSV records read back exactly as written, which is what lets a rewrite copy the rows it keeps byte for byte.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvField } from '../../src/connectors/files/csv-writer.js';
import { csvRecords } from '../../src/connectors/files/erase-text.js';
import { filesDestinationSpec, type FilesConfig } from '../../src/connectors/files/files-spec.js';
import type { Destination } from '../../src/core/connector.js';
import { runContext, schemaOf, sluice, tempDir } from '../helpers.js';
import { ADA, ADA_OLD, ndjson, plainText, projectDir, visitsWith } from '../support/erase-fixtures.js';
import { s3ServerForSuite } from '../support/s3-server.js';

const { dir: root, cleanup: removeRoot } = tempDir('sluice-erase-files-');
after(() => removeRoot());


const customers = (adaEmail: string) => [
  { id: 1, email: adaEmail, name: 'Ada Lovelace', country: 'uk', orders: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }] },
  { id: 2, email: 'bob@example.com', name: 'Bob Stone', country: 'uk', orders: [{ sku: 'C', qty: 3 }] },
  { id: 3, email: 'cy@example.com', name: 'Cy Young', country: 'fr', orders: [{ sku: 'D', qty: 4 }] },
];
const visits = visitsWith([{ day: '2026-12-01' }, { day: '2026-12-02' }, { day: '2026-12-02' }]);

let seq = 0;
function project(destination: string, over = '') {
  const { dir, home, file } = projectDir(root, `p${++seq}`, `pipeline: erase-files-${seq}
${over}sources:
  - name: crm
    type: ndjson
    streams:
      - name: customers
        path: customers.ndjson
        primary_key: [id]
        write: replace
        pii: [email, name]
        partition_by: [country]
      - name: history
        path: customers.ndjson
        primary_key: [id]
        write: append
        pii: [email, name]
      - name: visits
        path: visits.ndjson
        primary_key: [visit_id]
        write: append
        pii: [email]
        partition_by: [email]
transforms:
  customers:
    - flatten: { column: orders }
${destination}`);
  writeFileSync(join(dir, 'visits.ndjson'), ndjson(visits));
  return {
    dir, home, file,
    customers: (adaEmail: string) => writeFileSync(join(dir, 'customers.ndjson'), ndjson(customers(adaEmail))),
    run: async (...args: string[]) => {
      const r = await sluice(['run', file, '--json', ...args], { home });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { streams: Record<string, { extracted: number; loaded: number; dead_lettered: number; filtered: number }> };
    },
    erase: async (...args: string[]) => {
      const r = await sluice(['erase', file, '--json', ...args], { home });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { tables: { table: string; rows: number; kind: string }[]; suppressed: boolean; mode: string };
    },
    /** `sluice lake` with SQL: the rows as `a|b` text, sorted. */
    lake: async (sql: string) => {
      const r = await sluice(['lake', file, sql, '--json'], { home });
      assert.equal(r.code, 0, r.stderr);
      const { columns, rows } = JSON.parse(r.stdout) as { columns: string[]; rows: Record<string, unknown>[] };
      return rows.map((row) => columns.map((c) => (row[c] === null ? 'NULL' : String(row[c]))).join('|')).sort();
    },
    /** `sluice lake` without SQL: each table's rows as its manifest counts them, and its parts. */
    tables: async () => {
      const r = await sluice(['lake', file, '--json'], { home });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { rows: { table: string; rows: number; parts: number }[] }).rows;
    },
  };
}

/** Every file under `dir` with its size and modification time. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out.push(`${p} ${s.size} ${s.mtimeMs}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

const ALL_ROWS = `SELECT 'customers' AS t, id::VARCHAR AS k, email FROM customers
  UNION ALL SELECT 'history', id::VARCHAR, email FROM history
  UNION ALL SELECT 'visits', visit_id::VARCHAR, email FROM visits
  UNION ALL SELECT 'orders', _parent_key || ':' || sku, NULL FROM customers__orders`;

const DESCRIBE = `SELECT 'customers', column_name, column_type FROM (DESCRIBE customers)
  UNION ALL SELECT 'history', column_name, column_type FROM (DESCRIBE history)
  UNION ALL SELECT 'visits', column_name, column_type FROM (DESCRIBE visits)`;

interface Layout {
  name: string;
  /** The destination block. */
  destination: (id: number) => string;
  /** Where the parts end up on local disk (S3: the server's object files). */
  where: (dir: string) => string;
  /** Whether the value can be looked for as plain text in the parts (Parquet compresses its pages). */
  plain: boolean;
}

describe('sluice erase on the files destination', () => {
  const s3 = s3ServerForSuite({ buckets: ['lake'] });

  const layouts: Layout[] = [
    { name: 'Parquet on disk', destination: () => 'destination:\n  type: files\n  path: lake\n  format: parquet\n', where: (d) => join(d, 'lake'), plain: false },
    { name: 'NDJSON on disk', destination: () => 'destination:\n  type: files\n  path: lake\n  format: ndjson\n', where: (d) => join(d, 'lake'), plain: true },
    { name: 'gzip CSV on disk', destination: () => 'destination:\n  type: files\n  path: lake\n  format: csv\n  compression: gzip\n', where: (d) => join(d, 'lake'), plain: true },
    {
      name: 'Parquet on S3', plain: false, where: () => join(s3().dir, 'lake', `erase-${seq}`),
      destination: (id) => `destination:\n  type: files\n  path: s3://lake/erase-${id}\n  format: parquet\n  ${s3().yaml}\n`,
    },
    {
      name: 'NDJSON on S3', plain: true, where: () => join(s3().dir, 'lake', `erase-${seq}`),
      destination: (id) => `destination:\n  type: files\n  path: s3://lake/erase-${id}\n  format: ndjson\n  ${s3().yaml}\n`,
    },
  ];

  for (const layout of layouts) {
    it(`${layout.name}: the subject goes from every table, history and child table included, and stays out`, async () => {
      const p = project(layout.destination(seq + 1));
      const parts = layout.where(p.dir);
      p.customers(ADA_OLD);
      await p.run();
      p.customers(ADA);
      await p.run();
      const before = await p.lake(ALL_ROWS);
      const described = await p.lake(DESCRIBE);
      assert.ok(before.includes(`history|1|${ADA_OLD}`) && before.includes(`history|1|${ADA}`), before.join('\n'));
      assert.ok(before.includes('orders|1:A|NULL') && before.includes(`visits|10|${ADA}`), before.join('\n'));

      // A dry run counts and changes no file.
      const files = listing(parts);
      const dry = await p.erase('--key', `email=${ADA}`, '--dry-run');
      const count = (r: typeof dry, table: string) => r.tables.find((x) => x.table === table)?.rows;
      assert.deepEqual([count(dry, 'customers'), count(dry, 'customers__orders'), count(dry, 'history'), count(dry, 'visits')], [1, 2, 2, 2], JSON.stringify(dry));
      assert.equal(dry.suppressed, false);
      assert.deepEqual(listing(parts), files, 'a dry run writes nothing');
      assert.deepEqual(await p.lake(ALL_ROWS), before);

      const done = await p.erase('--key', `email=${ADA}`);
      assert.deepEqual([count(done, 'customers'), count(done, 'customers__orders'), count(done, 'history'), count(done, 'visits')], [1, 2, 2, 2], JSON.stringify(done));
      const expected = before.filter((r) => !r.includes('ada@') && !r.startsWith('history|1|') && !r.startsWith('orders|1:'));
      assert.deepEqual(await p.lake(ALL_ROWS), expected);
      assert.equal(expected.length, before.length - 7);
      // Columns and types as they were: the rewritten parts read back under the same views.
      assert.deepEqual(await p.lake("SELECT id, name, country FROM customers WHERE country = 'uk'"), ['2|Bob Stone|uk']);
      assert.deepEqual(await p.lake(DESCRIBE), described);
      // The manifests count what the parts hold; nothing under the tables but what they list.
      const tables = await p.tables();
      const counted = await p.lake(tables.map((t) => `SELECT '${t.table}', count(*) FROM "${t.table}"`).join(' UNION ALL '));
      assert.deepEqual(counted, tables.map((t) => `${t.table}|${t.rows}`).sort(), 'manifest rows');
      assert.equal(tables.find((t) => t.table === 'visits')?.parts, 1, 'the subject\'s partition of visits is gone');
      assert.ok(!listing(parts).some((f) => f.includes('_staging') || f.includes('.tmp-')), listing(parts).join('\n'));
      // (s3rver keeps the empty directories of deleted objects: a path's name counts on local disk only.)
      const local = !layout.name.endsWith('S3');
      if (layout.plain) assert.deepEqual(plainText(parts, 'ada@', local), [], 'no file holds the subject');
      else assert.deepEqual(plainText(parts, ADA, local).filter((f) => !f.endsWith('.parquet')), [], 'no directory is named after the subject');
      if (!local) assert.ok(existsSync(join(p.home, 'lake-cache')), 'sluice lake cached the parts');
      assert.deepEqual(plainText(p.home, ADA).filter((f) => f.includes('lake-cache')), [], 'no cached copy of an old part');

      // Erasing again finds nothing and changes nothing.
      const again = await p.erase('--key', `email=${ADA}`);
      assert.ok(again.tables.every((t) => t.rows === 0), JSON.stringify(again));

      // The source still holds Ada: a full re-run filters her rows out.
      const rerun = await p.run('--full-refresh');
      assert.equal(rerun.streams.customers.filtered, 1);
      assert.equal(rerun.streams.visits.filtered, 2);
      const after = await p.lake(ALL_ROWS);
      assert.ok(!after.some((r) => r.includes('ada@') || r.startsWith('orders|1:')), after.join('\n'));
      assert.ok(after.includes('customers|2|bob@example.com') && after.includes('orders|3:D|NULL'), after.join('\n'));
    });
  }

  it('anonymise keeps the rows and blanks their pii columns, in the same parts\' layout', async () => {
    for (const format of ['parquet', 'csv']) {
      const p = project(`destination:\n  type: files\n  path: lake\n  format: ${format}\n`, 'privacy: { erasure: anonymise }\n');
      p.customers(ADA);
      await p.run();
      const r = await p.erase('--key', 'id=1');
      assert.equal(r.mode, 'anonymise');
      assert.deepEqual(await p.lake('SELECT id, email, name, country FROM customers'), ['1|NULL|NULL|uk', '2|bob@example.com|Bob Stone|uk', '3|cy@example.com|Cy Young|fr']);
      assert.deepEqual(await p.lake('SELECT id, email FROM history'), ['1|NULL', '2|bob@example.com', '3|cy@example.com']);
      assert.equal((await p.lake('SELECT _parent_key FROM customers__orders')).length, 4, 'the children stay');
      // The visits are partitioned by the email: a partition value cannot be blanked in place.
      const refused = await sluice(['erase', p.file, '--key', `email=${ADA}`], { home: p.home });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /cannot anonymise email, a partition column/);
    }
  });
});

/** A files destination opened by the library, as erase opens it. */
async function openDest(dir: string, config: Record<string, unknown>): Promise<Destination> {
  const dest = await filesDestinationSpec.create(filesDestinationSpec.config.parse(config) as FilesConfig);
  await dest.connect(runContext(dir));
  return dest;
}

describe('an interrupted erase', () => {
  const COLS = schemaOf([['id', 'integer'], ['email', 'text'], ['day', 'text']]);
  const rows = [[1, ADA, 'a'], [2, 'bob@example.com', 'a'], [3, ADA, 'b'], [4, 'cy@example.com', 'b']];
  const subject = { table: 'people', column: 'email', values: [ADA], key: ['id'] };

  async function loaded(format: string) {
    const { dir, cleanup } = tempDir();
    const config = { path: 'out', format };
    const dest = await openDest(dir, config);
    const load = await dest.begin({ pipeline: 'p', stream: 'people', table: 'people', disposition: 'append', primaryKey: ['id'], runId: 'r1', fullRefresh: false, partitionBy: ['day'] });
    await load.evolve(COLS);
    await load.write(rows);
    await load.finish({ version: 1 });
    const table = join(dir, 'out', 'people');
    const manifest = () => JSON.parse(readFileSync(join(table, '_manifest.json'), 'utf8')) as { files: { path: string; rows: number }[] };
    const files = () => listing(table).map((l) => l.slice(table.length + 1).split(' ')[0]).filter((f) => f !== '_manifest.json').sort();
    return { dir, dest, table, manifest, files, cleanup };
  }

  for (const format of ['parquet', 'ndjson']) {
    it(`${format}: parts published without a manifest are swept by the next erase, which finishes the job`, async () => {
      const t = await loaded(format);
      try {
        const store = (t.dest as unknown as { store: Record<string, unknown> }).store;
        const writeManifest = store.writeManifest as (...a: unknown[]) => Promise<void>;
        const discard = store.discard as (...a: unknown[]) => Promise<void>;
        // A crash right after the rewritten parts were moved into place: no manifest, nothing cleaned up.
        store.writeManifest = async () => {
          throw new Error('killed');
        };
        store.discard = async () => undefined;
        const before = t.manifest();
        await assert.rejects(t.dest.eraseSubject!(subject, {}), /killed/);
        assert.deepEqual(t.manifest(), before, 'the table is as it was');
        assert.ok(t.files().length > before.files.length, `unlisted parts left: ${t.files().join(', ')}`);
        store.writeManifest = writeManifest;
        store.discard = discard;

        const erased = await t.dest.eraseSubject!(subject, {});
        assert.deepEqual([erased.rows, erased.keys.map((k) => Number(k[0])).sort()], [2, [1, 3]]);
        const after = t.manifest();
        assert.deepEqual(t.files(), after.files.map((f) => f.path).sort(), 'only listed parts remain');
        assert.deepEqual(after.files.map((f) => f.rows), [1, 1]);
      } finally {
        await t.dest.close();
        t.cleanup();
      }
    });

    it(`${format}: old parts a crash left after the manifest are swept by the next erase`, async () => {
      const t = await loaded(format);
      try {
        const store = (t.dest as unknown as { store: Record<string, unknown> }).store;
        const remove = store.remove as (...a: unknown[]) => Promise<void>;
        store.remove = async (_table: string, rels: string[]) => {
          // The sweep before the rewrite removes nothing; the old parts' removal after the manifest is where it dies.
          if (rels.length) throw new Error('killed');
        };
        const before = t.manifest();
        await assert.rejects(t.dest.eraseSubject!(subject, {}), /killed/);
        const between = t.manifest();
        assert.notDeepEqual(between.files.map((f) => f.path), before.files.map((f) => f.path), 'the manifest lists the rewritten parts');
        assert.ok(t.files().some((f) => before.files.some((b) => b.path === f)), 'old parts still on disk');
        store.remove = remove;

        const again = await t.dest.eraseSubject!(subject, {});
        assert.equal(again.rows, 0);
        assert.deepEqual(t.files(), t.manifest().files.map((f) => f.path).sort(), 'the old parts are gone');
      } finally {
        await t.dest.close();
        t.cleanup();
      }
    });
  }
});

describe('CSV parts read back as the writer wrote them', () => {
  it('keeps NULL and the empty string apart, quotes, line breaks and CRLF, whatever the chunks', async () => {
    const rows: unknown[][] = [['a', null, ''], ['say "hi"', 'x,y', 'two\r\nlines'], ['', '', null]];
    const text = rows.map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
    for (const size of [1, 2, 3, 7, text.length]) {
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
      const got: { raw: string; fields: (string | null)[] }[] = [];
      for await (const r of csvRecords((async function* () { yield* chunks; })())) got.push(r);
      assert.deepEqual(got.map((r) => r.fields), rows, `chunks of ${size}`);
      assert.equal(got.map((r) => r.raw).join(''), text, `raw text, chunks of ${size}`);
    }
  });
});
