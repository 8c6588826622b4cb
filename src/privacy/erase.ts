// `sluice erase`: one data subject removed from everywhere a pipeline put it — its destination tables (SCD2 history
// and flatten's child tables included), its dead-letter queue — and kept out of later runs by the suppression list
// (core/suppression.ts). The request and what it removed (counts and table names, never the value) go to the audit
// trail. It runs under the pipeline's lock, so no run loads while rows are erased; every step can be repeated, so an
// erase that failed half-way is finished by asking again.
import { hostname } from 'node:os';
import type { ControlStore } from '../control/control-store.js';
import { ConfigError } from '../core/errors.js';
import { subjectDigest } from '../core/suppression.js';
import type { LoadedPipeline } from '../config/types.js';
import { withDestination } from '../engine/pipeline-state.js';
import { newRunId } from '../engine/run-id.js';
import { eraseFromDlq, type DlqErasure } from './erase-dlq.js';
import { eraseFromTables, type SubjectKey, type TableErasure } from './erase-tables.js';

export interface EraseRequest {
  key: SubjectKey;
  /** Count what would go; change nothing (the request is still audited). */
  dryRun?: boolean;
  /** Blank the `pii` columns instead of deleting rows; default: the pipeline's `privacy.erasure`. */
  anonymise?: boolean;
  /** Keep later runs from loading the subject again (default true). */
  suppress?: boolean;
  /** Who asks (an OS user, a token's name). */
  actor: string;
}

export interface EraseReport {
  pipeline: string;
  column: string;
  mode: 'delete' | 'anonymise';
  dry_run: boolean;
  tables: TableErasure[];
  dlq: DlqErasure;
  /** The subject is on the suppression list now. */
  suppressed: boolean;
}

/** `column=value` as typed after `--key`. */
export function parseSubjectKey(text: string): SubjectKey {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError('--key needs a column and a value: --key <column>=<value>', { expected: '--key <column>=<value>' });
  return { column: text.slice(0, eq).trim(), value: text.slice(eq + 1) };
}

export async function eraseSubject(loaded: LoadedPipeline, store: ControlStore, request: EraseRequest, home?: string): Promise<EraseReport> {
  const pipeline = loaded.config.pipeline;
  const dryRun = !!request.dryRun;
  const anonymise = request.anonymise ?? loaded.config.privacy?.erasure === 'anonymise';
  return withDestination(loaded, async (dest) => {
    if (!dest.eraseSubject) {
      throw new ConfigError(`the ${dest.type} destination cannot erase rows yet`, { path: 'destination.type', expected: 'postgres, mysql, sqlite, duckdb or files' });
    }
    const runId = newRunId();
    await store.acquireLock(pipeline, { runId, pid: process.pid, host: hostname() });
    try {
      const { tables, names } = await eraseFromTables(loaded, dest, request.key, { anonymise, dryRun });
      const dlq = await eraseFromDlq(store, pipeline, names, request.key, dryRun);
      const suppress = !dryRun && request.suppress !== false;
      // Under the column's name as asked: later runs test it against their columns' source and target names.
      if (suppress) await store.addSuppressions([{ pipeline, column: request.key.column, digest: subjectDigest(pipeline, request.key.column, request.key.value) }]);
      const report: EraseReport = { pipeline, column: request.key.column, mode: anonymise ? 'anonymise' : 'delete', dry_run: dryRun, tables, dlq, suppressed: suppress };
      await store.appendAudit({
        actor: request.actor, action: dryRun ? 'erase.dry_run' : 'erase', pipeline,
        detail: { column: report.column, mode: report.mode, tables: tables.map((t) => ({ table: t.table, rows: t.rows })), dlq_entries: dlq.entries, dlq_unreadable: dlq.unreadable, suppressed: suppress },
      });
      return report;
    } finally {
      await store.releaseLock(pipeline, runId);
    }
  }, home);
}

/** Take a subject off the suppression list: later runs load its rows again. Audited. Returns whether it was listed. */
export async function liftSuppression(loaded: LoadedPipeline, store: ControlStore, key: SubjectKey, actor: string): Promise<boolean> {
  const pipeline = loaded.config.pipeline;
  const lifted = await store.liftSuppressions([{ pipeline, column: key.column, digest: subjectDigest(pipeline, key.column, key.value) }]);
  await store.appendAudit({ actor, action: 'erase.lift', pipeline, detail: { column: key.column, lifted: lifted > 0 } });
  return lifted > 0;
}
