// The exactly-once contract under a crash: SIGKILL a `sluice run` after it has committed some checkpoints and while
// it is writing more, run it again, and every source row is in the destination exactly once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { duckQuery, sluice, sluiceBin, tempDir } from '../helpers.js';

const FILES = 3;
const PER_FILE = 100_000;
const TOTAL = FILES * PER_FILE;

async function writeData(dir: string): Promise<void> {
  for (let f = 0; f < FILES; f++) {
    const out = createWriteStream(join(dir, `part-${f}.csv`));
    out.write('id,seq,name,amount,updated_at\n');
    for (let i = 0; i < PER_FILE; i++) {
      const id = f * PER_FILE + i;
      const ts = new Date(Date.UTC(2024, 0, 1) + id * 1000).toISOString();
      if (!out.write(`${id},${id},"name ${id}, quoted",${(id % 1000) / 10},${ts}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
  }
}

/** Start a run and send it `kill` once it has logged `commits` durable checkpoints. */
function runAndKill(file: string, home: string, commits: number, kill: NodeJS.Signals = 'SIGKILL', args: string[] = []):
  Promise<{ signal: NodeJS.Signals | null; code: number | null; seen: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [sluiceBin, 'run', file, '--log-level', 'debug', ...args], {
      env: { ...process.env, SLUICE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let seen = 0;
    let buffer = '';
    child.stderr.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.includes('checkpoint committed') && ++seen === commits) child.kill(kill);
      }
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ signal, code, seen, stdout }));
  });
}

const { dir, cleanup } = tempDir();

/** The 3-file CSV pipeline with the given stream keys (indented as under `- name: items`). */
function pipelineFile(name: string, streamKeys: string): string {
  const file = join(dir, `pipeline-${name}.yaml`);
  writeFileSync(file, `pipeline: crash-test-${name.toLowerCase()}
batch_size: 2000
checkpoint_rows: 10000
sources:
  - name: files
    type: csv
    streams:
      - name: items
        path: part-*.csv
        ${streamKeys}
`);
  return file;
}
after(cleanup);
const dataReady = writeData(dir);

for (const [name, stream] of [
  ['append with a cursor', 'write: append\n        cursor: seq'],
  ['merge', 'write: merge\n        primary_key: id\n        cursor: updated_at'],
] as const) {
  test(`SIGKILL mid-load, then re-run: every row exactly once (${name})`, async () => {
    await dataReady;
    const home = join(dir, `home-${name.replace(/\W+/g, '-')}`);
    const file = pipelineFile(name.replace(/\W+/g, '-'), stream);
    const killed = await runAndKill(file, home, 3);
    assert.equal(killed.signal, 'SIGKILL', 'the first run was killed, not finished');

    const rerun = await sluice(['run', file, '--json'], { home });
    assert.equal(rerun.code, 0, rerun.stderr);
    const s = JSON.parse(rerun.stdout);
    // Three checkpoints (30,000 rows) were durable before the kill: the re-run resumes after them.
    assert.ok(s.streams.items.extracted <= TOTAL - 3 * 10000, `the re-run resumed instead of starting over (${s.streams.items.extracted})`);

    const [r] = await duckQuery(join(home, 'warehouse.duckdb'),
      'SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS k, min(id)::BIGINT AS lo, max(id)::BIGINT AS hi FROM items');
    assert.deepEqual([Number(r.n), Number(r.k), Number(r.lo), Number(r.hi)], [TOTAL, TOTAL, 0, TOTAL - 1]);

    const third = JSON.parse((await sluice(['run', file, '--json'], { home })).stdout);
    assert.equal(third.streams.items.loaded, 0, 'nothing left to load');
  });
}

test('SIGKILL while DuckDB reads a file itself, then re-run: every row exactly once', async () => {
  await dataReady;
  const home = join(dir, 'home-handoff');
  // No cursor, no transforms: each file goes to DuckDB's reader whole, committed with the state that marks it read.
  const file = pipelineFile('handoff', 'write: append\n        columns: { id: bigint, seq: bigint, name: text, amount: decimal, updated_at: timestamp }');
  const killed = await runAndKill(file, home, 1);
  assert.equal(killed.signal, 'SIGKILL', 'the first run was killed, not finished');
  const rerun = await sluice(['run', file, '--json'], { home });
  assert.equal(rerun.code, 0, rerun.stderr);
  const s = JSON.parse(rerun.stdout);
  assert.ok(s.streams.items.extracted <= TOTAL - PER_FILE, `the re-run skipped the file committed before the kill (${s.streams.items.extracted})`);
  const [r] = await duckQuery(join(home, 'warehouse.duckdb'),
    'SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS k, min(id)::BIGINT AS lo, max(id)::BIGINT AS hi FROM items');
  assert.deepEqual([Number(r.n), Number(r.k), Number(r.lo), Number(r.hi)], [TOTAL, TOTAL, 0, TOTAL - 1]);
});

test('SIGTERM drains: the run stops at a checkpoint, commits it, exits 0, and the next run resumes', async () => {
  await dataReady;
  const home = join(dir, 'home-drain');
  // A cursor keeps the files on the engine's path, which checkpoints within a file.
  const file = pipelineFile('drain', 'primary_key: id\n        write: merge\n        cursor: seq');
  const stopped = await runAndKill(file, home, 2, 'SIGTERM', ['--json']);
  assert.equal(stopped.code, 0, 'a drained run ends successfully');
  const first = JSON.parse(stopped.stdout);
  assert.equal(first.status, 'success');
  const loaded = first.streams.items.loaded;
  assert.ok(loaded >= 20000 && loaded < TOTAL, `stopped early, after the committed checkpoints (${loaded})`);
  const [r1] = await duckQuery(join(home, 'warehouse.duckdb'), 'SELECT count(*)::BIGINT AS n FROM items');
  assert.equal(Number(r1.n), loaded, 'everything the drained run counted as loaded is committed');

  const rerun = JSON.parse((await sluice(['run', file, '--json'], { home })).stdout);
  assert.equal(rerun.streams.items.extracted, TOTAL - loaded, 'the next run starts where the drain stopped');
  const [r] = await duckQuery(join(home, 'warehouse.duckdb'), 'SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS k FROM items');
  assert.deepEqual([Number(r.n), Number(r.k)], [TOTAL, TOTAL]);
});
