// `npm run bench -- lake [rows] [repeat]`: a CSV (default 5M rows: the csv bench's mixed columns plus an event_date
// over 58 days, NULL-heavy text, offsets in timestamps) into a partitioned Parquet lake — by `sluice run` onto a local
// S3-compatible server (s3rver, in this process) and onto local disk — beside DuckDB's own
// `COPY (SELECT * FROM read_csv(…)) TO … (PARTITION_BY (event_date))` on local disk, the limit for the encoding.
// Prints rows/s, the ratio to DuckDB and peak RSS; every run's lake is read back and counted.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fastestOf, median } from './csv.js';
import { measure, measureSluice, printTable, type Measurement } from './measure.js';
import { writeLines } from './write-lines.js';
import { startS3Server } from '../test/support/s3-server.js';
import { LakeReader } from '../src/connectors/files/lake-reader.js';

const root = resolve(import.meta.dirname, '..', '..');
const duckdbModule = join(root, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js');

export async function benchLake(rows: number, repeat: number): Promise<void> {
  const dir = join(root, 'bench', '.data');
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, `lake-${rows}.csv`);
  console.log(`generating ${rows.toLocaleString('en-US')} rows → ${csv}`);
  const t0 = Date.UTC(2026, 9, 1);
  await writeLines(csv, 'id,event_date,account,name,amount,created_at,active,attrs,note', rows, (i) => {
    const at = t0 + i * 1000;
    const offset = ['+00:00', '-05:00', '+05:30'][i % 3];
    const note = i % 3 === 0 ? '' : `"note ${i % 977}, with a comma"`;
    return `${i},${new Date(at).toISOString().slice(0, 10)},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${(i % 100_000) / 100},`
      + `${new Date(at).toISOString().slice(0, 19)}${offset},${i % 2 === 0},"{""k"":${i % 13},""tags"":[""a"",""b""]}",${note}`;
  });

  const server = await startS3Server({ buckets: ['lake'] });
  // The read-back in this process signs its requests like the runs do.
  Object.assign(process.env, server.env);
  const pipeline = (name: string, destination: string): string => {
    const file = join(dir, `bench-lake-${name}.yaml`);
    writeFileSync(file, `pipeline: bench-lake
checkpoint_rows: 500000
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: ${csv}
        columns: { event_date: date }
        partition_by: [event_date]
destination:
${destination}
`);
    return file;
  };
  const local = join(dir, 'lake-local');
  const onS3 = pipeline('s3', `  type: files\n  path: s3://lake/bench\n  ${server.yaml}`);
  const variants: { name: string; file: string; path: string; env?: Record<string, string> }[] = [
    { name: 'sluice run → partitioned Parquet on S3', file: onS3, path: 's3://lake/bench' },
    { name: 'sluice run → partitioned Parquet on disk', file: pipeline('local', `  type: files\n  path: ${local}`), path: local },
    // Rows through the engine (what a transform, a check or a non-file source takes), not DuckDB's own reader.
    { name: 'sluice run → on S3, engine path', file: onS3, path: 's3://lake/bench', env: { SLUICE_HANDOFF: 'off' } },
  ];
  const duckOut = join(dir, 'lake-duckdb');
  const duckScript = join(dir, 'duck-lake.mjs');
  writeFileSync(duckScript, `import { DuckDBInstance } from '${duckdbModule}';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run("COPY (SELECT * FROM read_csv('${csv}', header = true)) TO '${duckOut}' (FORMAT parquet, PARTITION_BY (event_date), COMPRESSION zstd)");
`);
  const duck: Measurement[] = [];
  const runs = variants.map(() => [] as Measurement[]);
  const home = join(dir, 'home-lake');
  try {
    for (let r = 0; r < repeat; r++) {
      rmSync(duckOut, { recursive: true, force: true });
      duck.push(await measure(process.execPath, [duckScript]));
      for (const [i, v] of variants.entries()) {
        rmSync(home, { recursive: true, force: true });
        rmSync(local, { recursive: true, force: true });
        await emptyBucket(server.dir);
        const m = await measureSluice(['run', v.file, '--json', '--full-refresh'], { SLUICE_HOME: home, ...server.env, ...v.env });
        if (m.code !== 0) throw new Error(`${v.name} failed: ${m.stdout}\n${m.stderr}`);
        const counted = await countLake(v.path, server, home);
        if (counted !== rows) throw new Error(`${v.name}: the lake holds ${counted} rows of ${rows}`);
        runs[i].push(m);
      }
    }
  } finally {
    await server.close();
    rmSync(duckOut, { recursive: true, force: true });
    rmSync(local, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
  console.log(`\n${rows.toLocaleString('en-US')} rows, ${repeat} run(s) each; the fastest run of each, and the median of paired ratios:`);
  printTable([
    { name: 'DuckDB COPY … PARTITION_BY (limit, local disk)', rows, m: fastestOf(duck), limit: 1 },
    ...variants.map((v, i) => ({ name: v.name, rows, m: fastestOf(runs[i]) })),
  ]);
  for (const [i, v] of variants.entries()) {
    console.log(`${v.name}: median paired ratio ${median(runs[i].map((m, r) => duck[r].seconds / m.seconds)).toFixed(2)}× DuckDB`);
  }
}

/** s3rver keeps objects as files under its directory: emptying the bucket's folder empties the bucket. */
async function emptyBucket(serverDir: string): Promise<void> {
  rmSync(join(serverDir, 'lake', 'bench'), { recursive: true, force: true });
}

async function countLake(path: string, server: { endpoint: string }, home: string): Promise<number> {
  const reader = await LakeReader.open({ path, s3: { endpoint: server.endpoint, path_style: true } }, root, home);
  try {
    const [table] = await reader.manifests();
    return table.manifest.files.reduce((n, f) => n + f.rows, 0);
  } finally {
    reader.close();
  }
}
