// `npm run bench -- <name> [args]`: benchmark scripts that run Sluice and its peers on the same data in one run.
import { benchApi } from './api.js';
import { benchCdc } from './cdc.js';
import { benchCsv } from './csv.js';
import { benchDiff } from './diff.js';
import { benchLake } from './lake.js';
import { benchParquet } from './parquet.js';
import { benchResolve } from './resolve.js';
import { benchServe } from './serve.js';
import { benchShapes } from './shapes.js';
import { benchSync } from './sync.js';
import { benchMysql, benchSql } from './sql.js';
import { benchTransform } from './transform.js';
import { benchWorkers } from './workers.js';

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  cdc: (args) => benchCdc(Number(args[0] ?? 15), Number(args[1] ?? 1_000_000)),
  csv: (args) => benchCsv(Number(args[0] ?? 5_000_000), Number(args[1] ?? 3)),
  diff: (args) => benchDiff(Number(args[0] ?? 1_000_000)),
  lake: (args) => benchLake(Number(args[0] ?? 5_000_000), Number(args[1] ?? 1)),
  parquet: (args) => benchParquet(Number(args[0] ?? 3_000_000), Number(args[1] ?? 3)),
  resolve: (args) => benchResolve(Number(args[0] ?? 1_000_000), Number(args[1] ?? 3), Number(args[2] ?? 5_000)),
  sql: (args) => benchSql(args),
  api: (args) => benchApi(args),
  mysql: (args) => benchMysql(Number(args[0] ?? 1_000_000)),
  serve: (args) => benchServe(args),
  shapes: (args) => benchShapes(args),
  sync: (args) => benchSync(Number(args[0] ?? 1_000_000)),
  transform: (args) => benchTransform(Number(args[0] ?? 1_000_000), Number(args[1] ?? 3)),
  workers: (args) => benchWorkers(args),
};

const [name = 'csv', ...args] = process.argv.slice(2);
const bench = BENCHES[name];
if (!bench) {
  console.error(`unknown benchmark "${name}"; available: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
await bench(args);
