// `npm run bench -- shapes [rows] [--repeat N] [--shape NAME…]`: each shape of bench/shapes-data.ts (default 1M rows)
// appended into PostgreSQL by `sluice run`, beside `psql \copy` of the same file into an identical table (the practical
// limit), and for the shapes marked so a merge of as many rows (10% changed, 5% new) into the loaded table. Both
// tables exist beforehand with the same columns and primary key: Sluice appends into a table it did not make, as a
// new user's would be. Every measured load starts after a CHECKPOINT; each shape runs `repeat` times (default 3) and
// the ratio printed is the median of each run's ratio to the \copy just before it (neighbours' load on a shared host
// drifts over minutes; a pair run back to back shares it). Sluice's CPU time (user + system, reported by the process
// at exit) is printed too: it moves less with the machine's load. Targets (issue 17): append ≥ 0.85×, merge ≥ 0.7×,
// peak RSS ≤ 200 MB. Each shape also loads into the embedded DuckDB warehouse beside DuckDB's own read_csv of the file
// (the `duckdb` rows; goal ≥ 0.5×, peak RSS ≤ 300 MB with DuckDB's buffers); `--no-duckdb` leaves them out.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measure, measureSluice, type Measurement } from './measure.js';
import { generateShape, SHAPES, type Shape } from './shapes-data.js';
import { CPU_REPORT, cpuSeconds } from './transform.js';
import { PG, postgresDestination, psql } from './postgres.js';
import { median } from './csv.js';

const root = resolve(import.meta.dirname, '..', '..');
// Its own schema: the sql bench (sluice_bench) may run beside it.
const SCHEMA = 'sluice_shapes';


const stream = (shape: Shape): string => `shape_${shape.name.replaceAll('-', '_')}`;

function pipelineYaml(shape: Shape, csv: string, write: 'append' | 'merge'): string {
  return `pipeline: bench-shape-${shape.name}
sources:
  - name: files
    type: csv
    streams:
      - name: ${stream(shape)}
        path: ${csv}
        primary_key: [id]
        write: ${write}
        columns: ${shape.columns}
${postgresDestination(SCHEMA)}`;
}

interface Result {
  shape: Shape;
  kind: 'append' | 'merge' | 'duckdb';
  sluice: Measurement[];
  /** The limit each Sluice run is paired with: \copy, or for `duckdb` DuckDB's own read_csv. */
  copy: Measurement[];
}

/** The shape into the embedded warehouse (no destination), with the same declared columns. */
function duckdbYaml(shape: Shape, csv: string): string {
  return pipelineYaml(shape, csv, 'append').replace(postgresDestination(SCHEMA), '');
}

const duckdbModule = join(root, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js');


export async function benchShapes(args: string[]): Promise<void> {
  const rows = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--repeat') ?? 1_000_000);
  const repeat = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 3;
  const only = args.flatMap((a, i) => (args[i - 1] === '--shape' ? [a] : []));
  // Into the embedded warehouse too, beside DuckDB's own read_csv of the same file (`--no-duckdb` skips it).
  const duckdb = !args.includes('--no-duckdb');
  const shapes = only.length ? SHAPES.filter((s) => only.includes(s.name)) : SHAPES;
  if (shapes.length === 0) throw new Error(`no shape named ${only.join(', ')}; shapes: ${SHAPES.map((s) => s.name).join(', ')}`);
  const dir = join(root, 'bench', '.data');
  mkdirSync(dir, { recursive: true });
  const home = join(dir, `home-shapes-${process.pid}`);
  const results: Result[] = [];
  for (const shape of shapes) {
    const csv = join(dir, `shape-${shape.name}-${rows}.csv`);
    const mergeCsv = join(dir, `shape-${shape.name}-merge-${rows}.csv`);
    await generateShape(shape, csv, rows);
    if (shape.merge) await generateShape(shape, mergeCsv, rows, true);
    const append: Result = { shape, kind: 'append', sluice: [], copy: [] };
    const merge: Result = { shape, kind: 'merge', sluice: [], copy: [] };
    const warehouse: Result = { shape, kind: 'duckdb', sluice: [], copy: [] };
    const duckScript = join(dir, `shapes-duck-${process.pid}.mjs`);
    const limitFile = join(dir, `shapes-limit-${process.pid}.duckdb`);
    writeFileSync(duckScript, `import { DuckDBInstance } from '${duckdbModule}';
const db = await DuckDBInstance.create('${limitFile}');
const c = await db.connect();
await c.run("CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('${csv}', header = true)");
`);
    const run = async (file: string, write: 'append' | 'merge'): Promise<Measurement> => {
      const yaml = join(dir, `shapes-${process.pid}.yaml`);
      writeFileSync(yaml, pipelineYaml(shape, file, write));
      await psql('CHECKPOINT');
      const m = await measureSluice(['run', yaml, '--json'], { SLUICE_HOME: home, NODE_OPTIONS: CPU_REPORT });
      if (m.code !== 0) throw new Error(`${shape.name} ${write} failed (exit ${m.code}): ${m.stdout}\n${m.stderr.slice(-2000)}`);
      const counts = JSON.parse(m.stdout).streams[stream(shape)];
      const expected = write === 'append' ? { loaded: rows } : { inserted: rows - Math.round(rows * 0.95) };
      for (const [k, v] of Object.entries(expected)) {
        if (counts[k] !== v) throw new Error(`${shape.name} ${write}: ${k} ${counts[k]}, expected ${v}`);
      }
      return m;
    };
    for (let i = 0; i < repeat; i++) {
      // A fresh schema each time: the state Sluice commits with the rows lives there too.
      rmSync(home, { recursive: true, force: true });
      await psql(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA};
        CREATE TABLE ${SCHEMA}.copy_limit (id bigint PRIMARY KEY, ${shape.ddl});
        CREATE TABLE ${SCHEMA}.${stream(shape)} (LIKE ${SCHEMA}.copy_limit INCLUDING ALL); CHECKPOINT`);
      const c = await measure('psql', [...PG, '-c', `\\copy ${SCHEMA}.copy_limit FROM '${csv}' WITH (FORMAT csv, HEADER true)`]);
      if (c.code !== 0) throw new Error(`psql \\copy failed: ${c.stderr}`);
      const a = await run(csv, 'append');
      append.copy.push(c);
      append.sluice.push(a);
      let line = `${shape.name} ${i + 1}/${repeat}: \\copy ${c.seconds.toFixed(2)}s, append ${a.seconds.toFixed(2)}s (cpu ${cpuSeconds(a).toFixed(2)}s)`;
      if (shape.merge) {
        const m = await run(mergeCsv, 'merge');
        merge.copy.push(c);
        merge.sluice.push(m);
        line += `, merge ${m.seconds.toFixed(2)}s (cpu ${cpuSeconds(m).toFixed(2)}s)`;
      }
      if (duckdb) {
        rmSync(limitFile, { force: true });
        const limit = await measure(process.execPath, [duckScript]);
        if (limit.code !== 0) throw new Error(`DuckDB read_csv failed: ${limit.stderr}`);
        const yaml = join(dir, `shapes-${process.pid}.yaml`);
        writeFileSync(yaml, duckdbYaml(shape, csv));
        rmSync(home, { recursive: true, force: true });
        const d = await measureSluice(['run', yaml, '--json'], { SLUICE_HOME: home, NODE_OPTIONS: CPU_REPORT });
        if (d.code !== 0 || JSON.parse(d.stdout).streams[stream(shape)].loaded !== rows) throw new Error(`${shape.name} into DuckDB failed: ${d.stdout}\n${d.stderr.slice(-2000)}`);
        warehouse.copy.push(limit);
        warehouse.sluice.push(d);
        line += `, DuckDB read_csv ${limit.seconds.toFixed(2)}s, into DuckDB ${d.seconds.toFixed(2)}s`;
      }
      console.log(line);
    }
    rmSync(limitFile, { force: true });
    rmSync(duckScript, { force: true });
    results.push(append);
    if (shape.merge) results.push(merge);
    if (duckdb) results.push(warehouse);
  }
  await psql(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  rmSync(home, { recursive: true, force: true });
  rmSync(join(dir, `shapes-${process.pid}.yaml`), { force: true });
  printShapes(results, rows);
}

function printShapes(results: Result[], rows: number): void {
  const rate = (ms: Measurement[]) => Math.round(rows / median(ms.map((m) => m.seconds))).toLocaleString('en-US');
  console.log(`\n${'shape'.padEnd(20)} ${'sluice rows/s'.padStart(13)} ${'limit rows/s'.padStart(13)} ${'ratio (range)'.padStart(19)} ${'bar'.padStart(5)} ${'peak RSS'.padStart(9)} ${'sluice cpu'.padStart(10)}`);
  for (const r of results) {
    const ratios = r.sluice.map((m, i) => r.copy[i].seconds / m.seconds);
    const bar = r.kind === 'append' ? 0.85 : r.kind === 'merge' ? 0.7 : 0.5;
    const rss = Math.max(...r.sluice.map((m) => m.peakRssMb ?? 0));
    const rssBar = r.kind === 'duckdb' ? 300 : 200;
    const ratio = `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    console.log(`${`${r.shape.name} ${r.kind}`.padEnd(20)} ${rate(r.sluice).padStart(13)} ${rate(r.copy).padStart(13)} ${ratio.padStart(19)} `
      + `${(median(ratios) >= bar && rss <= rssBar ? 'ok' : 'below').padStart(5)} ${`${rss.toFixed(0)} MB`.padStart(9)} ${`${median(r.sluice.map(cpuSeconds)).toFixed(2)}s`.padStart(10)}`);
  }
}
