// Two schemas of the test database as the sides of a PostgreSQL ↔ PostgreSQL sync, and everything a mode: cdc sync
// leaves on the server dropped after: its slots (an inactive slot left behind keeps WAL forever), its publications and
// the schemas. Shared by the sync and serve tests.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { PG_URL, pgQuery, tempDir, until } from '../helpers.js';

export { until };

export interface PgSync {
  /** Unique per test: the schemas are `<name>_a` and `<name>_b`, the sync `<name>` with `-` for `_`. */
  name: string;
  dir: string;
  file: string;
  home: string;
  write: (yaml: string) => void;
}


export async function withSync(body: (s: PgSync) => Promise<void>, prefix = 'cdc'): Promise<void> {
  const { dir, cleanup } = tempDir();
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const slots = [`sluice_${name}_a`, `sluice_${name}_b`];
  try {
    await pgQuery(`CREATE SCHEMA ${name}_a; CREATE SCHEMA ${name}_b`);
    const file = join(dir, 'sync.yaml');
    await body({ name, dir, file, home: join(dir, '.sluice'), write: (yaml) => writeFileSync(file, yaml) });
  } finally {
    const named = `slot_name IN ('${slots.join("', '")}')`;
    await pgQuery(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE ${named} AND active_pid IS NOT NULL`);
    await until('the slots let go', async () => (await pgQuery(`SELECT 1 FROM pg_replication_slots WHERE ${named} AND active`)).length === 0);
    await pgQuery(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE ${named}`);
    await pgQuery(`DROP PUBLICATION IF EXISTS ${slots[0]}; DROP PUBLICATION IF EXISTS ${slots[1]}; DROP SCHEMA IF EXISTS ${name}_a CASCADE; DROP SCHEMA IF EXISTS ${name}_b CASCADE`);
    cleanup();
  }
}

/** A sync file between the two schemas: mode: cdc with quick heartbeats, one table; `extra` after it. */
export const pgToPg = (name: string, table = 'items', extra = '', direction = 'a_to_b') => `sync: ${name.replaceAll('_', '-')}
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name}_a }
  b: { type: postgres, url: "${PG_URL}", schema: ${name}_b }
mode: cdc
cdc: { heartbeat_seconds: 0.2 }
tables:
  - name: ${table}
    primary_key: id
    direction: ${direction}
${extra}`;

export const exited = (child: ChildProcess) => new Promise<number | null>((done) => {
  if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
  else child.once('exit', (code) => done(code));
});
