// `npm run bench -- csv [rows] [repeat]`: a generated CSV (8 mixed columns, default 5M rows) into the embedded DuckDB
// warehouse by `sluice run` — with declared types, with inferred types, and on the engine's own path — beside DuckDB's
// own read_csv (the embedded warehouse's physical limit) and `psql \copy` into PostgreSQL. Prints rows/s, the ratio
// to the limit (fastest runs, and the median of paired ratios over `repeat` rounds, default 3) and peak RSS.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { measure, measureSluice, printTable, type Measurement } from './measure.js';
import { writeLines } from './write-lines.js';

const root = resolve(import.meta.dirname, '..', '..');

export async function generateCsv(file: string, rows: number): Promise<void> {
  const t0 = Date.UTC(2024, 0, 1);
  await writeLines(file, 'id,account,name,amount,created_at,active,attrs,note', rows, (i) => {
    const note = i % 3 === 0 ? '' : `"note ${i % 977}, with a comma"`;
    return `${i},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${(i % 100_000) / 100},${new Date(t0 + i * 1000).toISOString()},${i % 2 === 0},"{""k"":${i % 13}}",${note}`;
  });
}

/** The median of `xs` (the middle one, or the mean of the two middle ones). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function benchCsv(rows: number, repeat: number): Promise<void> {
  const dir = join(root, 'bench', '.data');
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, `mixed-${rows}.csv`);
  console.log(`generating ${rows.toLocaleString('en-US')} rows → ${csv}`);
  await generateCsv(csv, rows);

  const pipeline = (name: string, columns: string, keys = ''): string => {
    const file = join(dir, `bench-csv-${name}.yaml`);
    writeFileSync(file, `pipeline: bench-csv
sources:
  - name: files
    type: csv
    streams:
      - name: mixed
        path: ${csv}
${columns ? `        columns: ${columns}\n` : ''}${keys}`);
    return file;
  };
  const declared = pipeline('declared', '{ id: bigint, account: bigint, name: text, amount: decimal, created_at: timestamp, active: boolean, attrs: json, note: text }');
  const inferred = pipeline('inferred', '');
  const merged = pipeline('merge', '{ amount: decimal }', '        write: merge\n        primary_key: id\n        cursor: created_at\n');
  // Files go to DuckDB's own reader when nothing needs the engine (StreamLoad.ingest); SLUICE_HANDOFF=off measures
  // the engine's own path (parse, coerce, append chunks) on the same file.
  const variants: Variant[] = [
    { name: 'sluice run → DuckDB (declared types)', file: declared },
    { name: 'sluice run → DuckDB (inferred types)', file: inferred },
    { name: 'sluice run → DuckDB (merge, with a cursor)', file: merged },
    { name: 'sluice run → DuckDB, engine path', file: declared, env: { SLUICE_HANDOFF: 'off' } },
  ];

  const duckScript = join(dir, 'duck-read-csv.mjs');
  writeFileSync(duckScript, `import { DuckDBInstance } from '${join(root, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js')}';
const db = await DuckDBInstance.create('${join(dir, 'limit.duckdb')}');
const c = await db.connect();
await c.run("CREATE OR REPLACE TABLE mixed AS SELECT * FROM read_csv('${csv}', header = true)");
`);
  const { duck, runs } = await besideDuckDB(variants, duckScript, join(dir, 'limit.duckdb'), rows, repeat, 'mixed');
  const psqlSetup = 'DROP TABLE IF EXISTS bench_mixed; CREATE TABLE bench_mixed (id bigint primary key, account bigint, name text, amount numeric, created_at timestamptz, active boolean, attrs jsonb, note text);';
  const pg = ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-q'];
  await measure('psql', [...pg, '-c', psqlSetup]);
  const copy = await measure('psql', [...pg, '-c', `\\copy bench_mixed FROM '${csv}' WITH (FORMAT csv, HEADER true)`]);
  await measure('psql', [...pg, '-c', 'DROP TABLE IF EXISTS bench_mixed']);

  printBesideDuckDB('read_csv', rows, variants, duck, runs, [{ name: 'psql \\copy → PostgreSQL (with PK)', rows, m: copy }]);
}

export interface Variant {
  name: string;
  file: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Each variant `repeat` times, alternating, each run beside a DuckDB run of its own: the ratio of each pair moves less
 * with the machine's load than either time, and the median of the paired ratios is the figure printed.
 */
export async function besideDuckDB(variants: readonly Variant[], duckScript: string, duckFile: string, rows: number, repeat: number, stream: string):
  Promise<{ duck: Measurement[][]; runs: Measurement[][] }> {
  const duck = variants.map(() => [] as Measurement[]);
  const runs = variants.map(() => [] as Measurement[]);
  const home = join(dirname(duckFile), 'home-beside-duckdb');
  for (let r = 0; r < repeat; r++) {
    for (const [i, v] of variants.entries()) {
      rmSync(duckFile, { force: true });
      duck[i].push(await measure(process.execPath, [duckScript]));
      rmSync(home, { recursive: true, force: true });
      const m = await measureSluice(['run', v.file, '--json'], { SLUICE_HOME: home, ...v.env });
      if (m.code !== 0) throw new Error(`${v.name} failed: ${m.stdout}\n${m.stderr}`);
      const loaded = JSON.parse(m.stdout).streams[stream].loaded;
      if (loaded !== rows) throw new Error(`loaded ${loaded} of ${rows}`);
      runs[i].push(m);
    }
  }
  rmSync(duckFile, { force: true });
  rmSync(home, { recursive: true, force: true });
  return { duck, runs };
}

export const fastestOf = (ms: Measurement[]): Measurement => ms.reduce((a, b) => (b.seconds < a.seconds ? b : a));

export function printBesideDuckDB(reader: string, rows: number, variants: readonly Variant[], duck: Measurement[][], runs: Measurement[][],
  others: { name: string; rows: number; m: Measurement }[] = []): void {
  printTable([
    { name: `DuckDB ${reader} (embedded limit, native)`, rows, m: fastestOf(duck.flat()), limit: 1 },
    ...variants.map((v, i) => ({ name: v.name, rows, m: fastestOf(runs[i]) })),
    ...others,
  ]);
  console.log(`\nmedian of ${runs[0].length} paired ratios to DuckDB's ${reader} (goal ≥ 0.5):`);
  for (const [i, v] of variants.entries()) {
    const ratio = median(runs[i].map((m, k) => duck[i][k].seconds / m.seconds));
    const rss = Math.max(...runs[i].map((m) => m.peakRssMb ?? 0));
    console.log(`  ${v.name.padEnd(44)} ${ratio.toFixed(2)}×   peak RSS ${rss.toFixed(0)} MB`);
  }
}
