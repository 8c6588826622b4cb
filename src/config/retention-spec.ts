// `retention:` of a pipeline or sync file: how long Sluice keeps what it recorded of it in the control store and the
// sync's change log. Applied by `sluice gc` and, every hour, by `sluice serve` (src/orchestrate/retention.ts).
import { z } from 'zod';
import { duration } from '../core/duration.js';

const runs = duration('Runs finished longer ago than this are deleted with everything recorded of them: phases, streams, transform steps, quality, schema changes and log lines. A running run, the latest run, and the latest finished and latest successful runs stay whatever their age (health, freshness alerts and the dashboard read them).');
const logs = duration('Log lines of runs finished longer ago than this are deleted; the runs stay (set it shorter than `runs`). The latest runs keep theirs, as for `runs`.');

export const pipelineRetentionSchema = z.strictObject({
  dlq: duration('Dead-letter entries added (or added again) longer ago than this are deleted, replayed or not.').optional(),
  runs: runs.optional(),
  logs: logs.optional(),
}).describe('How long this pipeline\'s records are kept in the control store, per kind (`30d`, `12h`, `1w`); a kind not named is kept for ever. Applied by `sluice gc` and every hour by `sluice serve`, each pass that deletes something recorded in the audit trail (counts, never values).');

export const syncRetentionSchema = z.strictObject({
  changes: duration('Change-log events older than this are deleted, except each key\'s last event that says what the table holds, so `sluice changes replay` still rebuilds the table as it is now (a key whose last event is an old delete goes entirely). Replay `--until` a point before this horizon is then no longer possible.').optional(),
  runs: runs.optional(),
  logs: logs.optional(),
}).describe('How long this sync\'s change log and run records are kept, per kind (`30d`, `12h`, `1w`); a kind not named is kept for ever. Applied by `sluice gc` and every hour by `sluice serve`, each pass that deletes something recorded in the audit trail (counts, never values).');

export type PipelineRetention = z.output<typeof pipelineRetentionSchema>;
export type SyncRetention = z.output<typeof syncRetentionSchema>;
