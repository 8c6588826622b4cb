// The database examples run as their READMEs say, at a small size, against the real local servers:
// examples/mysql-to-postgres (four related MariaDB tables → PostgreSQL with their foreign keys, then incremental) and
// examples/postgres-incremental (PostgreSQL → the embedded warehouse, only changes on the second run).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { duckQuery, pgQuery, repoRoot, sluice, tempDir } from '../helpers.js';

const suffix = randomBytes(4).toString('hex');
const { dir, cleanup } = tempDir('sluice-examples-');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
  cleanup();
});

test('mysql-to-postgres: related tables arrive with their foreign keys, then only changes move', async () => {
  const db = `sluice_shop_${suffix}`;
  const schema = `shop_${suffix}`;
  const env = { SHOP_DB: db, SHOP_SCHEMA: schema };
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  cleanups.push(async () => {
    await maria.query(`DROP DATABASE IF EXISTS ${db}`);
    await maria.end();
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  execFileSync(process.execPath, [join(repoRoot, 'examples', 'mysql-to-postgres', 'generate.js'), '4000'], { env: { ...process.env, ...env } });
  const home = join(dir, 'home-shop');
  const file = join(repoRoot, 'examples', 'mysql-to-postgres', 'pipeline.yaml');

  const first = await sluice(['run', file, '--json'], { home, env });
  assert.equal(first.code, 0, first.stderr);
  const s1 = JSON.parse(first.stdout);
  assert.deepEqual(Object.fromEntries(Object.entries(s1.streams).map(([k, v]) => [k, (v as { loaded: number }).loaded])),
    { customers: 200, products: 400, orders: 1000, order_items: 4000 });
  const counts = await pgQuery(`SELECT (SELECT count(*) FROM "${schema}".order_items)::int AS items,
    (SELECT count(DISTINCT order_id) FROM "${schema}".order_items)::int AS orders_with_items`);
  assert.deepEqual(counts[0], { items: 4000, orders_with_items: 1000 });
  const fks = await pgQuery(`SELECT conname FROM pg_constraint WHERE contype = 'f' AND connamespace = '"${schema}"'::regnamespace ORDER BY conname`);
  assert.deepEqual(fks.map((r) => r.conname), ['order_items_order_fk', 'order_items_product_fk', 'orders_customer_fk']);
  // The constraints hold: an orphan is refused by PostgreSQL itself.
  await assert.rejects(pgQuery(`INSERT INTO "${schema}".orders (id, customer_id, status, total, ordered_at, updated_at) VALUES (999999, 424242, 'new', 1, now(), now())`), /foreign key/);

  const idle = JSON.parse((await sluice(['run', file, '--json'], { home, env })).stdout);
  for (const [name, c] of Object.entries(idle.streams)) assert.equal((c as { loaded: number }).loaded, 0, `${name}: nothing new`);

  await maria.query(`UPDATE ${db}.customers SET name = CONCAT(name, ' (moved)'), updated_at = NOW(3) WHERE id IN (1, 2, 3)`);
  await maria.query(`INSERT INTO ${db}.orders VALUES (1001, 3, 'new', 42.5, NOW(3), NOW(3))`);
  await maria.query(`INSERT INTO ${db}.order_items VALUES (4001, 1001, 7, 2, 9.99)`);
  const third = JSON.parse((await sluice(['run', file, '--json'], { home, env })).stdout);
  assert.equal(third.status, 'success', third.error);
  assert.deepEqual([third.streams.customers.updated, third.streams.orders.inserted, third.streams.order_items.inserted], [3, 1, 1]);
  const [moved] = await pgQuery(`SELECT count(*)::int AS n FROM "${schema}".customers WHERE name LIKE '%(moved)'`);
  assert.equal(moved.n, 3);
});

test('postgres-incremental: the second run reads only what changed', async () => {
  const schema = `app_${suffix}`;
  const env = { APP_SCHEMA: schema };
  cleanups.push(async () => {
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  const psql = (f: string) => execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `schema=${schema}`,
    '-f', join(repoRoot, 'examples', 'postgres-incremental', f)]);
  psql('seed.sql');
  const home = join(dir, 'home-app');
  const file = join(repoRoot, 'examples', 'postgres-incremental', 'pipeline.yaml');
  const first = await sluice(['run', file, '--json'], { home, env });
  assert.equal(first.code, 0, first.stderr);
  const s1 = JSON.parse(first.stdout);
  assert.deepEqual([s1.streams.accounts.loaded, s1.streams.events.loaded], [5000, 100000]);

  psql('changes.sql');
  const s2 = JSON.parse((await sluice(['run', file, '--json'], { home, env })).stdout);
  assert.equal(s2.status, 'success', s2.error);
  // The rows at the stored watermark are read again and filtered (keyset on (updated_at, id)); only the 50
  // changed accounts and 2,500 new events load.
  assert.deepEqual([s2.streams.accounts.updated, s2.streams.accounts.inserted, s2.streams.events.loaded], [50, 0, 2500]);
  const [r] = await duckQuery(join(home, 'warehouse.duckdb'),
    "SELECT (SELECT count(*) FROM accounts)::INTEGER AS a, (SELECT count(*) FROM accounts WHERE plan = 'enterprise')::INTEGER AS ent, (SELECT count(*) FROM events)::INTEGER AS e");
  const [src] = await pgQuery(`SELECT count(*) FILTER (WHERE plan = 'enterprise')::int AS ent FROM "${schema}".accounts`);
  assert.deepEqual([r.a, r.ent, r.e], [5000, src.ent, 102500]);
});
