// `npm run bench -- csv [rows]`: a generated CSV (8 mixed columns, default 5M rows) into the embedded DuckDB
// warehouse by `sluice run`, beside DuckDB's own read_csv (the embedded warehouse's physical limit) and
// `psql \copy` into PostgreSQL. Prints rows/s, the ratio to the limit and peak RSS.
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measure, measureSluice, printTable } from './measure.js';

const root = resolve(import.meta.dirname, '..', '..');

export async function generateCsv(file: string, rows: number): Promise<void> {
  if (existsSync(file)) return;
  const out = createWriteStream(file + '.tmp');
  out.write('id,account,name,amount,created_at,active,attrs,note\n');
  const t0 = Date.UTC(2024, 0, 1);
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    const note = i % 3 === 0 ? '' : `"note ${i % 977}, with a comma"`;
    chunk += `${i},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${(i % 100_000) / 100},${new Date(t0 + i * 1000).toISOString()},${i % 2 === 0},"{""k"":${i % 13}}",${note}\n`;
    if (i % 10_000 === 0) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r) => out.end(() => r()));
  const { renameSync } = await import('node:fs');
  renameSync(file + '.tmp', file);
}

export async function benchCsv(rows: number): Promise<void> {
  const dir = join(root, 'bench', '.data');
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, `mixed-${rows}.csv`);
  console.log(`generating ${rows.toLocaleString('en-US')} rows → ${csv}`);
  await generateCsv(csv, rows);

  const home = join(dir, 'home-csv');
  rmSync(home, { recursive: true, force: true });
  const pipeline = join(dir, 'bench-csv.yaml');
  writeFileSync(pipeline, `pipeline: bench-csv
sources:
  - name: files
    type: csv
    streams:
      - name: mixed
        path: ${csv}
        columns: { id: bigint, account: bigint, name: text, amount: decimal, created_at: timestamp, active: boolean, attrs: json, note: text }
`);
  const sluice = await measureSluice(['run', pipeline, '--json'], { SLUICE_HOME: home });
  if (sluice.code !== 0) throw new Error(`sluice failed: ${sluice.stderr}`);
  const summary = JSON.parse(sluice.stdout);
  if (summary.streams.mixed.loaded !== rows) throw new Error(`loaded ${summary.streams.mixed.loaded} of ${rows}`);

  const duckScript = join(dir, 'duck-read-csv.mjs');
  writeFileSync(duckScript, `import { DuckDBInstance } from '${join(root, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js')}';
const db = await DuckDBInstance.create('${join(dir, 'limit.duckdb')}');
const c = await db.connect();
await c.run("CREATE OR REPLACE TABLE mixed AS SELECT * FROM read_csv('${csv}', header = true)");
`);
  rmSync(join(dir, 'limit.duckdb'), { force: true });
  const duck = await measure(process.execPath, [duckScript]);

  const psqlSetup = 'DROP TABLE IF EXISTS bench_mixed; CREATE TABLE bench_mixed (id bigint primary key, account bigint, name text, amount numeric, created_at timestamptz, active boolean, attrs jsonb, note text);';
  const pg = ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-q'];
  await measure('psql', [...pg, '-c', psqlSetup]);
  const copy = await measure('psql', [...pg, '-c', `\\copy bench_mixed FROM '${csv}' WITH (FORMAT csv, HEADER true)`]);
  await measure('psql', [...pg, '-c', 'DROP TABLE IF EXISTS bench_mixed']);

  printTable([
    { name: 'DuckDB read_csv (embedded limit, native)', rows, m: duck, limit: 1 },
    { name: 'sluice run csv → embedded DuckDB', rows, m: sluice },
    { name: 'psql \\copy → PostgreSQL (with PK)', rows, m: copy },
  ]);
}
