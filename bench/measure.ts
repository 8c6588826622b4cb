// Runs a command as a child process and reports wall time and peak RSS (VmHWM, polled from /proc while it runs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Measurement {
  seconds: number;
  peakRssMb: number | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI as a user's shell runs it: bin/sluice.js executed through its shebang, so with the Node flags it sets
 * (or another entry point, SLUICE_BENCH_BIN, e.g. a build elsewhere).
 */
export const sluiceBin = process.env.SLUICE_BENCH_BIN ?? join(resolve(import.meta.dirname, '..', '..'), 'bin', 'sluice.js');

/** `sluice <args>` measured, with `env` added to the environment. */
export const measureSluice = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Measurement> => measure(sluiceBin, args, env);

export function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Measurement> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let peak: number | null = null;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak ?? 0, Number(m[1]) / 1024);
      } catch {
        // the process is gone
      }
    }, 50);
    child.on('error', fail);
    child.on('close', (code) => {
      clearInterval(poll);
      done({ seconds: (performance.now() - t0) / 1000, peakRssMb: peak, code, stdout, stderr });
    });
  });
}

export function printTable(rows: { name: string; rows: number; m: Measurement; limit?: number }[]): void {
  const limit = rows.find((r) => r.limit)?.m;
  console.log(`${'loader'.padEnd(44)} ${'rows/s'.padStart(12)} ${'× limit'.padStart(8)} ${'peak RSS'.padStart(10)} ${'seconds'.padStart(8)}`);
  for (const r of rows) {
    const rate = r.rows / r.m.seconds;
    const ratio = limit ? (limit.seconds / r.m.seconds).toFixed(2) : '-';
    const rss = r.m.peakRssMb === null ? '-' : `${r.m.peakRssMb.toFixed(0)} MB`;
    console.log(`${r.name.padEnd(44)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} ${ratio.padStart(8)} ${rss.padStart(10)} ${r.m.seconds.toFixed(2).padStart(8)}`);
  }
}
