// MariaDB → PostgreSQL: the same 1M-row table copied by Sluice (mysql source → postgres destination, write: replace,
// the key built after the load) and by pgloader's default `LOAD DATABASE` (drops and rebuilds indexes, 4 COPY
// threads). Target (issue 3): Sluice ≥ 1.5× pgloader's rows/s at a quarter of its peak memory. Sluice runs as it
// ships, through bin/sluice.js and so with the heap it chooses for a database copy (src/cli/heap.ts). Each loader runs
// `repeat` times, alternating, and its fastest run counts.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure, measureSluice, type Measurement } from './measure.js';
import { PG } from './postgres.js';

const MARIA = ['-h', '127.0.0.1', '-u', 'root'];
const SOURCE_DB = 'sluice_bench_src';
const SLUICE_SCHEMA = 'sluice_bench_maria';

/** pgloader from Debian, installed on first use (the bench needs root, as CI has). */
function ensurePgloader(): void {
  try {
    execFileSync('pgloader', ['--version'], { stdio: 'ignore' });
  } catch {
    console.log('installing pgloader (apt-get)…');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgloader'], { stdio: 'inherit' });
  }
}

async function sql(cmd: string, args: string[], what: string): Promise<void> {
  const m = await measure(cmd, args);
  if (m.code !== 0) throw new Error(`${what} failed: ${m.stderr}`);
}

/** The source table, 8 mixed columns like the CSV bench, filled server-side from MariaDB's sequence engine. */
async function prepareSource(rows: number): Promise<void> {
  await sql('mariadb', [...MARIA, '-e', `DROP DATABASE IF EXISTS ${SOURCE_DB}; CREATE DATABASE ${SOURCE_DB};
    CREATE TABLE ${SOURCE_DB}.mixed (id BIGINT PRIMARY KEY, account BIGINT NOT NULL, name VARCHAR(64) NOT NULL,
      amount DECIMAL(12,2) NOT NULL, created_at DATETIME(6) NOT NULL, active BOOLEAN NOT NULL, attrs JSON, note TEXT) ENGINE=InnoDB;
    USE ${SOURCE_DB};
    INSERT INTO ${SOURCE_DB}.mixed SELECT seq, 1000000000000 + seq % 50000, CONCAT('name ', seq % 10007), (seq % 100000) / 100,
      TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, seq % 2 = 0, JSON_OBJECT('k', seq % 13),
      IF(seq % 3 = 0, NULL, CONCAT('note ', seq % 977, ', with a comma')) FROM seq_1_to_${rows};`], 'filling the MariaDB source');
}

function pipelineYaml(): string {
  return `pipeline: bench-maria-to-pg
sources:
  - name: maria
    type: mysql
    host: 127.0.0.1
    user: root
    database: ${SOURCE_DB}
    streams:
      - name: mixed
        table: mixed
        primary_key: [id]
        write: replace
destination:
  type: postgres
  host: 127.0.0.1
  user: postgres
  database: test
  schema: ${SLUICE_SCHEMA}
`;
}

export interface MysqlPgResult {
  sluice: Measurement;
  pgloader: Measurement;
}

const best = (a: Measurement | undefined, b: Measurement): Measurement => (a && a.seconds <= b.seconds ? a : b);

export async function benchMysqlToPostgres(rows: number, dir: string, home: string, repeat = 2): Promise<MysqlPgResult> {
  ensurePgloader();
  console.log(`filling MariaDB ${SOURCE_DB}.mixed with ${rows.toLocaleString('en-US')} rows`);
  await prepareSource(rows);
  await sql('psql', [...PG, '-c', `DROP SCHEMA IF EXISTS ${SLUICE_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${SOURCE_DB} CASCADE`], 'cleaning PostgreSQL');

  const yaml = join(dir, 'bench-maria-to-pg.yaml');
  writeFileSync(yaml, pipelineYaml());
  const runSluice = async (): Promise<Measurement> => {
    const m = await measureSluice(['run', yaml, '--json'], { SLUICE_HOME: home });
    if (m.code !== 0) throw new Error(`sluice mariadb → postgres failed: ${m.stderr}`);
    const summary = JSON.parse(m.stdout);
    if (summary.status !== 'success' || summary.streams.mixed.loaded !== rows) {
      throw new Error(`sluice mariadb → postgres: ${summary.error ?? `loaded ${summary.streams.mixed.loaded} of ${rows}`}`);
    }
    return m;
  };
  // pgloader's default: schema named after the source database, indexes dropped and rebuilt, 4 COPY workers.
  const runPgloader = async (): Promise<Measurement> => {
    const m = await measure('pgloader', ['--no-ssl-cert-verification', `mysql://root@127.0.0.1/${SOURCE_DB}`, 'pgsql://postgres@127.0.0.1/test']);
    if (m.code !== 0) throw new Error(`pgloader failed: ${m.stderr.slice(-2000)}`);
    return m;
  };
  let sluice: Measurement | undefined;
  let pgloader: Measurement | undefined;
  for (let i = 0; i < repeat; i++) {
    sluice = best(sluice, await runSluice());
    pgloader = best(pgloader, await runPgloader());
    console.log(`run ${i + 1}/${repeat}: sluice ${sluice.seconds.toFixed(2)}s, pgloader ${pgloader.seconds.toFixed(2)}s (best so far)`);
  }
  const check = execFileSync('psql', [...PG, '-At', '-c', `SELECT (SELECT count(*) FROM ${SOURCE_DB}.mixed) || ' ' || (SELECT count(*) FROM ${SLUICE_SCHEMA}.mixed)`]).toString().trim();
  console.log(`rows in PostgreSQL (pgloader, sluice): ${check}`);

  await sql('psql', [...PG, '-c', `DROP SCHEMA IF EXISTS ${SLUICE_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${SOURCE_DB} CASCADE`], 'cleaning PostgreSQL');
  await sql('mariadb', [...MARIA, '-e', `DROP DATABASE IF EXISTS ${SOURCE_DB}`], 'cleaning MariaDB');
  return { sluice: sluice!, pgloader: pgloader! };
}
