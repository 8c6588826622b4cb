// `npm run bench -- resolve [records] [repeat] [sample]`: entity resolution at scale. Synthetic players (default 1M
// records from 4 sources, ./resolve-data.ts) go through the engine as a user's pipeline would take them — CSV files →
// staging tables → a `tables` stream → `resolve` → the crosswalk in the embedded DuckDB — by `sluice run`, `repeat`
// times (default 3, medians). Beside it, the matcher alone (`matchEntities` on the same records, prepared as `resolve`
// prepares them) separates matching cost from the engine's; and a naive all-pairs comparison of a `sample` of records
// (default 5k) shows what blocking saves. Quality against the truth: pairwise precision and recall, ambiguous records,
// and false merges of namesakes (two entities of one name and block made one). The goal (issue): ≥ 50k records/s and
// ≤ 500 MB peak RSS for 1M records.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { aliasTable, comparable, comparableOf, normalizeName } from '../src/transforms/entity/normalize.js';
import { matchEntities, type MatchRecord } from '../src/transforms/entity/matcher.js';
import { jaroWinkler } from '../src/transforms/entity/similarity.js';
import { measureSluice, printTable, type Measurement } from './measure.js';
import { POSITION_ALIASES, SCHOOL_ALIASES, SOURCES, generate, type BenchRecord, type Generated } from './resolve-data.js';

const root = resolve(import.meta.dirname, '..', '..');
const OPTIONS = { threshold: 0.92, margin: 0.02, onePerSource: true, prefix: 'P' };

const yaml = (files: Record<string, string>) => `pipeline: bench-resolve
sources:
  - name: providers
    type: csv
    streams:
      - { name: combine_staging, path: ${files.combine}, write: replace, columns: { draft_year: integer } }
      - { name: nfl_staging, path: ${files.nfl}, write: replace, columns: { season: integer } }
      - { name: scouts_staging, path: ${files.scouts}, write: replace, columns: { year: integer } }
      - { name: draft_staging, path: ${files.draft}, write: replace, columns: { year: integer, round: integer, pick: integer } }
  - name: warehouse
    type: tables
    streams:
      - name: player_sources
        tables: { combine: combine_staging, nfl: nfl_staging, scouts: scouts_staging, draft: draft_staging }
        source_column: source
        primary_key: [source, source_key]
        write: replace
transforms:
  combine_staging:
    - derive: { source_key: pfr_id }
    - rename: { player_name: full_name, pos: position }
  nfl_staging:
    - derive: { source_key: nfl_id, full_name: "concat(first_name, ' ', last_name)", school: college, draft_year: season }
    - drop: [nfl_id, first_name, last_name, college, season]
  scouts_staging:
    - rename: { scout_id: source_key, pfr_ref: pfr_id, name: full_name, year: draft_year }
  draft_staging:
    - dedupe: { key: [year, pick] }
    - derive: { source_key: "concat(year, '-', pick)", full_name: name, position: pos, school: college, draft_year: year }
    - drop: [name, pos, college, year, column_1]
  player_sources:
    - resolve:
        id: player_id
        source: source
        key: [source_key]
        name: full_name
        block: [draft_year, position]
        ids: [pfr_id]
        agree: [school]
        aliases: { school: ${JSON.stringify(SCHOOL_ALIASES)}, position: ${JSON.stringify(POSITION_ALIASES)} }
        priority: [${SOURCES.join(', ')}]
        prefix: P
`;

/** The records as `resolve` hands them to the matcher: normalized, in priority order then by key. */
function prepare(records: readonly BenchRecord[]): { prepared: MatchRecord[]; truth: BenchRecord[] } {
  const school = comparableOf(aliasTable(SCHOOL_ALIASES));
  const position = comparableOf(aliasTable(POSITION_ALIASES));
  const year = comparableOf();
  const rank = (s: string) => SOURCES.indexOf(s as BenchRecord['source']);
  const truth = [...records].sort((a, b) => rank(a.source) - rank(b.source) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const prepared = truth.map((r): MatchRecord => ({
    source: r.source, key: r.key, name: normalizeName(r.fullName) || null,
    block: `${year(r.year)}\u0001${position(r.position)}`,
    ids: [comparable(r.pfrId)],
    agree: [school(r.school)],
  }));
  return { prepared, truth };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pairs = (n: number): number => (n * (n - 1)) / 2;

interface Quality { precision: number; recall: number; assigned: number; falseMerges: number; namesakeMerges: number }

/**
 * Pairwise quality of an assignment (record → entity id, or none for the ambiguous): of the pairs of records put in
 * one entity, how many are truly one (precision); of the pairs truly one, how many were put in one (recall). Wrong
 * pairs whose two true entities share a name are the namesakes' false merges.
 */
function quality(truth: readonly BenchRecord[], assigned: (string | undefined)[], names: readonly string[]): Quality {
  const clusters = new Map<string, number[]>();
  assigned.forEach((id, i) => {
    if (id === undefined) return;
    const c = clusters.get(id);
    if (c) c.push(i);
    else clusters.set(id, [i]);
  });
  let predicted = 0;
  let right = 0;
  let namesakeMerges = 0;
  for (const members of clusters.values()) {
    predicted += pairs(members.length);
    const byEntity = new Map<number, number>();
    for (const i of members) byEntity.set(truth[i].entity, (byEntity.get(truth[i].entity) ?? 0) + 1);
    for (const n of byEntity.values()) right += pairs(n);
    const entities = [...byEntity.keys()];
    for (let a = 0; a < entities.length; a++) {
      for (let b = a + 1; b < entities.length; b++) {
        if (names[entities[a]] === names[entities[b]]) namesakeMerges += byEntity.get(entities[a])! * byEntity.get(entities[b])!;
      }
    }
  }
  const sizes = new Map<number, number>();
  for (const r of truth) sizes.set(r.entity, (sizes.get(r.entity) ?? 0) + 1);
  const actual = [...sizes.values()].reduce((s, n) => s + pairs(n), 0);
  return {
    precision: predicted ? right / predicted : 1, recall: actual ? right / actual : 1,
    assigned: assigned.filter((a) => a !== undefined).length, falseMerges: predicted - right, namesakeMerges,
  };
}

/** The crosswalk the pipeline wrote: source and key → entity id. */
async function crosswalk(file: string): Promise<Map<string, string>> {
  const db = await DuckDBInstance.create(file);
  const conn = await db.connect();
  try {
    const rows = (await conn.runAndReadAll('SELECT source, source_key, player_id FROM player_sources')).getRowObjectsJS();
    return new Map(rows.map((r) => [`${r.source}\u0001${r.source_key}`, String(r.player_id)]));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Every pair of the sample scored (the naive way), against the matcher's blocked comparisons on the same sample. */
function allPairs(prepared: readonly MatchRecord[], size: number): { size: number; pairs: number; seconds: number; blocked: number; blockedSeconds: number } {
  // Every k-th record: a sample spread over sources, years and positions as the whole is.
  const step = Math.max(1, Math.floor(prepared.length / size));
  const sample = prepared.filter((_, i) => i % step === 0).slice(0, size);
  const names = sample.map((r) => r.name ?? '');
  let t0 = performance.now();
  let over = 0;
  for (let a = 0; a < names.length; a++) {
    for (let b = a + 1; b < names.length; b++) if (jaroWinkler(names[a], names[b]) >= OPTIONS.threshold) over++;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (over < 0) console.log(over); // keeps the loop from being optimized away
  t0 = performance.now();
  const { comparisons } = matchEntities(sample, OPTIONS);
  return { size: sample.length, pairs: pairs(sample.length), seconds, blocked: comparisons, blockedSeconds: (performance.now() - t0) / 1000 };
}

export async function benchResolve(records: number, repeat = 3, sampleSize = 5_000): Promise<void> {
  const dir = join(root, 'bench', '.data');
  mkdirSync(dir, { recursive: true });
  let t0 = performance.now();
  const files: Record<string, string> = {};
  const data: Generated = generate(records, (s, csv) => writeFileSync(files[s] = join(dir, `resolve-${records}-${s}.csv`), csv));
  // The truth, beside the files (the pipeline never reads it): each record's entity.
  writeFileSync(join(dir, `resolve-${records}-truth.csv`), `source,key,entity\n${data.records.map((r) => `${r.source},${r.key},${r.entity}`).join('\n')}\n`);
  const n = data.records.length;
  console.log(`generated ${n.toLocaleString('en-US')} records of ${data.entities.toLocaleString('en-US')} entities in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${dir}`);

  // The matcher alone, on records prepared once (preparation timed apart: it is the step's per-row work).
  t0 = performance.now();
  const { prepared, truth } = prepare(data.records);
  const prepSeconds = (performance.now() - t0) / 1000;
  const matchSeconds: number[] = [];
  let matched: ReturnType<typeof matchEntities> | undefined;
  for (let i = 0; i < repeat; i++) {
    t0 = performance.now();
    matched = matchEntities(prepared, OPTIONS);
    matchSeconds.push((performance.now() - t0) / 1000);
  }
  const { outcomes, ids, comparisons } = matched!;
  const direct = quality(truth, outcomes.map((o) => ('entity' in o ? ids[o.entity] : undefined)), data.names);
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  console.log(`matcher alone: ${matchSeconds.map((s) => s.toFixed(2)).join(', ')}s; preparation ${prepSeconds.toFixed(2)}s; ${comparisons.toLocaleString('en-US')} name comparisons; heap after ${heapMb.toFixed(0)} MB`);

  // The whole pipeline, `repeat` times; the last run's warehouse is kept for the quality of what it wrote.
  const file = join(dir, `resolve-${process.pid}.yaml`);
  writeFileSync(file, yaml(files));
  const runs: Measurement[] = [];
  const resolveMs: number[] = [];
  const home = join(dir, `resolve-${process.pid}`);
  let summary: {
    streams: Record<string, { loaded: number; dead_lettered: number }>;
    transformers: Record<string, { duration_ms: number }[]>;
    phases: { phase: string; duration_ms: number }[];
  } | undefined;
  for (let i = 0; i < repeat; i++) {
    rmSync(home, { recursive: true, force: true });
    const m = await measureSluice(['run', file, '--json'], { SLUICE_HOME: home });
    if (m.code !== 0 && m.code !== 3) throw new Error(`sluice run failed (exit ${m.code}): ${m.stdout}\n${m.stderr.slice(-2000)}`);
    summary = JSON.parse(m.stdout);
    runs.push(m);
    resolveMs.push(summary!.transformers.player_sources[0].duration_ms);
    // Phases are summed over the five streams (four staging loads and the resolved one): where the rest of the time goes.
    const phases = summary!.phases.map((p) => `${p.phase} ${(p.duration_ms / 1000).toFixed(1)}s`).join(', ');
    console.log(`pipeline run ${i + 1}/${repeat}: ${m.seconds.toFixed(2)}s, resolve step ${(resolveMs[i] / 1000).toFixed(2)}s, `
      + `peak RSS ${m.peakRssMb?.toFixed(0)} MB; phases: ${phases}`);
  }
  const walk = await crosswalk(join(home, 'warehouse.duckdb'));
  rmSync(home, { recursive: true, force: true });
  rmSync(file, { force: true });
  const engine = quality(truth, truth.map((r) => walk.get(`${r.source}\u0001${r.key}`)), data.names);
  const mid = runs.slice().sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
  const rss = median(runs.map((r) => r.peakRssMb ?? 0));
  const matchMedian = median(matchSeconds);
  const stepMedian = median(resolveMs) / 1000;

  const pairsRun = allPairs(prepared, sampleSize);
  const perPair = pairsRun.seconds / pairsRun.pairs;

  printTable([
    { name: 'sluice run: 4 CSVs → staging → resolve (DuckDB)', rows: n, m: { ...mid, peakRssMb: rss } },
    { name: 'resolve step in that run (summary)', rows: n, m: { ...mid, seconds: stepMedian, peakRssMb: null } },
    { name: 'matchEntities alone (in process)', rows: n, m: { ...mid, seconds: matchMedian, peakRssMb: null } },
    { name: `all pairs, Jaro–Winkler (${pairsRun.size.toLocaleString('en-US')} sample)`, rows: pairsRun.size, m: { ...mid, seconds: pairsRun.seconds, peakRssMb: null } },
  ]);
  console.log('(medians of the runs; peak RSS is the pipeline process\'s; goal: ≥ 50,000 records/s and ≤ 500 MB at 1M records)');
  console.log(`\ncomparisons on the ${pairsRun.size.toLocaleString('en-US')}-record sample: blocked ${pairsRun.blocked.toLocaleString('en-US')} `
    + `(${pairsRun.blockedSeconds.toFixed(3)}s) vs all pairs ${pairsRun.pairs.toLocaleString('en-US')} (${pairsRun.seconds.toFixed(2)}s, ${(perPair * 1e9).toFixed(0)} ns a pair)`);
  console.log(`at ${n.toLocaleString('en-US')} records: blocked ${comparisons.toLocaleString('en-US')} comparisons (${matchMedian.toFixed(2)}s) vs all pairs `
    + `${pairs(n).toExponential(2)} — about ${(pairs(n) * perPair / 3600).toFixed(1)} hours at the sample's rate`);

  const dlq = summary!.streams.player_sources.dead_lettered;
  console.log(`\n${'quality vs truth'.padEnd(44)} ${'precision'.padStart(10)} ${'recall'.padStart(8)} ${'assigned'.padStart(10)} ${'ambiguous'.padStart(10)} ${'false pairs'.padStart(12)} ${'namesakes'.padStart(10)}`);
  const line = (name: string, q: Quality, ambiguous: number) => console.log(`${name.padEnd(44)} ${q.precision.toFixed(4).padStart(10)} ${q.recall.toFixed(4).padStart(8)} `
    + `${q.assigned.toLocaleString('en-US').padStart(10)} ${ambiguous.toLocaleString('en-US').padStart(10)} ${q.falseMerges.toLocaleString('en-US').padStart(12)} ${q.namesakeMerges.toLocaleString('en-US').padStart(10)}`);
  line('pipeline crosswalk', engine, dlq);
  line('matchEntities alone', direct, outcomes.filter((o) => 'ambiguous' in o).length);
  console.log('(pairs of records in one entity vs pairs truly one; false pairs: wrongly together, namesakes: of those, two entities of one name)');
}
