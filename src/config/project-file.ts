// The project file `sluice.yaml` beside the pipelines `sluice serve` runs: what they share. Today that is alerts
// (channels and rules applied to every pipeline); it is validated like a pipeline file, errors at file:line:column.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
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
