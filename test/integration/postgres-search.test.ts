// Full-text search over published PostgreSQL tables, as users run it: a CSV pipeline whose destination declares
// `search:`, loaded by `sluice run`, queried by `sluice search`. The generated column and GIN index exist after merge
// and replace runs, follow a changed option, rank weighted hits first, take any query text, and configuration
// problems exit 2 without the destination's password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgQuery, sluice, tempDir } from '../helpers.js';

// Trust auth takes any password: this one must never be printed.
const PASSWORD = 'hunter2-search-secret';
const URL = `postgres://postgres:${PASSWORD}@127.0.0.1:5432/test`;

const PROSPECTS = `id,full_name,school,position
1,Jordan Smith,Lakeview High,guard
2,Alex Brown,Smith Academy,center
3,Sam O'Neil,Riverside,forward
`;

interface Setup {
  dir: string;
  home: string;
  schema: string;
  pipeline: string;
  /** (Re)write the pipeline file with this stream disposition and `search:` entry. */
  write: (opts: { write: string; search?: string }) => void;
  run: () => Promise<void>;
  search: (...args: string[]) => ReturnType<typeof sluice>;
}

async function withSetup(body: (s: Setup) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const schema = `search_${randomBytes(4).toString('hex')}`;
  const pipeline = join(dir, 'p.yaml');
  writeFileSync(join(dir, 'prospects.csv'), PROSPECTS);
  const home = join(dir, '.sluice');
  const s: Setup = {
    dir, home, schema, pipeline,
    write: ({ write, search }) => writeFileSync(pipeline, `pipeline: prospects-search
sources:
  - name: files
    type: csv
    streams:
      - { name: prospect_core, path: 'prospects*.csv', primary_key: id, write: ${write} }
destination:
  type: postgres
  url: ${URL}
  schema: ${schema}
${search === undefined ? '' : `  search:\n    ${search}\n`}`),
    run: async () => {
      const r = await sluice(['run', pipeline, '--json'], { home });
      assert.equal(r.code, 0, r.stderr);
    },
    search: (...args) => sluice(['search', pipeline, ...args], { home }),
  };
  try {
    await body(s);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    cleanup();
  }
}

const WEIGHTED = 'prospect_core: { columns: [full_name, school, position], language: english, weights: { full_name: A, school: B } }';

const searchIndexes = (schema: string) => pgQuery(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = '${schema}' AND tablename = 'prospect_core' AND indexdef LIKE '%USING gin (search_vector)%'`);
const generation = async (schema: string) => (await pgQuery(`SELECT column_name, generation_expression FROM information_schema.columns
  WHERE table_schema = '${schema}' AND table_name = 'prospect_core' AND column_name = 'search_vector'`))[0];
const jsonRows = (r: { stdout: string }) => (JSON.parse(r.stdout) as { rows: Record<string, unknown>[] }).rows;

test('merge: the column and GIN index are made, weighted hits rank first, any query text is taken, a changed option replaces the column', async () => {
  await withSetup(async (s) => {
    s.write({ write: 'merge', search: WEIGHTED });
    await s.run();
    assert.equal((await searchIndexes(s.schema)).length, 1);
    const gen = await generation(s.schema);
    assert.ok(gen, 'search_vector exists');
    assert.match(String(gen.generation_expression), /setweight.*full_name.*'A'/s);

    const found = await s.search('prospect_core', 'guard', '--json');
    assert.equal(found.code, 0, found.stderr);
    const parsed = JSON.parse(found.stdout) as { table: string; query: string; rows: Record<string, unknown>[] };
    assert.equal(parsed.table, 'prospect_core');
    assert.equal(parsed.query, 'guard');
    assert.deepEqual(parsed.rows.map((r) => r.full_name), ['Jordan Smith']);

    // "Smith" is Jordan's name (weight A) and Alex's school (weight B): the name comes first.
    const ranked = jsonRows(await s.search('prospect_core', 'smith', '--json'));
    assert.deepEqual(ranked.map((r) => r.full_name), ['Jordan Smith', 'Alex Brown']);
    assert.ok(Number(ranked[0].rank) > Number(ranked[1].rank));

    const text = await s.search('prospect_core', 'smith', '--limit', '1');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^full_name\s+school\s+position\s+rank\n-+/);
    assert.match(text.stdout, /Jordan Smith/);
    assert.doesNotMatch(text.stdout, /Alex Brown/);

    for (const hostile of [`'; DROP TABLE ${s.schema}.prospect_core; --`, 'smith & | ! brown', '"unterminated', "O'Neil", '!!!', '(((', ':*', 'a:* <-> b', '\\', '-', '']) {
      const r = await s.search('prospect_core', hostile, '--json');
      assert.equal(r.code, 0, `${hostile}: ${r.stderr}`);
      assert.ok(Array.isArray(jsonRows(r)));
    }
    assert.equal((await pgQuery(`SELECT count(*)::int AS n FROM ${s.schema}.prospect_core`))[0].n, 3, 'the table survived');
    assert.deepEqual(jsonRows(await s.search('prospect_core', "O'Neil", '--json')).map((r) => r.full_name), ["Sam O'Neil"]);

    // A second run with a changed option: the new columns are searched, the dropped one no longer.
    writeFileSync(join(s.dir, 'prospects.csv'), `${PROSPECTS}4,Chris Lake,Smith Academy,guard\n`);
    s.write({ write: 'merge', search: 'prospect_core: { columns: [full_name, position], language: simple }' });
    await s.run();
    const changed = await generation(s.schema);
    assert.doesNotMatch(String(changed.generation_expression), /school/);
    assert.match(String(changed.generation_expression), /simple/);
    assert.equal((await searchIndexes(s.schema)).length, 1);
    assert.deepEqual(jsonRows(await s.search('prospect_core', 'academy', '--json')), [], 'school is no longer searched');
    assert.deepEqual(jsonRows(await s.search('prospect_core', 'guard', '--json')).map((r) => r.full_name).sort(), ['Chris Lake', 'Jordan Smith']);

    // Unchanged option, another run: still one index, same column.
    await s.run();
    assert.equal((await searchIndexes(s.schema)).length, 1);
  });
});

for (const write of ['replace', 'append']) {
  test(`${write}: the table ${write === 'replace' ? 'swapped in' : 'appended to'} has the column and index`, async () => {
    await withSetup(async (s) => {
      s.write({ write, search: WEIGHTED });
      await s.run();
      // The second run's rows go into a table that has the generated column (append) or a new one swapped in (replace).
      writeFileSync(join(s.dir, 'prospects-2.csv'), 'id,full_name,school,position\n4,Chris Lake,Riverside North,guard\n');
      await s.run();
      assert.equal((await searchIndexes(s.schema)).length, 1);
      assert.ok(await generation(s.schema));
      const r = await s.search('prospect_core', 'riverside', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(jsonRows(r).map((row) => row.full_name).sort(), ['Chris Lake', "Sam O'Neil"]);
    });
  });
}

test('an index dropped by hand comes back; a searched column the table lacks, or an unknown language, fails the run, naming it', async () => {
  await withSetup(async (s) => {
    s.write({ write: 'merge', search: WEIGHTED });
    await s.run();
    await pgQuery(`DROP INDEX ${s.schema}.prospect_core_search`);
    await s.run();
    assert.equal((await searchIndexes(s.schema)).length, 1);
    s.write({ write: 'merge', search: 'prospect_core: { columns: [full_name, nickname] }' });
    const r = await sluice(['run', s.pipeline], { home: s.home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /search: nickname is no column of .*prospect_core/);
    s.write({ write: 'merge', search: 'prospect_core: { columns: [full_name], language: "klingon\'; --" }' });
    const lang = await sluice(['run', s.pipeline], { home: s.home });
    assert.equal(lang.code, 1);
    assert.match(lang.stderr, /search: language \\"klingon'; --\\" is no text search configuration/);
    for (const out of [r, lang]) assert.ok(!out.stderr.includes(PASSWORD));
  });
});

test('a searched column widened by a later run (integer to text) keeps the table searchable', async () => {
  await withSetup(async (s) => {
    writeFileSync(join(s.dir, 'prospects.csv'), 'id,full_name,school,position\n1,Jordan Smith,Lakeview High,7\n');
    s.write({ write: 'merge', search: WEIGHTED });
    await s.run();
    assert.deepEqual(jsonRows(await s.search('prospect_core', '7', '--json')).map((r) => r.full_name), ['Jordan Smith']);
    writeFileSync(join(s.dir, 'prospects-2.csv'), 'id,full_name,school,position\n2,Alex Brown,Smith Academy,point guard\n');
    await s.run();
    assert.equal((await pgQuery(`SELECT data_type FROM information_schema.columns WHERE table_schema = '${s.schema}' AND table_name = 'prospect_core' AND column_name = 'position'`))[0].data_type, 'text');
    assert.equal((await searchIndexes(s.schema)).length, 1);
    assert.deepEqual(jsonRows(await s.search('prospect_core', 'guard', '--json')).map((r) => r.full_name), ['Alex Brown']);
  });
});

test('clear errors, exit 2, no password: not PostgreSQL, no `search:` entry, a table not loaded yet', async () => {
  await withSetup(async (s) => {
    s.write({ write: 'merge', search: WEIGHTED });
    const notYet = await s.search('prospect_core', 'smith');
    assert.equal(notYet.code, 2, notYet.stderr);
    assert.match(notYet.stderr, /does not exist yet: run the pipeline first/);

    const badLimit = await s.search('prospect_core', 'smith', '--limit', '0');
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.stderr, /--limit must be a positive integer/);

    const noEntry = await s.search('other_table', 'smith');
    assert.equal(noEntry.code, 2);
    assert.match(noEntry.stderr, /table other_table has no `search:` entry/);
    assert.match(noEntry.stderr, /searchable tables: prospect_core/);

    s.write({ write: 'merge' });
    const none = await s.search('prospect_core', 'smith');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /has no `search:` entry/);

    writeFileSync(s.pipeline, `pipeline: prospects-sqlite
sources:
  - { name: files, type: csv, streams: [{ name: prospect_core, path: prospects.csv }] }
destination: { type: sqlite, path: out.db }
`);
    const sqlite = await s.search('prospect_core', 'smith');
    assert.equal(sqlite.code, 2);
    assert.match(sqlite.stderr, /needs a postgres destination; pipeline prospects-sqlite writes to sqlite/);

    for (const r of [notYet, noEntry, none, sqlite]) assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
  });
});
