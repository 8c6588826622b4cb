// `npm run bench -- sync [rows]`: `sluice sync --once` (two way, source-wins) on the diff bench's tables (default 1M
// rows, 1% differing), PostgreSQL ↔ PostgreSQL and PostgreSQL ↔ MariaDB:
//   first   no base yet: each differing key is a conflict settled by source-wins (1% of the rows written into b)
//   steady  1% then changed on each side, other keys: 2% written, each row to the side that did not change it
//   idle    nothing changed: reading both sides and the base, writing nothing
// beside psql reading both PostgreSQL tables in key order, the floor of any sync that reads every row. rows/s counts
// the rows of both sides.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { benchSyncFile, buildDiffTables, MARIA_B, PG_B, PG_URL } from './diff.js';
import { measure, measureSluice, printTable, type Measurement } from './measure.js';

interface Applied { inserted: number; updated: number; deleted: number }
type TableJson = { a_to_b: Applied; b_to_a: Applied; conflicts: number };

export async function benchSync(rows: number): Promise<void> {
  const dir = resolve(import.meta.dirname, '..', '..', 'bench', '.data', 'sync');
  mkdirSync(dir, { recursive: true });
  await buildDiffTables(rows);
  const client = new pg.Client(PG_URL);
  await client.connect();
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const read = await measure('bash', ['-c', ['a', 'b'].map((s) => `psql -q -d "${PG_URL}" -c "\\copy (SELECT * FROM bench_diff_${s}.t ORDER BY id) TO '/dev/null'"`).join(' && ')]);
  const table: { name: string; rows: number; m: Measurement; limit?: number }[] = [{ name: 'psql \\copy both tables in key order', rows: rows * 2, m: read, limit: 1 }];
  const pairs = [
    { name: 'PostgreSQL ↔ PostgreSQL', b: PG_B, changeB: (sql: string) => client.query(sql.replace('$T', 'bench_diff_b.t')) },
    { name: 'PostgreSQL ↔ MariaDB', b: MARIA_B, changeB: (sql: string) => maria.query(sql.replace('$T', 'bench_diff.t')) },
  ];
  for (const p of pairs) {
    const home = join(dir, `home-${p.b.includes('mysql') ? 'mysql' : 'pg'}`);
    rmSync(home, { recursive: true, force: true });
    const file = benchSyncFile(dir, p.b, '{ name: t, primary_key: id, direction: two_way, conflict: { strategy: source-wins } }');
    const sync = async (step: string) => {
      const m = await measureSluice(['sync', file, '--once', '--json'], { SLUICE_HOME: home });
      if (m.code !== 0) throw new Error(`sluice sync (${p.name}, ${step}) exited ${m.code}: ${m.stderr}`);
      const t = (JSON.parse(m.stdout) as { tables: TableJson[] }).tables[0];
      const written = (x: Applied) => x.inserted + x.updated + x.deleted;
      console.log(`${p.name}, ${step}: ${written(t.a_to_b).toLocaleString('en-US')} rows a → b, ${written(t.b_to_a).toLocaleString('en-US')} b → a, ${t.conflicts.toLocaleString('en-US')} conflicts`);
      table.push({ name: `sluice sync --once ${p.name.replace('PostgreSQL', 'PG')}, ${step}`, rows: rows * 2, m });
    };
    await sync('first');
    await client.query('UPDATE bench_diff_a.t SET amount = amount + 1 WHERE id % 100 = 37');
    await p.changeB("UPDATE $T SET name = CONCAT(name, '?') WHERE id % 100 = 53");
    await sync('steady');
    await sync('idle');
    const diff = await measureSluice(['diff', file], { SLUICE_HOME: home });
    if (diff.code !== 0) throw new Error(`after the syncs, sluice diff (${p.name}) found differences: ${diff.stdout.slice(0, 500)}`);
  }
  await client.end();
  await maria.end();
  printTable(table);
}
