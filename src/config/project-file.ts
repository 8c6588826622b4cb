// The project file `sluice.yaml` beside the pipelines `sluice serve` runs: what they share. Today that is alerts
// (channels and rules applied to every pipeline); it is validated like a pipeline file, errors at file:line:column.
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError, errorMessage } from '../core/errors.js';
import { join, resolve } from 'node:path';
import { isMapping } from './validate-stream-lists.js';
import { parseAlerts, type AlertsConfig } from './alerts-spec.js';
import type { Env } from './interpolate.js';
import { parseConfigText } from './load.js';
import type { ConfigIssue } from './zod-issues.js';

export const PROJECT_FILE = 'sluice.yaml';

export interface ProjectConfig {
  file?: string;
  alerts?: AlertsConfig;
}

const KEYS = ['alerts'];

export function parseProjectFile(text: string, file: string, env: Env = process.env): ProjectConfig {
  return parseConfigText(text, { file, env }, 'the project file is empty: expected `alerts:`', (tree) => {
    const raw = tree.value;
    if (!isMapping(raw)) return { ok: false, issues: [{ path: [], message: 'expected a mapping with an `alerts` key', expected: 'mapping' }] };
    const issues: ConfigIssue[] = Object.keys(raw).filter((k) => !KEYS.includes(k))
      .map((k) => ({ path: [k], atKey: true, message: `unknown key \`${k}\` in the project file`, expected: `one of: ${KEYS.join(', ')}` }));
    const alerts = raw.alerts === undefined ? undefined : parseAlerts(raw.alerts, { path: ['alerts'] });
    if (alerts && !alerts.ok) issues.push(...alerts.issues);
    if (issues.length) return { ok: false, issues };
    return { ok: true, value: { file, ...(alerts?.ok ? { alerts: alerts.config } : {}) } };
  });
}

/**
 * The project file as `sluice serve` keeps it while it runs: looked for again on every `current()` (a stat per
 * directory; serve asks every few seconds), read again when it appeared, changed or went away. A version that does not
 * parse leaves the last good one in force, and `error` says why until the file is fixed.
 */
export class ProjectFileWatch {
  private stamp: string;
  private good: ProjectConfig;
  error: string | undefined;

  constructor(private readonly paths: string[], first: ProjectConfig, private readonly env: Env = process.env) {
    this.good = first;
    this.stamp = first.file ? stampOf(first.file) : '';
  }

  /** The project's configuration now, and whether it changed since the last call. */
  current(): { config: ProjectConfig; changed: boolean } {
    const file = this.paths.map((p) => join(resolve(p), PROJECT_FILE)).find((f) => existsSync(f) && statSync(f).isFile());
    const stamp = file ? stampOf(file) : '';
    if (stamp === this.stamp) return { config: this.good, changed: false };
    this.stamp = stamp;
    try {
      this.good = file ? parseProjectFile(readFileSync(file, 'utf8'), file, this.env) : {};
      this.error = undefined;
      return { config: this.good, changed: true };
    } catch (e) {
      this.error = e instanceof ConfigError ? e.toString() : errorMessage(e);
      return { config: this.good, changed: false };
    }
  }
}

const stampOf = (file: string): string => {
  const s = statSync(file, { throwIfNoEntry: false });
  return s ? `${file}:${s.mtimeMs}:${s.size}` : '';
};

/** The first `sluice.yaml` among the directories given (a file argument's own directory does not count). */
export async function findProjectFile(paths: string[], env: Env = process.env): Promise<ProjectConfig> {
  for (const p of paths.map((x) => resolve(x))) {
    const file = join(p, PROJECT_FILE);
    if (!existsSync(file)) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue; // `p` is a file, not a directory
    }
    return parseProjectFile(text, file, env);
  }
  return {};
}
