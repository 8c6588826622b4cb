// The state key's value: the stream's state document and a commit counter. The counter is what a load checks under
// WATCH before each transaction (redis-load.ts): a version it did not write means another writer committed.
import type { StreamState } from '../../core/types.js';

export interface StateRecord {
  /** Commits of this stream's state so far. */
  version: number;
  run_id: string;
  committed_at: string;
  state: StreamState;
}

export function readStateRecord(text: string | null): StateRecord | undefined {
  return text === null ? undefined : JSON.parse(text) as StateRecord;
}

export function stateRecordText(version: number, runId: string, state: StreamState): string {
  const record: StateRecord = { version, run_id: runId, committed_at: new Date().toISOString(), state };
  return JSON.stringify(record);
}
