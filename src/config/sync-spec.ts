// A sync file (DESIGN.md "Sync"): two systems and the tables kept in step between them. Validated like a pipeline
// file — unknown keys refused, every problem at its file, line and column — and each system like a destination of
// its type (the same connection keys: `url`, `host`, `schema`, `path`, …).
import { dirname } from 'node:path';
import { z } from 'zod';
import { duration } from '../core/duration.js';
import type { DestinationConfig } from './types.js';
import type { Env } from './interpolate.js';
import { parseConfigText, readConfigFile } from './load.js';
import { PIPELINE_NAME } from './pipeline-spec.js';
import { syncRetentionSchema } from './retention-spec.js';
import { scheduleSchema } from './schedule-spec.js';
import { isMapping } from './validate-stream-lists.js';
import { validateDestination } from './validate-pipeline.js';
import { mapIssues, type ConfigIssue } from './zod-issues.js';

/** The engines a sync reads and writes. */
export const SYNC_SYSTEMS = ['postgres', 'mysql', 'sqlite'] as const;
export const CONFLICT_STRATEGIES = ['last-write-wins', 'source-wins', 'target-wins', 'merge', 'manual-review'] as const;

export const syncTableSpec = z.strictObject({
  name: z.union([z.string().min(1), z.strictObject({ a: z.string().min(1), b: z.string().min(1) })])
    .describe('The table, by the same name on both sides, or `{ a: crm_customers, b: customers }`.'),
  primary_key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((k) => (typeof k === 'string' ? [k] : k))
    .describe('The key rows are matched by on both sides.'),
  direction: z.enum(['a_to_b', 'b_to_a', 'two_way']).default('two_way').describe('Which way changes flow.'),
  conflict: z.strictObject({
    strategy: z.enum(CONFLICT_STRATEGIES).default('last-write-wins'),
    column: z.string().min(1).optional().describe('The timestamp or version column that says which write is later: last-write-wins takes the later row; merge, for fields changed on both sides, the later row\'s value (without it, side a\'s).'),
    clock_skew: duration('last-write-wins on a timestamp column: two writes closer together than this (`2s`) are not told apart by two machines\' clocks, and `fallback` settles them.').optional(),
    fallback: z.enum(['source-wins', 'target-wins', 'manual-review']).default('source-wins').describe('What settles a conflict within `clock_skew`.'),
  }).optional().describe('What happens to a key changed on both sides since the last sync.'),
  deletes: z.enum(['hard', 'soft']).default('hard').describe('hard: a row deleted on one side is deleted on the other; soft: the other side\'s row stays, `deleted_column` marking it deleted.'),
  deleted_column: z.string().min(1).optional()
    .describe('deletes: soft — the column that marks a row deleted (on both sides): a timestamp set to the time of the delete, or a boolean or integer set to true/1. A row marked on either side counts as deleted there.'),
});

export const syncFileSpec = z.strictObject({
  sync: z.string().regex(PIPELINE_NAME, 'a kebab-case sync name').describe('Sync name (kebab-case), like a pipeline\'s.'),
  systems: z.unknown().describe('`a:` and `b:`, each a connection written like a destination of type `postgres`, `mysql` or `sqlite` (the same keys).'),
  mode: z.enum(['cdc', 'hash']).default('hash').describe('hash: compare content hashes; cdc: logical replication / binlog.'),
  cdc: z.strictObject({
    heartbeat_seconds: z.number().positive().default(10)
      .describe('How often an idle stream asks its server for its position and keeps it, so the slot moves on and the server frees its log.'),
  }).optional().describe('Change data capture settings (mode: cdc).'),
  change_log: z.boolean().default(true)
    .describe('Append every change the sync makes to a table (key, operation, origin, hashes, the row after it) to its change log: `sluice changes list`, and `sluice changes replay` rebuilds a table from it.'),
  retention: syncRetentionSchema.optional(),
  tables: z.array(syncTableSpec).min(1).describe('The tables kept in step (keys below).'),
  schedule: scheduleSchema.optional()
    .describe('mode: hash: when `sluice serve` runs the sync once (`sluice sync --once`), with the same keys and policies as a pipeline\'s `schedule`. A mode: cdc sync takes none: `serve` streams it continuously.'),
});

export type SyncTable = z.output<typeof syncTableSpec>;

export interface SyncConfig extends Omit<z.output<typeof syncFileSpec>, 'systems'> {
  systems: { a: DestinationConfig; b: DestinationConfig };
}

export interface LoadedSync {
  config: SyncConfig;
  file?: string;
  baseDir: string;
}

/** A table's name on side `a` or `b`. */
export const tableOn = (t: SyncTable, side: 'a' | 'b'): string => (typeof t.name === 'string' ? t.name : t.name[side]);

export function validateSync(raw: unknown): { ok: true; value: SyncConfig } | { ok: false; issues: ConfigIssue[] } {
  if (!isMapping(raw)) return { ok: false, issues: [{ path: [], message: 'expected a mapping with `sync`, `systems` and `tables`', expected: 'mapping' }] };
  const issues: ConfigIssue[] = [];
  const top = syncFileSpec.safeParse(raw);
  if (!top.success) issues.push(...mapIssues(top.error.issues, syncFileSpec, raw));
  const systems = raw.systems;
  let a: DestinationConfig | undefined;
  let b: DestinationConfig | undefined;
  if (!isMapping(systems)) {
    issues.push({ path: ['systems'], message: 'expected a mapping with `a` and `b`', expected: 'mapping' });
  } else {
    for (const k of Object.keys(systems).filter((k) => k !== 'a' && k !== 'b')) {
      issues.push({ path: ['systems', k], atKey: true, message: `unknown key \`${k}\` in systems`, expected: 'a, b' });
    }
    a = validateDestination(systems.a, issues, ['systems', 'a'], SYNC_SYSTEMS);
    b = validateDestination(systems.b, issues, ['systems', 'b'], SYNC_SYSTEMS);
  }
  if (top.success && top.data.mode === 'cdc' && top.data.schedule) {
    issues.push({ path: ['schedule'], atKey: true, message: 'a mode: cdc sync streams continuously under `sluice serve`: `schedule` is for mode: hash', expected: 'no schedule, or mode: hash' });
  }
  if (top.success) {
    top.data.tables.forEach((t, i) => {
      if (t.direction === 'two_way' && !t.conflict) {
        issues.push({ path: ['tables', i, 'direction'], message: 'a two-way table needs `conflict:`, the rule for a key changed on both sides', expected: `conflict: { strategy: ${CONFLICT_STRATEGIES.join(' | ')} }` });
      } else if (t.conflict?.clock_skew && (t.conflict.strategy !== 'last-write-wins' || !t.conflict.column)) {
        issues.push({ path: ['tables', i, 'conflict', 'clock_skew'], message: 'clock_skew is for last-write-wins on a timestamp column', expected: 'strategy: last-write-wins with column:' });
      } else if (t.conflict?.strategy === 'last-write-wins' && t.direction === 'two_way' && !t.conflict.column) {
        issues.push({ path: ['tables', i, 'conflict', 'column'], message: 'last-write-wins needs the column that says which write is later', expected: 'a timestamp or version column' });
      }
      if (t.deletes === 'soft' && !t.deleted_column) {
        issues.push({ path: ['tables', i, 'deletes'], message: 'soft deletes need `deleted_column`, the column that marks a row deleted', expected: 'deleted_column: deleted_at' });
      } else if (t.deletes !== 'soft' && t.deleted_column) {
        issues.push({ path: ['tables', i, 'deleted_column'], message: 'deleted_column is for deletes: soft', expected: 'deletes: soft' });
      }
    });
  }
  if (issues.length || !top.success || !a || !b) return { ok: false, issues };
  return { ok: true, value: { ...top.data, systems: { a, b } } };
}

export function parseSync(text: string, opts: { file?: string; baseDir: string; env?: Env }): LoadedSync {
  const config = parseConfigText(text, opts, 'the sync file is empty: expected `sync:`, `systems:` and `tables:`', (tree) => validateSync(tree.value));
  return { config, ...(opts.file ? { file: opts.file } : {}), baseDir: opts.baseDir };
}

export async function loadSyncFile(file: string, env: Env = process.env): Promise<LoadedSync> {
  const { path, text } = await readConfigFile(file, 'sync');
  return parseSync(text, { file: path, baseDir: dirname(path), env });
}
