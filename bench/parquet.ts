// `npm run bench -- parquet [rows] [repeat]`: a Parquet file (the csv bench's 8 mixed columns, default 3M rows) into
// the embedded DuckDB warehouse by `sluice run` — read by DuckDB itself, and on the engine's own path — beside
// DuckDB's own `CREATE TABLE … AS SELECT * FROM read_parquet(…)`. Prints rows/s, the ratio to it (fastest runs, and the
// median of paired ratios) and peak RSS.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { besideDuckDB, generateCsv, printBesideDuckDB, type Variant } from './csv.js';

const root = resolve(import.meta.dirname, '..', '..');
const duckdbModule = join(root, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js');

export async function benchParquet(rows: number, repeat: number): Promise<void> {
  const dir = join(root, 'bench', '.data');
  mkdirSync(dir, { recursive: true });
  const parquet = join(dir, `mixed-${rows}.parquet`);
  if (!existsSync(parquet)) {
    const csv = join(dir, `mixed-${rows}.csv`);
    await generateCsv(csv, rows);
    console.log(`writing ${parquet}`);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT id, account, name, amount::DECIMAL(12,2) AS amount, created_at, active, attrs::VARCHAR AS attrs, note
      FROM read_csv('${csv}', header = true)) TO '${parquet}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
  }
  const pipeline = join(dir, 'bench-parquet.yaml');
  writeFileSync(pipeline, `pipeline: bench-parquet
sources:
  - name: files
    type: parquet
    streams:
      - name: mixed
        path: ${parquet}
`);
  const variants: Variant[] = [
    { name: 'sluice run parquet → DuckDB', file: pipeline },
    { name: 'sluice run parquet → DuckDB, engine path', file: pipeline, env: { SLUICE_HANDOFF: 'off' } },
  ];
  const duckScript = join(dir, 'duck-read-parquet.mjs');
  const limit = join(dir, 'limit-parquet.duckdb');
  writeFileSync(duckScript, `import { DuckDBInstance } from '${duckdbModule}';
const db = await DuckDBInstance.create('${limit}');
const c = await db.connect();
await c.run("CREATE OR REPLACE TABLE mixed AS SELECT * FROM read_parquet('${parquet}')");
`);
  const { duck, runs } = await besideDuckDB(variants, duckScript, limit, rows, repeat, 'mixed');
  printBesideDuckDB('read_parquet', rows, variants, duck, runs);
}
