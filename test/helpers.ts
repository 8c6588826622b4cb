// Shared test helpers: unique temp dirs (so leftovers of an earlier run never change a result) and paths.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { RunContext } from '../src/core/connector.js';
import type { Batch, Column, ColumnType, Row, Schema } from '../src/core/types.js';
import { batchLength, rowAt } from '../src/core/types.js';
import { silentLogger, type Logger } from '../src/core/logger.js';

/** Tests run compiled from dist/test/…; the repository root is two levels above this file's directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A fresh, uniquely named temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'sluice-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger whose lines (JSON text, one per call) the test can read. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

/** Drain an async iterable into an array (small inputs only). */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI under test: bin/sluice.js over the build in dist/, or another entry point (a build elsewhere). */
export const sluiceBin = process.env.SLUICE_TEST_BIN ?? join(repoRoot, 'bin', 'sluice.js');

/** Run the real `sluice` binary in a child process. */
export function sluice(args: string[], opts: { home: string; env?: NodeJS.ProcessEnv; cwd?: string; input?: string }): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [sluiceBin, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, SLUICE_HOME: opts.home, SLUICE_LOG_LEVEL: 'warn', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const COMMAND_RUNNER = `
const { Command } = await import(process.env.T_COMMANDER);
const mod = await import(process.env.T_MODULE);
let code = 0;
const program = new Command('sluice').exitOverride();
mod[process.env.T_EXPORT].register(program, (n) => { code = n; });
try { await program.parseAsync(JSON.parse(process.env.T_ARGS), { from: 'user' }); } catch (e) { code = 2; }
process.exitCode = code;
`;

/**
 * One CLI command (`src/cli/<command>.ts`) wired into a fresh commander program, as main.ts does, in a child process:
 * a command's test does not depend on the other commands. SLUICE_HOME is `<cwd>/.sluice`.
 */
export function cliCommand(command: string, args: string[], cwd: string): CliResult {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', COMMAND_RUNNER], {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      SLUICE_HOME: join(cwd, '.sluice'),
      T_COMMANDER: import.meta.resolve('commander'),
      T_MODULE: pathToFileURL(join(repoRoot, 'dist', 'src', 'cli', `${command}.js`)).href,
      T_EXPORT: `${command}Command`,
      T_ARGS: JSON.stringify([command, ...args]),
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rows of a query against a DuckDB file (opened after the sluice process has exited). */
export async function duckQuery(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(file);
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The local PostgreSQL the tests use (trust auth). */
export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Rows of one query on a connection of its own, so they show only what is committed. */
export async function pgQuery(sql: string, url = PG_URL): Promise<Record<string, unknown>[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A RunContext for driving connectors directly (no runner): silent logs, paths under `dir`. */
export function runContext(dir: string, over: Partial<RunContext> = {}): RunContext {
  return {
    pipeline: 'p', runId: 'run-1', logger: silentLogger(), signal: new AbortController().signal,
    baseDir: dir, home: join(dir, 'home'), batchSize: 1000, ...over,
  };
}

/** A batch's rows as objects, whichever form it carries them in. */
export const rowsOf = (b: Batch): Row[] => Array.from({ length: batchLength(b) }, (_, i) => rowAt(b, i));

/** A schema of nullable columns from [name, type] pairs. */
export const schemaOf = (cols: [string, ColumnType][]): Schema => ({
  columns: cols.map(([name, type]): Column => ({ name, type, nullable: true })),
});

/** Waits until `check` holds, asking every 100 ms; fails naming `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
