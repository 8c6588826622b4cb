// Entity resolution end to end: three providers' files land in staging tables, a `tables` stream unions them after
// they committed, `resolve` gives every record its entity's id (the crosswalk), `golden` merges each entity's records
// by source priority. Named cases: two players who share a name and a year stay two; one player spelled differently in
// two files becomes one; a school written another way is one school through an alias; an ambiguous record is not
// guessed but sent for review (the DLQ); ids survive a second run in which a new record arrives. On the embedded DuckDB
// and on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jaroWinkler } from '../../src/transforms/entity/similarity.js';
import { normalizeName, normalizeText } from '../../src/transforms/entity/normalize.js';
import { matchEntities, type MatchRecord } from '../../src/transforms/entity/matcher.js';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { PG_URL, duckQuery, pgQuery, sluice, tempDir } from '../helpers.js';

test('Jaro–Winkler and name normalization give the textbook values', () => {
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 0.001, `${a} ≈ ${b}`);
  near(jaroWinkler('martha', 'marhta'), 0.961);
  near(jaroWinkler('dwayne', 'duane'), 0.84);
  near(jaroWinkler('dixon', 'dicksonx'), 0.813);
  assert.equal(jaroWinkler('same', 'same'), 1);
  assert.equal(jaroWinkler('', 'x'), 0);
  assert.equal(normalizeName("D'Brickashaw Ferguson"), normalizeName('DBrickashaw Ferguson'));
  assert.equal(normalizeName('C.J. Spiller Jr.'), 'cj spiller');
  assert.equal(normalizeName('Robert Griffin III'), 'robert griffin');
  assert.equal(normalizeName('José  Núñez-Ortiz II'), 'jose nunez ortiz');
  assert.equal(normalizeText('Texas A&M'), normalizeText('Texas AM'));
  assert.equal(normalizeName('Jr.'), 'jr', 'a suffix alone is the name');
});

const rec = (source: string, key: string, name: string, extra: Partial<MatchRecord> = {}): MatchRecord =>
  ({ source, key, block: '2015', name: normalizeName(name), ids: [], agree: [], ...extra });
const opts = { threshold: 0.92, margin: 0.02, onePerSource: true, prefix: 'P' };

test('the matcher: exact ids, names within blocks, agree columns, one record per source, ambiguity, stable ids', () => {
  const records = [
    rec('a', '1', 'Kevin White', { agree: ['west virginia'] }),
    rec('a', '2', 'Kevin White', { agree: ['tcu'] }),
    rec('a', '3', 'Marcus Mariota', { ids: ['mm8'] }),
    rec('b', 'x', 'Kevin White', { agree: ['west virginia'] }),
    rec('b', 'y', 'Kevin Whyte', { agree: ['tcu'] }),
    rec('b', 'z', 'M. Mariota', { ids: ['mm8'] }), // joins by id whatever the name says
    rec('c', 'q', 'Kevin White'), // no school: both Kevin Whites fit equally well
    rec('c', 'r', 'Kevin White', { block: '2016' }), // another block: a new entity
  ];
  const { outcomes, ids } = matchEntities(records, opts);
  const entity = (i: number) => ('entity' in outcomes[i] ? ids[(outcomes[i] as { entity: number }).entity] : undefined);
  assert.equal(entity(3), entity(0));
  assert.equal(entity(4), entity(1));
  assert.notEqual(entity(0), entity(1), 'two players, one name, one year: two entities');
  assert.equal(entity(5), entity(2));
  assert.deepEqual(outcomes[5], { entity: (outcomes[2] as { entity: number }).entity, rule: 'id', score: 1 });
  assert.match((outcomes[6] as { ambiguous: string }).ambiguous, /^ambiguous: a 1 \(1\.000\) and a 2 \(1\.000\)/);
  assert.equal((outcomes[7] as { rule: string }).rule, 'new');
  assert.ok(ids.every((id) => /^P[0-9a-f]{12}$/.test(id)));
  assert.equal(new Set(ids).size, ids.length);

  // Run again with the ids the first run gave, and a new record from a new source ranked first: nobody is renumbered.
  const previous = records.map((r, i) => ({ ...r, previous: entity(i) }));
  const again = matchEntities([rec('0', 'new', 'Kevin White', { agree: ['tcu'] }), ...previous], opts);
  const entityAgain = (i: number) => ('entity' in again.outcomes[i] ? again.ids[(again.outcomes[i] as { entity: number }).entity] : undefined);
  for (let i = 0; i < records.length; i++) if (entity(i)) assert.equal(entityAgain(i + 1), entity(i), `record ${i} keeps its id`);
  assert.equal(entityAgain(0), entity(1), 'the new record joins the TCU Kevin White, under his id');
});

test('a penalized column lowers a match rather than ruling it out, and decides between two namesakes', () => {
  const soft = (school: string) => ({ soft: [school] });
  const records = [rec('a', '1', 'Chad Setterstrom', soft('new mexico')), rec('b', '1', 'Chad Setterstrom', soft('northern iowa'))];
  const kept = matchEntities(records, { ...opts, penalties: [0.06] });
  assert.deepEqual(kept.outcomes[1], { entity: 0, rule: 'name', score: 0.94 }, 'a transfer: another school, the same player');
  assert.equal((matchEntities(records, { ...opts, penalties: [0.1] }).outcomes[1] as { rule: string }).rule, 'new', 'too costly: a new entity');
  // Two namesakes, and a record naming one of their schools: the school decides instead of making it ambiguous.
  const two = [rec('a', '1', 'Mike Green', soft('houston')), rec('a', '2', 'Mike Green', soft('nw state la')), rec('b', 'x', 'Mike Green', soft('houston'))];
  const { outcomes } = matchEntities(two, { ...opts, penalties: [0.06] });
  assert.deepEqual(outcomes[2], { entity: 0, rule: 'name', score: 1 });
});

const CFR = `pfr_id,player_name,pos,school,draft_year,draft_round,ht,wt,forty
WhitKe00,Kevin White,WR,West Virginia,2015,1,6-3,215,4.35
WhitKe01,Kevin White,CB,TCU,2015,NA,5-9,183,4.62
FergDB00,D'Brickashaw Ferguson,OT,Virginia,2006,1,6-6,312,5.03
LeinMa00,Matt Leinart,QB,USC,2006,1,6-5,225,NA
JoneCh00,Chris Jones,DT,Mississippi State,2016,2,6-6,310,5.02
JoneCh01,Chris Jones,DT,Mississippi State,2016,7,6-2,300,5.10
`;
const NFL = `name,college,position,season,forty,weight
Kevin White,West Virginia,WR,2015,4.36,215
Kevin White,TCU,CB,2015,4.63,183
DBrickashaw Ferguson,Virginia,OT,2006,5.00,312
Matt Leinart,Southern California,QB,2006,4.91,225
`;
const YAHOO = `,round,pick,team,name,pos,year,college
0,1,7,CHI,Kevin White,WR,2015,West Virginia
1,1,7,CHI,Kevin White,WR,2015,West Virginia
2,1,4,NYJ,D'Brickashaw Ferguson,T,2006,Virginia
3,1,10,ARI,Matt Leinart,QB,2006,USC
4,2,37,KAN,Chris Jones,DT,2016,Mississippi State
`;

const pipeline = (destination: string) => `pipeline: prospects
sources:
  - name: providers
    type: csv
    streams:
      - { name: cfr_staging, path: cfr.csv, write: replace, columns: { draft_year: integer, draft_round: integer, wt: integer, forty: double } }
      - { name: nfl_staging, path: nfl.csv, write: replace, columns: { season: integer, forty: double, weight: integer } }
      - { name: yahoo_staging, path: yahoo.csv, write: replace, columns: { year: integer, round: integer, pick: integer } }
  - name: warehouse
    type: tables
    streams:
      - name: prospect_sources
        tables: { cfr: cfr_staging, nfl: nfl_staging, yahoo: yahoo_staging }
        source_column: source
        primary_key: [source, source_key]
        write: replace
      - name: prospect_core
        tables: [prospect_sources]
        primary_key: [prospect_id]
        write: merge
transforms:
  cfr_staging:
    - rename: { pfr_id: source_key, player_name: full_name, pos: position, wt: weight }
    - nullify: { values: [NA] }
    - derive: { extraction_id: "run_id()" }
  nfl_staging:
    - derive: { source_key: "concat(name, '|', season, '|', college)", full_name: name, school: college, draft_year: season }
    - drop: [name, college, season]
  yahoo_staging:
    - dedupe: { key: [year, round, pick] }
    - derive: { source_key: "concat(year, '-', pick)", full_name: name, position: pos, school: college, draft_year: year, draft_round: round }
    - drop: [name, pos, college, year, round, column_1]
  prospect_sources:
    - resolve:
        id: prospect_id
        source: source
        key: [source_key]
        name: full_name
        block: [draft_year]
        agree: [school]
        aliases: { school: { Southern California: USC } }
        priority: [cfr, nfl, yahoo]
        prefix: P
  prospect_core:
    - golden:
        by: prospect_id
        source: source
        priority: [cfr, nfl, yahoo]
        rules: { forty: { priority: [nfl, cfr] }, draft_round: min }
        keep: [forty]
        drop: [source_key, extraction_id, match_score, match_rule, team, pick, ht, _loaded_at]
        lineage: { table: data_lineage, columns: [source_key, extraction_id] }
views:
  - { name: player_counts, materialized: true, sql: "SELECT count(*) AS players FROM prospect_core" }
  - { name: by_school, sql: "SELECT school, count(*) AS n FROM prospect_core GROUP BY school" }
${destination}`;

async function scenario(destination: string, query: (sql: string) => Promise<Record<string, unknown>[]>, dir: string, home: string) {
  writeFileSync(join(dir, 'cfr.csv'), CFR);
  writeFileSync(join(dir, 'nfl.csv'), NFL);
  writeFileSync(join(dir, 'yahoo.csv'), YAHOO);
  writeFileSync(join(dir, 'pipeline.yaml'), pipeline(destination));
  const first = await sluice(['run', join(dir, 'pipeline.yaml'), '--json'], { home });
  assert.equal(first.code, 3, first.stderr); // partial success: one record held for review
  const summary = JSON.parse(first.stdout);
  const s = summary.streams;
  assert.deepEqual([s.cfr_staging.loaded, s.nfl_staging.loaded, s.yahoo_staging.loaded, s.yahoo_staging.filtered], [6, 4, 4, 1]);
  assert.deepEqual([s.prospect_sources.extracted, s.prospect_sources.loaded, s.prospect_sources.dead_lettered], [14, 13, 1]);
  // 13 records of 6 players: extracted 13 = loaded 6 + filtered 7 (records folded into their entity's).
  assert.deepEqual([s.prospect_core.extracted, s.prospect_core.loaded, s.prospect_core.filtered], [13, 6, 7]);

  const crosswalk = async () => new Map((await query('SELECT source, source_key, prospect_id FROM prospect_sources'))
    .map((r) => [`${r.source}:${r.source_key}`, String(r.prospect_id)]));
  const ids = await crosswalk();
  // Two players, one name, one year: two entities, each joined by its own NFL and Yahoo records.
  assert.notEqual(ids.get('cfr:WhitKe00'), ids.get('cfr:WhitKe01'));
  assert.equal(ids.get('nfl:Kevin White|2015|West Virginia'), ids.get('cfr:WhitKe00'));
  assert.equal(ids.get('nfl:Kevin White|2015|TCU'), ids.get('cfr:WhitKe01'));
  assert.equal(ids.get('yahoo:2015-7'), ids.get('cfr:WhitKe00'));
  // One player spelled two ways is one; a school spelled two ways is one through the alias.
  assert.equal(ids.get('nfl:DBrickashaw Ferguson|2006|Virginia'), ids.get('cfr:FergDB00'));
  assert.equal(ids.get('yahoo:2006-4'), ids.get('cfr:FergDB00'));
  assert.equal(ids.get('nfl:Matt Leinart|2006|Southern California'), ids.get('cfr:LeinMa00'));
  // Two Chris Joneses of one school and year: the Yahoo record fits both, and is held for review, not guessed.
  assert.notEqual(ids.get('cfr:JoneCh00'), ids.get('cfr:JoneCh01'));
  assert.equal(ids.has('yahoo:2016-37'), false);
  const dlq = await sluice(['dlq', 'list', '--pipeline', 'prospects', '--json'], { home });
  assert.match(dlq.stdout, /resolve: ambiguous: cfr JoneCh00 \(1\.000\) and cfr JoneCh01 \(1\.000\)/);

  // Golden records: one per entity, values by priority and rule, each source's forty beside the golden one.
  const white = (await query(`SELECT * FROM prospect_core WHERE prospect_id = '${ids.get('cfr:WhitKe00')}'`))[0];
  assert.equal(white.full_name, 'Kevin White');
  assert.equal(white.school, 'West Virginia');
  assert.equal(Number(white.forty), 4.36, 'forty: NFL first');
  assert.equal(Number(white.forty_cfr), 4.35);
  assert.equal(Number(white.forty_nfl), 4.36);
  assert.equal(white.sources, 'cfr,nfl,yahoo');
  const leinart = (await query(`SELECT * FROM prospect_core WHERE prospect_id = '${ids.get('cfr:LeinMa00')}'`))[0];
  assert.equal(Number(leinart.forty), 4.91, 'CFR has none: NFL\'s');
  assert.equal(leinart.forty_cfr, null);
  assert.equal(Number(leinart.draft_round), 1);
  assert.equal(Number((await query('SELECT count(*) AS n FROM prospect_core'))[0].n), 6);
  // Lineage: each golden value names the record it came from (and the run that extracted a CFR record).
  const traced = async (key: string, column: string) => (await query(`SELECT source, source_key, rule, extraction_id FROM data_lineage
    WHERE prospect_id = '${ids.get(key)}' AND "column" = '${column}'`));
  assert.deepEqual(await traced('cfr:WhitKe00', 'forty'), [{ source: 'nfl', source_key: 'Kevin White|2015|West Virginia', rule: 'priority: nfl, cfr', extraction_id: null }]);
  assert.deepEqual(await traced('cfr:WhitKe00', 'full_name'), [{ source: 'cfr', source_key: 'WhitKe00', rule: 'priority', extraction_id: summary.run_id }]);
  assert.deepEqual((await traced('cfr:LeinMa00', 'draft_round')).map((r) => r.rule), ['min']);
  assert.deepEqual(await traced('cfr:LeinMa00', 'sources'), [], 'only the columns chosen among records');
  const lineageRows = Number((await query('SELECT count(*) AS n FROM data_lineage'))[0].n);
  // Views over what loaded, published at the end of the run (materialized on PostgreSQL).
  assert.equal(Number((await query('SELECT players FROM player_counts'))[0].players), 6);
  assert.equal(Number((await query("SELECT n FROM by_school WHERE school = 'West Virginia'"))[0].n), 1);

  // A second run with a new record: every earlier record keeps its id, and the new one joins its player.
  writeFileSync(join(dir, 'nfl.csv'), NFL + 'Chris Jones,Mississippi State,DT,2016,5.04,310\n');
  const second = await sluice(['run', join(dir, 'pipeline.yaml'), '--json'], { home });
  assert.equal(second.code, 3, second.stderr);
  const after = await crosswalk();
  for (const [k, id] of ids) assert.equal(after.get(k), id, `${k} keeps ${id}`);
  assert.equal(after.size, ids.size, 'the NFL Chris Jones fits both and is held for review too');
  assert.equal(Number((await query('SELECT players FROM player_counts'))[0].players), 6, 'refreshed, still there');
  // Merged golden records replace their lineage rows, entity by entity: none doubled, each from this run's records.
  assert.equal(Number((await query('SELECT count(*) AS n FROM data_lineage'))[0].n), lineageRows);
  assert.deepEqual((await query("SELECT DISTINCT extraction_id FROM data_lineage WHERE source = 'cfr'")).map((r) => r.extraction_id), [JSON.parse(second.stdout).run_id]);
}

test('prospects from three files into the embedded DuckDB: crosswalk, golden records, review, stable ids', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const home = join(dir, '.sluice');
    await scenario('', (sql) => duckQuery(join(home, 'warehouse.duckdb'), sql), dir, home);
  } finally {
    cleanup();
  }
});

test('the same pipeline into PostgreSQL', async () => {
  const { dir, cleanup } = tempDir();
  const schema = `er_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  try {
    const home = join(dir, '.sluice');
    await scenario(`destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }\n`,
      (sql) => pgQuery(sql.replace(/FROM (\w+)/g, `FROM "${schema}".$1`)), dir, home);
    const kinds = await pgQuery(`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = '${schema}' AND c.relname IN ('player_counts', 'by_school') ORDER BY c.relname`);
    assert.deepEqual(kinds.map((k) => [k.relname, k.relkind]), [['by_school', 'v'], ['player_counts', 'm']]);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    cleanup();
  }
});

test('tables streams: a cycle is refused before any work, with the file and line; one whose upstream failed does not run', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const home = join(dir, '.sluice');
    writeFileSync(join(dir, 'cycle.yaml'), `pipeline: cycle
sources:
  - name: w
    type: tables
    streams:
      - { name: a, tables: [b] }
      - { name: b, tables: [a] }
`);
    const cycle = await sluice(['validate', join(dir, 'cycle.yaml')], { home });
    assert.equal(cycle.code, 2);
    assert.match(cycle.stderr, /cycle\.yaml:6:\d+ sources\[0\]\.streams\[0\]\.tables streams read each other's tables in a cycle: a → b → a/);

    writeFileSync(join(dir, 'blocked.yaml'), `pipeline: blocked
sources:
  - name: files
    type: csv
    streams:
      - { name: staged, path: missing-*.csv }
  - name: w
    type: tables
    streams:
      - { name: model, tables: [staged] }
`);
    const run = await sluice(['run', join(dir, 'blocked.yaml'), '--json'], { home });
    assert.equal(run.code, 1);
    const summary = JSON.parse(run.stdout);
    assert.match(summary.error, /model: not run: it reads what staged loads, which failed/);
  } finally {
    cleanup();
  }
});

test('tables from another destination: read whole, no waiting on this run; a typo in `from` or a missing table stops it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const home = join(dir, '.sluice');
    writeFileSync(join(dir, 'people.csv'), 'id,name\n1,Ada\n2,Grace\n3,Edsger\n');
    writeFileSync(join(dir, 'load.yaml'), `pipeline: load
sources:
  - { name: f, type: csv, streams: [{ name: people, path: people.csv, primary_key: [id], columns: { id: integer } }] }
destination: { type: duckdb, path: built.duckdb }
`);
    const publish = (from: string, table = 'people') => `pipeline: publish
sources:
  - name: w
    type: tables
    from: ${from}
    streams:
      - { name: people, tables: [${table}], source_column: null, primary_key: [id], write: replace }
destination: { type: sqlite, path: published.db }
`;
    writeFileSync(join(dir, 'typo.yaml'), publish('{ type: duckdb, paht: built.duckdb }'));
    const typo = await sluice(['validate', join(dir, 'typo.yaml')], { home });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /typo\.yaml:5:\d+ sources\[0\]\.from\.paht unknown key `paht` of a duckdb destination \(valid keys here: type, path, schema/);

    assert.equal((await sluice(['run', join(dir, 'load.yaml')], { home })).code, 0);
    writeFileSync(join(dir, 'publish.yaml'), publish('{ type: duckdb, path: built.duckdb }'));
    const run = await sluice(['run', join(dir, 'publish.yaml'), '--json'], { home });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).streams.people.loaded, 3);
    const db = openDatabase(join(dir, 'published.db'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT id, name FROM people ORDER BY id').all(), [{ id: 1, name: 'Ada' }, { id: 2, name: 'Grace' }, { id: 3, name: 'Edsger' }]);
    } finally {
      db.close();
    }

    // A table the other pipeline never loaded: the run fails naming it, and the published rows stay.
    writeFileSync(join(dir, 'missing.yaml'), publish('{ type: duckdb, path: built.duckdb }', 'persons'));
    const missing = await sluice(['run', join(dir, 'missing.yaml'), '--json'], { home });
    assert.equal(missing.code, 1);
    assert.match(JSON.parse(missing.stdout).error, /table persons of the `from` destination \(duckdb\) is missing or empty/);
    const again = openDatabase(join(dir, 'published.db'), { readonly: true });
    try {
      assert.equal((again.prepare('SELECT count(*) AS n FROM people').get() as { n: number }).n, 3);
    } finally {
      again.close();
    }
  } finally {
    cleanup();
  }
});
